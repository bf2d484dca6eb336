"""Deterministic demo data: teams, staff in every role, and (as their apps grow) records."""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.db import transaction

from privacy.core import roles
from privacy.core.services.accounts import user_create
from privacy.core.services.audit import audit_record
from privacy.core.services.staff import team_create
from privacy.models import Team

DEMO_TEAMS = ("Retail", "E-commerce")
DEMO_STAFF = (
    # username, role, teams
    ("steward", roles.DATA_STEWARD, DEMO_TEAMS),
    ("marketer.retail", roles.MARKETER, ("Retail",)),
    ("marketer.online", roles.MARKETER, ("E-commerce",)),
    ("analyst", roles.ANALYST, DEMO_TEAMS),
)


@dataclass
class DemoResult:
    teams: int
    staff: dict[str, str]
    customers: int = 0
    events: int = 0
    purchases: int = 0
    duplicate_suggestions: int = 0


def demo_is_loaded() -> bool:
    return Team.objects.exists()


@transaction.atomic
def demo_seed(*, seed: int, customers: int = 0) -> DemoResult:
    """Create the demo teams, staff and customers. The same seed always gives the same data."""
    rng = random.Random(seed)
    teams = {name: team_create(name=name) for name in DEMO_TEAMS}
    staff: dict[str, str] = {}
    for username, role, team_names in DEMO_STAFF:
        password = "demo-" + "".join(rng.choices("abcdefghjkmnpqrstuvwxyz23456789", k=10))
        user_create(
            actor=None,
            username=username,
            password=password,
            is_staff=True,
            teams=[teams[name] for name in team_names],
            role_names=[role],
        )
        staff[username] = password
    result = DemoResult(teams=len(teams), staff=staff)
    if customers:
        demo_customers_seed(
            teams=list(teams.values()), count=customers, rng=random.Random(seed), result=result
        )
        result.duplicate_suggestions = demo_metrics_seed(teams=list(teams.values()))
        # The first point of the data-quality trend; the nightly job adds the next ones.
        from customers.quality.services import data_quality_snapshot_take

        data_quality_snapshot_take()
    audit_record(
        action="demo.seed",
        metadata={"seed": seed, "teams": len(teams), "customers": result.customers},
    )
    return result


GIVEN = [
    "Anna",
    "Ben",
    "Chloé",
    "David",
    "Elif",
    "Finn",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Kenji",
    "Lea",
    "Mateo",
    "Nora",
    "Oskar",
    "Priya",
    "Quentin",
    "Rosa",
    "Sven",
    "Tara",
]
FAMILY = [
    "Müller",
    "Martin",
    "Smith",
    "Schneider",
    "Dubois",
    "Brown",
    "Wagner",
    "Lefebvre",
    "Taylor",
    "Becker",
    "Moreau",
    "Wilson",
    "Hoffmann",
    "Laurent",
    "Evans",
]
CJK_NAMES = [
    ("王", "伟"),
    ("李", "娜"),
    ("张", "敏"),
    ("刘", "洋"),
    ("陈", "静"),
    ("佐藤", "健"),
    ("鈴木", "花子"),
    ("高橋", "翔"),
]
# Mobile prefixes and how many digits follow them in each country.
COUNTRIES = {
    "DE": ("+49 151 ", 8),
    "FR": ("+33 6 ", 8),
    "GB": ("+44 7700 ", 6),
    "US": ("+1 201 ", 7),
    "CN": ("+86 139 ", 8),
    "JP": ("+81 90 ", 8),
}
CHANNELS = ["store", "web", "wechat", "event", "crm"]
EVENT_TYPES = [
    "page_view",
    "page_view",
    "page_view",
    "email_open",
    "email_click",
    "store_visit",
    "app_open",
    "newsletter_signup",
]
TAGS = ["vip", "newsletter", "trade-show-2025", "b2b", "loyalty"]


def _demo_person(rng: random.Random, number: int) -> dict[str, str]:
    country = rng.choice(list(COUNTRIES))
    if country in {"CN", "JP"}:
        family, given = rng.choice(CJK_NAMES)
    else:
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
    prefix, length = COUNTRIES[country]
    digits = "".join(rng.choice("0123456789") for _digit in range(length))
    return {
        "first_name": given,
        "last_name": family,
        "email": f"demo{number}.{rng.randrange(10**4)}@example.com",
        "phone": prefix + digits,
        "country": country,
        "city": rng.choice(["Berlin", "Paris", "London", "New York", "Shanghai", "Tokyo"]),
        "birth_date": f"{rng.randrange(1950, 2005)}-{rng.randrange(1, 13):02d}-"
        f"{rng.randrange(1, 29):02d}",
        "gender": rng.choice(["f", "m", "other", ""]),
        "tags": ";".join(rng.sample(TAGS, rng.randrange(0, 3))),
        "signup_date": f"20{rng.randrange(20, 26)}-{rng.randrange(1, 13):02d}-01",
    }


def demo_customers_seed(
    *, teams: list[Team], count: int, rng: random.Random, result: DemoResult
) -> None:
    """Customers arriving from several channels (a third of them twice, as duplicates), with
    events over the last year and purchases. They go through the same normalisation and
    identity resolution as an import."""
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from customers.models import Customer, Event, Purchase
    from customers.normalisation import normalise_customer_row
    from customers.services.upsert import customers_upsert

    now = timezone.now()
    for team_index, team in enumerate(teams):
        share = count // len(teams) + (1 if team_index < count % len(teams) else 0)
        records, sources = [], []
        for number in range(share):
            person = _demo_person(rng, team_index * count + number)
            channel = rng.choice(CHANNELS)
            first = normalise_customer_row({**person, "source": channel})
            if first.rejection:
                continue
            records.append(first)
            sources.append(channel)
            if rng.random() < 0.33:  # the same person again from another channel
                duplicate = {**person, "email": person["email"].upper(), "source": "crm"}
                if rng.random() < 0.5:
                    duplicate["email"] = ""
                if number % 3 == 0:
                    # Under another email and no phone: identity resolution cannot tell it is the
                    # same person, the duplicates queue proposes the pair (same name, birth date
                    # and city).
                    duplicate.update(email=f"demo{number}.again@example.net", phone="")
                record = normalise_customer_row(duplicate)
                if not record.rejection:
                    records.append(record)
                    sources.append("crm")
        for start in range(0, len(records), 1000):
            customers_upsert(
                team=team,
                records=records[start : start + 1000],
                sources=sources[start : start + 1000],
                reason="demo",
            )
        ids = list(Customer.objects.active().filter(owner_team=team).values_list("pk", flat=True))
        events, purchases = [], []
        for customer_id in ids:
            for _index in range(rng.randrange(0, 12)):
                events.append(
                    Event(
                        owner_team=team,
                        customer_id=customer_id,
                        type=rng.choice(EVENT_TYPES),
                        occurred_at=now - timedelta(minutes=rng.randrange(0, 365 * 24 * 60)),
                        properties={"path": rng.choice(["/", "/pricing", "/shop", "/blog"])},
                        source=rng.choice(["web", "app", "store"]),
                    )
                )
            for order in range(rng.choice([0, 0, 1, 1, 2, 3, 5])):
                purchases.append(
                    Purchase(
                        owner_team=team,
                        customer_id=customer_id,
                        source="shop",
                        order_reference=f"DEMO-{customer_id}-{order}",
                        occurred_at=now - timedelta(days=rng.randrange(0, 730)),
                        amount=Decimal(rng.randrange(500, 40000)) / 100,
                        currency="EUR",
                        quantity=rng.randrange(1, 4),
                    )
                )
        Event.objects.bulk_create(events, batch_size=5000)
        Purchase.objects.bulk_create(purchases, batch_size=5000)
        result.customers += len(ids)
        result.events += len(events)
        result.purchases += len(purchases)


def demo_metrics_seed(*, teams: list[Team]) -> int:
    """What a team has after its first nightly run: planner statistics for the rows just
    loaded, every derived metric (orders, spend, RFM, lifecycle) and duplicate suggestions;
    returns how many pairs were suggested."""
    from customers.models import Customer, Event, Identity, Purchase
    from customers.services.duplicates import duplicates_find
    from customers.services.enrichment import customers_enrich
    from customers.services.statistics import tables_analyze

    tables_analyze(models=[Customer, Identity, Event, Purchase])
    suggestions = 0
    for team in teams:
        customers_enrich(team_id=team.pk)
        suggestions += duplicates_find(team_id=team.pk)
    return suggestions
