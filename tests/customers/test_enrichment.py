"""Derived customer metrics: purchase metrics, age bands, RFM scores and groups, lifecycle."""

import datetime
from collections import Counter, defaultdict
from decimal import Decimal

import pytest

from customers.models import Customer, LifecycleStatus, Purchase
from customers.services.enrichment import (
    RFM_GROUP_RULES,
    country_from_phone,
    customers_enrich,
    rfm_group_for,
)
from privacy.core.crypto import name_index
from privacy.models import AuditEntry
from tests.shared_data import shared_file

TODAY = datetime.date(2024, 3, 15)
UTC = datetime.UTC


def make_customer(team, given="Ada", family="Lovelace", **fields) -> Customer:
    return Customer.objects.create(
        owner_team=team,
        given_name=given,
        family_name=family,
        name_index=name_index(given, family),
        **fields,
    )


def at(year, month, day, hour=12) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, tzinfo=UTC)


def buy(customer, reference, occurred_at, amount) -> Purchase:
    return Purchase.objects.create(
        owner_team=customer.owner_team,
        customer=customer,
        order_reference=reference,
        occurred_at=occurred_at,
        amount=Decimal(amount),
        currency="USD",
    )


def metrics(customer) -> dict:
    customer.refresh_from_db()
    return {
        "first_purchase_at": customer.first_purchase_at,
        "last_purchase_at": customer.last_purchase_at,
        "order_count": customer.order_count,
        "total_spend": customer.total_spend,
        "average_order_value": customer.average_order_value,
        "lifetime_value": customer.lifetime_value,
        "rfm": (customer.rfm_recency, customer.rfm_frequency, customer.rfm_monetary),
        "rfm_group": customer.rfm_group,
    }


NO_PURCHASES = {
    "first_purchase_at": None,
    "last_purchase_at": None,
    "order_count": 0,
    "total_spend": Decimal("0.00"),
    "average_order_value": None,
    "lifetime_value": Decimal("0.00"),
    "rfm": (None, None, None),
    "rfm_group": "",
}


def test_purchase_metrics_are_computed_exactly(team_a):
    # Given two buyers and one customer who never bought
    ada = make_customer(team_a, "Ada", "Lovelace")
    buy(ada, "A-1", at(2024, 1, 5), "10.00")
    buy(ada, "A-2", at(2024, 2, 1), "20.50")
    buy(ada, "A-3", at(2023, 12, 24), "5.25")
    bob = make_customer(team_a, "Bob", "Byte")
    buy(bob, "B-1", at(2024, 3, 1), "99.99")
    cy = make_customer(team_a, "Cy", "Cipher")

    # When the team is enriched
    updated = customers_enrich(team_id=team_a.pk, today=TODAY)

    # Then every metric is the hand-computed value
    assert updated == 3
    assert metrics(ada) == {
        "first_purchase_at": at(2023, 12, 24),
        "last_purchase_at": at(2024, 2, 1),
        "order_count": 3,
        "total_spend": Decimal("35.75"),
        "average_order_value": Decimal("11.92"),  # 35.75 / 3 = 11.9166...
        "lifetime_value": Decimal("35.75"),
        "rfm": (1, 2, 1),  # two buyers: ntile(5) uses scores 1 and 2
        "rfm_group": "Hibernating",
    }
    assert metrics(bob) == {
        "first_purchase_at": at(2024, 3, 1),
        "last_purchase_at": at(2024, 3, 1),
        "order_count": 1,
        "total_spend": Decimal("99.99"),
        "average_order_value": Decimal("99.99"),
        "lifetime_value": Decimal("99.99"),
        "rfm": (2, 1, 2),
        "rfm_group": "Hibernating",
    }
    assert metrics(cy) == NO_PURCHASES
    cy.refresh_from_db()
    assert cy.metrics_updated_at is not None


@pytest.mark.parametrize(
    ("birth_date", "today", "band"),
    [
        pytest.param(None, TODAY, "", id="no-birth-date"),
        pytest.param(datetime.date(2024, 6, 1), TODAY, "", id="born-after-today"),
        pytest.param(datetime.date(2024, 3, 15), TODAY, "<18", id="born-today"),
        pytest.param(datetime.date(2006, 3, 16), TODAY, "<18", id="18-tomorrow"),
        pytest.param(datetime.date(2006, 3, 15), TODAY, "18-24", id="18-today"),
        pytest.param(datetime.date(1999, 3, 16), TODAY, "18-24", id="24"),
        pytest.param(datetime.date(1999, 3, 15), TODAY, "25-34", id="25"),
        pytest.param(datetime.date(1989, 3, 15), TODAY, "35-44", id="35"),
        pytest.param(datetime.date(1979, 3, 15), TODAY, "45-54", id="45"),
        pytest.param(datetime.date(1969, 3, 15), TODAY, "55-64", id="55"),
        pytest.param(datetime.date(1959, 3, 16), TODAY, "55-64", id="64"),
        pytest.param(datetime.date(1959, 3, 15), TODAY, "65+", id="65"),
        pytest.param(datetime.date(1920, 1, 1), TODAY, "65+", id="104"),
        pytest.param(
            datetime.date(2000, 2, 29), datetime.date(2018, 2, 28), "<18", id="leap-day-17"
        ),
        pytest.param(
            datetime.date(2000, 2, 29), datetime.date(2018, 3, 1), "18-24", id="leap-day-18"
        ),
    ],
)
def test_age_band_from_birth_date(team_a, birth_date, today, band):
    # Given a customer with (or without) a birth date
    customer = make_customer(team_a, birth_date=birth_date)

    # When enriched as of ``today``
    customers_enrich(team_id=team_a.pk, today=today)

    # Then the age band is the band of their age in whole years on that day
    customer.refresh_from_db()
    assert customer.age_band == band


def test_age_band_is_cleared_when_the_birth_date_is_removed(team_a):
    # Given a customer whose band was derived
    customer = make_customer(team_a, birth_date=datetime.date(1990, 1, 1))
    customers_enrich(team_id=team_a.pk, today=TODAY)
    Customer.objects.filter(pk=customer.pk).update(birth_date=None)

    # When enriched again
    customers_enrich(team_id=team_a.pk, today=TODAY)

    # Then the band is empty
    customer.refresh_from_db()
    assert customer.age_band == ""


# Ten buyers with known ranks (1 = lowest of the ten). ntile(5) over ten puts ranks 1-2 in
# score 1, 3-4 in score 2, ..., 9-10 in score 5.
#   name: (recency rank, number of orders = frequency rank, total spend)
TEN_BUYERS = {
    "a": (10, 9, "300.00"),
    "b": (9, 1, "950.00"),
    "c": (7, 3, "20.00"),
    "d": (8, 5, "40.00"),
    "e": (6, 7, "700.00"),
    "f": (5, 6, "60.00"),
    "g": (4, 10, "800.00"),
    "h": (3, 4, "10.00"),
    "i": (2, 8, "500.00"),
    "j": (1, 2, "100.00"),
}
#   name: ((R, F, M), group). M from spend order: h c | d f | j a | i e | g b.
TEN_BUYERS_EXPECTED = {
    "a": ((5, 5, 3), "Champions"),
    "b": ((5, 1, 5), "New"),
    "c": ((4, 2, 1), "Potential loyalist"),
    "d": ((4, 3, 2), "Potential loyalist"),
    "e": ((3, 4, 4), "Loyal"),
    "f": ((3, 3, 2), "Needs attention"),
    "g": ((2, 5, 5), "At risk"),
    "h": ((2, 2, 1), "Hibernating"),
    "i": ((1, 4, 4), "Cannot lose them"),
    "j": ((1, 1, 3), "Lost"),
}


def create_ten_buyers(team) -> dict[str, Customer]:
    """The TEN_BUYERS: all but the last order cost 1.00 and fall in 2023; the last order
    (2024-01-01 + 10 days per recency rank) makes up the total spend."""
    customers = {}
    purchases = []
    for name, (recency_rank, orders, total) in TEN_BUYERS.items():
        customer = make_customer(team, name.upper(), "Buyer")
        customers[name] = customer
        for number in range(1, orders):
            purchases.append(
                Purchase(
                    owner_team=team,
                    customer=customer,
                    order_reference=f"{name}-{number}",
                    occurred_at=at(2023, 1, number),
                    amount=Decimal("1.00"),
                    currency="USD",
                )
            )
        purchases.append(
            Purchase(
                owner_team=team,
                customer=customer,
                order_reference=f"{name}-last",
                occurred_at=at(2024, 1, 1) + datetime.timedelta(days=10 * recency_rank),
                amount=Decimal(total) - (orders - 1),
                currency="USD",
            )
        )
    Purchase.objects.bulk_create(purchases)
    return customers


def rfm_of(customers: dict[str, Customer]) -> dict[str, tuple]:
    rows = Customer.objects.filter(pk__in=[c.pk for c in customers.values()]).values_list(
        "pk", "rfm_recency", "rfm_frequency", "rfm_monetary", "rfm_group"
    )
    by_pk = {
        pk: ((recency, frequency, monetary), group)
        for pk, recency, frequency, monetary, group in rows
    }
    return {name: by_pk[customer.pk] for name, customer in customers.items()}


def test_rfm_scores_and_groups_of_ten_buyers(team_a):
    # Given ten buyers with known ranks, and a customer without purchases
    buyers = create_ten_buyers(team_a)
    never = make_customer(team_a, "Never", "Bought")

    # When the team is enriched
    updated = customers_enrich(team_id=team_a.pk, today=TODAY)

    # Then each buyer has the scores of their quintiles and the group of their (R, F) cell
    assert updated == 11
    assert rfm_of(buyers) == TEN_BUYERS_EXPECTED
    assert Customer.objects.get(pk=buyers["g"].pk).order_count == 10
    assert Customer.objects.get(pk=buyers["b"].pk).total_spend == Decimal("950.00")
    # And the customer without purchases takes no part in the ranking
    assert metrics(never) == NO_PURCHASES


def test_rfm_group_map_covers_every_cell_once():
    # Given the first-match rules, Then the 5x5 (R, F) grid reads (rows R 5..1, columns F 1..5):
    grid = [
        [rfm_group_for(recency, frequency) for frequency in range(1, 6)]
        for recency in (5, 4, 3, 2, 1)
    ]
    assert grid == [
        ["New", "Potential loyalist", "Potential loyalist", "Champions", "Champions"],
        ["Promising", "Potential loyalist", "Potential loyalist", "Champions", "Champions"],
        ["Promising", "About to sleep", "Needs attention", "Loyal", "Loyal"],
        ["Hibernating", "Hibernating", "At risk", "At risk", "At risk"],
        ["Lost", "Hibernating", "At risk", "Cannot lose them", "Cannot lose them"],
    ]
    # And every group of the map is reachable
    assert {group for row in grid for group in row} == {group for group, _r, _f in RFM_GROUP_RULES}


def test_rfm_is_ranked_within_each_team(team_a, team_b):
    # Given the ten buyers in team A and one big buyer in team B
    create_ten_buyers(team_a)
    whale = make_customer(team_b, "Wally", "Whale")
    for number in range(20):
        buy(whale, f"W-{number}", at(2024, 6, 1 + number), "1000.00")

    # When every team is enriched
    customers_enrich(today=TODAY)

    # Then team B's only buyer is alone in its ranking (score 1 everywhere)...
    whale.refresh_from_db()
    assert (whale.rfm_recency, whale.rfm_frequency, whale.rfm_monetary) == (1, 1, 1)
    assert whale.rfm_group == "Lost"
    # ...and does not shift team A's quintiles
    assert sorted(
        Customer.objects.filter(owner_team=team_a).values_list("rfm_recency", flat=True)
    ) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_enriching_one_team_leaves_another_team_untouched(team_a, team_b):
    # Given a buyer in each team
    ours = make_customer(team_a, "Our", "Buyer", birth_date=datetime.date(1990, 1, 1))
    buy(ours, "O-1", at(2024, 1, 1), "10.00")
    theirs = make_customer(team_b, "Their", "Buyer", birth_date=datetime.date(1990, 1, 1))
    buy(theirs, "T-1", at(2024, 1, 1), "10.00")

    # When only team A is enriched
    updated = customers_enrich(team_id=team_a.pk, today=TODAY)

    # Then team B's customer is as it was
    assert updated == 1
    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert (ours.order_count, ours.age_band, ours.rfm_group) == (1, "25-34", "Lost")
    assert metrics(theirs) == {**NO_PURCHASES, "lifetime_value": None}
    assert (theirs.age_band, theirs.metrics_updated_at, theirs.lifecycle_status) == (
        "",
        None,
        LifecycleStatus.LEAD,
    )


def test_enriching_some_customers_ranks_them_against_their_whole_team(team_a):
    # Given the ten buyers
    buyers = create_ten_buyers(team_a)

    # When only buyer "a" is enriched
    updated = customers_enrich(customer_ids=[buyers["a"].pk], today=TODAY)

    # Then "a" has its team-wide scores and nobody else was written
    assert updated == 1
    assert rfm_of({"a": buyers["a"]}) == {"a": TEN_BUYERS_EXPECTED["a"]}
    assert Customer.objects.filter(metrics_updated_at__isnull=False).count() == 1


def test_merged_customers_are_not_enriched(team_a):
    # Given a customer merged into another (a tombstone)
    survivor = make_customer(team_a, "Ada", "Lovelace")
    tombstone = make_customer(team_a, "Ada", "Lovelace", merged_into=survivor)
    buy(tombstone, "M-1", at(2024, 1, 1), "10.00")

    # When the team is enriched
    customers_enrich(team_id=team_a.pk, today=TODAY)

    # Then the tombstone is not written, nor counted among the team's buyers
    tombstone.refresh_from_db()
    assert tombstone.metrics_updated_at is None
    assert tombstone.order_count == 0
    assert metrics(survivor) == NO_PURCHASES


@pytest.mark.parametrize(
    ("status", "has_purchase", "expected"),
    [
        pytest.param(LifecycleStatus.LEAD, True, LifecycleStatus.CUSTOMER, id="lead-buys"),
        pytest.param(LifecycleStatus.PROSPECT, True, LifecycleStatus.CUSTOMER, id="prospect-buys"),
        pytest.param(LifecycleStatus.INACTIVE, True, LifecycleStatus.INACTIVE, id="inactive-kept"),
        pytest.param(LifecycleStatus.LEAD, False, LifecycleStatus.LEAD, id="lead-without-order"),
    ],
)
def test_lifecycle_becomes_customer_after_a_first_order(team_a, status, has_purchase, expected):
    # Given a customer in some lifecycle status, with or without an order
    customer = make_customer(team_a, lifecycle_status=status)
    if has_purchase:
        buy(customer, "L-1", at(2024, 1, 1), "10.00")

    # When enriched
    customers_enrich(team_id=team_a.pk, today=TODAY)

    # Then only a lead or prospect with an order became a customer
    customer.refresh_from_db()
    assert customer.lifecycle_status == expected


def test_second_run_changes_nothing(team_a):
    # Given an enriched team
    buyers = create_ten_buyers(team_a)
    customers_enrich(team_id=team_a.pk, today=TODAY)
    stamps = dict(Customer.objects.values_list("pk", "metrics_updated_at"))

    # When enriched again with the same data
    updated = customers_enrich(team_id=team_a.pk, today=TODAY)

    # Then no row was written
    assert updated == 0
    assert dict(Customer.objects.values_list("pk", "metrics_updated_at")) == stamps
    assert rfm_of(buyers) == TEN_BUYERS_EXPECTED


def test_metrics_follow_purchases_that_went_away(team_a):
    # Given an enriched buyer whose purchases are then removed (an erasure, an undone merge)
    customer = make_customer(team_a)
    buy(customer, "G-1", at(2024, 1, 1), "10.00")
    customers_enrich(team_id=team_a.pk, today=TODAY)
    Purchase.objects.filter(customer=customer).delete()

    # When enriched again
    updated = customers_enrich(team_id=team_a.pk, today=TODAY)

    # Then the derived values are those of a customer who never bought
    assert updated == 1
    assert metrics(customer) == NO_PURCHASES


def test_enrich_writes_one_audit_entry_with_counts(team_a):
    # Given three buyers, one of them already a customer, and one lead without purchases
    for number, status in enumerate(
        [LifecycleStatus.LEAD, LifecycleStatus.PROSPECT, LifecycleStatus.CUSTOMER]
    ):
        buy(make_customer(team_a, lifecycle_status=status), f"C-{number}", at(2024, 1, 1), "5")
    make_customer(team_a)

    # When enriched
    customers_enrich(team_id=team_a.pk, today=TODAY)

    # Then one audit entry records what was done, without personal data
    entry = AuditEntry.objects.get(action="customers.enrich")
    assert entry.metadata == {
        "team": team_a.pk,
        "requested_customers": None,
        "as_of": "2024-03-15",
        "customers": 4,
        "with_purchases": 3,
        "updated": 4,
        "became_customers": 2,
    }


@pytest.mark.parametrize("customer_count", [2, 30], ids=["2-customers", "30-customers"])
def test_query_count_does_not_depend_on_the_number_of_customers(
    team_a, customer_count, django_assert_num_queries
):
    # Given some buyers
    for number in range(customer_count):
        buy(make_customer(team_a), f"Q-{number}", at(2024, 1, 1 + number % 28), "10.00")

    # When enriched, Then it takes: savepoint, the statement, the audit row, release
    with django_assert_num_queries(4):
        assert customers_enrich(team_id=team_a.pk, today=TODAY) == customer_count


@pytest.mark.parametrize(
    ("phone", "country"),
    [
        pytest.param("+4915112345678", "DE", id="germany"),
        pytest.param("+12125550123", "US", id="nanp-us"),
        pytest.param("+14165550123", "CA", id="nanp-canada"),
        pytest.param("+8613800138000", "CN", id="china"),
        pytest.param("+447406018159", "GB", id="uk"),
        pytest.param("+80012345678", "", id="non-geographic"),
        pytest.param("not a phone", "", id="unparseable"),
        pytest.param("", "", id="empty"),
    ],
)
def test_country_from_phone(phone, country):
    assert country_from_phone(phone) == country


# --- Real data: the CDNOW purchases (Fader, Hardie & Lee) --------------------------------


def read_cdnow() -> list[tuple[str, datetime.date, Decimal]]:
    rows = []
    for line in shared_file("cdnow_sample.txt").read_text().splitlines():
        if line.strip():
            _full_id, sample_id, day, _cds, dollars = line.split()
            rows.append(
                (sample_id, datetime.datetime.strptime(day, "%Y%m%d").date(), Decimal(dollars))
            )
    return rows


def test_cdnow_purchases_enrich_to_the_facts_of_the_file(team_a):
    # Given one customer per CDNOW sample id and their 6,919 purchases
    rows = read_cdnow()
    sample_ids = sorted({sample_id for sample_id, _day, _dollars in rows})
    customers = Customer.objects.bulk_create(
        [
            Customer(owner_team=team_a, attributes={"cdnow_id": sample_id}, source_channel="shop")
            for sample_id in sample_ids
        ]
    )
    customer_of = {sample_id: c.pk for sample_id, c in zip(sample_ids, customers, strict=True)}
    Purchase.objects.bulk_create(
        [
            Purchase(
                owner_team=team_a,
                customer_id=customer_of[sample_id],
                source="cdnow",
                order_reference=f"cdnow-{line_number}",
                occurred_at=datetime.datetime.combine(day, datetime.time(), tzinfo=UTC),
                amount=dollars,
                currency="USD",
            )
            for line_number, (sample_id, day, dollars) in enumerate(rows, start=1)
        ],
        batch_size=2000,
    )
    expected_orders = Counter(sample_id for sample_id, _day, _dollars in rows)
    expected_spend: dict[str, Decimal] = defaultdict(Decimal)
    expected_last: dict[str, datetime.date] = {}
    for sample_id, day, dollars in rows:
        expected_spend[sample_id] += dollars
        expected_last[sample_id] = max(day, expected_last.get(sample_id, day))

    # When the team is enriched as of 1 July 1998
    updated = customers_enrich(team_id=team_a.pk, today=datetime.date(1998, 7, 1))

    # Then the metrics agree with the file
    assert updated == len(sample_ids) == 2357
    enriched = list(
        Customer.objects.filter(owner_team=team_a).values(
            "pk",
            "order_count",
            "total_spend",
            "last_purchase_at",
            "rfm_recency",
            "rfm_frequency",
            "rfm_monetary",
            "rfm_group",
            "lifecycle_status",
        )
    )
    sample_of = {pk: sample_id for sample_id, pk in customer_of.items()}
    assert sum(1 for row in enriched if row["order_count"] > 0) == 2357
    assert sum(row["total_spend"] for row in enriched) == sum(
        dollars for _id, _day, dollars in rows
    ).quantize(Decimal("0.01"))
    assert {sample_of[row["pk"]]: row["order_count"] for row in enriched} == expected_orders
    assert {sample_of[row["pk"]]: row["total_spend"] for row in enriched} == expected_spend
    assert {
        sample_of[row["pk"]]: row["last_purchase_at"].date() for row in enriched
    } == expected_last
    # And each score splits the buyers into five buckets whose sizes differ by at most one
    for score in ("rfm_recency", "rfm_frequency", "rfm_monetary"):
        sizes = Counter(row[score] for row in enriched)
        assert set(sizes) == {1, 2, 3, 4, 5}, score
        assert max(sizes.values()) - min(sizes.values()) <= 1, (score, sizes)
    # And every buyer has a group and is a customer
    assert all(row["rfm_group"] for row in enriched)
    assert {row["lifecycle_status"] for row in enriched} == {LifecycleStatus.CUSTOMER}
