"""Data-quality figures per team and field, their nightly snapshots and the drill-down."""

import datetime
import re
import time
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.models import Customer, DuplicateStatus
from customers.quality.models import DataQualitySnapshot
from customers.quality.rules import QUALITY_FIELDS
from customers.quality.selectors import (
    quality_figures,
    quality_figures_for_user,
    quality_history_for_user,
)
from customers.quality.services import data_quality_snapshot_take
from customers.tasks import data_quality_snapshot_task
from privacy.models import AuditEntry
from tests.customers.factories import (
    CustomerFactory,
    DuplicateCandidateFactory,
    consent_event,
)
from tests.factories import TeamFactory

NOW = datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC)
TODAY = NOW.date()

# Plain-Python statements of what is valid, for the values these tests store.
VALID_COUNTRIES = {"DE", "CN", "GB"}
POSTAL_CODES = {"DE": r"\d{5}", "CN": r"\d{6}", "GB": r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}"}
CHANNELS = {"store", "web", "wechat", "event", "crm", "shop", "app", "api", "staff", "import"}


def python_valid(key: str, customer: Customer) -> bool | None:
    value = getattr(customer, key)
    if key == "email":
        label = r"[a-z0-9]+(-[a-z0-9]+)*"
        return re.fullmatch(rf"{label}(\.{label})+", customer.email_domain.lower()) is not None
    if key == "country":
        return value in VALID_COUNTRIES
    if key == "postal_code":
        pattern = POSTAL_CODES.get(customer.country, r"[A-Za-z0-9][A-Za-z0-9 -]{1,9}")
        return re.fullmatch(pattern, value, re.IGNORECASE) is not None
    if key == "birth_date":
        return datetime.date(1900, 1, 1) <= value <= TODAY
    if key == "gender":
        return value in {"female", "male", "other", "unknown"}
    if key == "language":
        return re.fullmatch(r"[a-z]{2,3}([-_][a-z0-9]{2,8})*", value, re.IGNORECASE) is not None
    if key == "source_channel":
        return value in CHANNELS
    return None


def python_figures(team, *, duplicates: set[int], consented: set[int]) -> dict:
    """The figures of one team, counted one customer at a time."""
    customers = list(Customer.objects.filter(owner_team=team, merged_into__isnull=True))
    fields = {}
    for measured in QUALITY_FIELDS:
        filled = [c for c in customers if getattr(c, measured.key) not in (None, "")]
        checks = [python_valid(measured.key, c) for c in filled]
        has_check = measured.validity is not None
        fields[measured.key] = {
            "filled": len(filled),
            "valid": sum(1 for check in checks if check) if has_check else None,
        }
    ages = [(NOW - c.updated_at).total_seconds() / 86400 for c in customers]
    return {
        "customer_count": len(customers),
        "duplicate_count": len([c for c in customers if c.pk in duplicates]),
        "consented_count": len([c for c in customers if c.pk in consented]),
        "average_age_days": round(sum(ages) / len(ages), 6),
        "fields": fields,
    }


def as_dict(figures) -> dict:
    return {
        "customer_count": figures.customer_count,
        "duplicate_count": figures.duplicate_count,
        "consented_count": figures.consented_count,
        "average_age_days": round(figures.average_age_days, 6),
        "fields": figures.fields,
    }


def consent(customer, code: str, status: str, days_ago: int, *, expires_in_days=None):
    expires_at = None if expires_in_days is None else NOW + datetime.timedelta(expires_in_days)
    return consent_event(
        customer,
        code,
        status,
        occurred_at=NOW - datetime.timedelta(days=days_ago),
        expires_at=expires_at,
    )


@pytest.fixture
def messy_team(team_a, team_b):
    """Team A: customers with good, bad and missing values, pairs and consents of every kind;
    team B: one tidy customer. Returns (customers of A, ids in open pairs, ids consenting)."""
    values = [
        {"country": "DE", "postal_code": "10115", "gender": "female", "language": "de"},
        {"country": "DE", "postal_code": "1011", "language": "de-DE", "source_channel": "shop"},
        {"country": "CN", "postal_code": "100000", "birth_date": datetime.date(1990, 5, 1)},
        {"country": "GB", "postal_code": "SW1A 1AA", "birth_date": datetime.date(1850, 1, 1)},
        {"country": "XX", "postal_code": "??", "gender": "", "language": "deutsch"},
        {"country": "", "city": "", "postal_code": "", "source_channel": "fax"},
        {"email": None, "phone": None, "birth_date": datetime.date(2030, 1, 1)},
        {"email": "ann@localhost", "given_name": None, "language": "zh-Hans"},
    ]
    customers = [CustomerFactory(owner_team=team_a, **fields) for fields in values]
    merged = CustomerFactory(owner_team=team_a, country="", merged_into=customers[0])
    CustomerFactory(owner_team=team_b, country="DE", postal_code="20095")
    for days, customer in zip([1, 10, 30, 400, 2, 0, 90, 45], customers, strict=True):
        Customer.objects.filter(pk=customer.pk).update(
            updated_at=NOW - datetime.timedelta(days=days, hours=days % 5)
        )
    # An open pair counts; a dismissed pair does not, nor an open pair with a merged customer.
    DuplicateCandidateFactory(owner_team=team_a, first=customers[0], second=customers[1])
    DuplicateCandidateFactory(
        owner_team=team_a, first=customers[2], second=customers[3], status=DuplicateStatus.OPEN
    )
    DuplicateCandidateFactory(
        owner_team=team_a,
        first=customers[4],
        second=customers[5],
        status=DuplicateStatus.DISMISSED,
    )
    DuplicateCandidateFactory(owner_team=team_a, first=customers[6], second=merged)
    # Current grants: 0 (granted), 4 (withdrawn, then granted again), 7 (one of two purposes).
    consent(customers[0], "email_marketing", "granted", 5)
    consent(customers[1], "email_marketing", "granted", 9)
    consent(customers[1], "email_marketing", "withdrawn", 3)
    consent(customers[2], "sms_marketing", "granted", 9, expires_in_days=-1)
    consent(customers[3], "profiling", "granted", 9, expires_in_days=30)
    consent(customers[4], "sms_marketing", "withdrawn", 9)
    consent(customers[4], "sms_marketing", "granted", 2)
    consent(customers[7], "email_marketing", "withdrawn", 1)
    consent(customers[7], "profiling", "granted", 1)
    duplicates = {customers[index].pk for index in (0, 1, 2, 3)}
    consented = {customers[index].pk for index in (0, 3, 4, 7)}
    return customers, duplicates, consented


def test_figures_match_a_plain_python_count(messy_team, team_a, team_b):
    # Given team A's messy customers and team B's tidy one
    _customers, duplicates, consented = messy_team

    # When the figures of every active customer are computed
    figures = {team.team_id: team for team in quality_figures(Customer.objects.active(), now=NOW)}

    # Then each team's figures are what counting one customer at a time gives
    assert set(figures) == {team_a.pk, team_b.pk}
    expected_a = python_figures(team_a, duplicates=duplicates, consented=consented)
    assert as_dict(figures[team_a.pk]) == expected_a
    assert expected_a["fields"]["country"] == {"filled": 7, "valid": 6}
    assert expected_a["duplicate_count"] == 4 and expected_a["consented_count"] == 4
    team_b_figures = figures[team_b.pk]
    assert team_b_figures.customer_count == 1
    assert team_b_figures.fields["postal_code"] == {"filled": 1, "valid": 1}
    assert figures[team_a.pk].team_name == "Team A"


def test_figures_take_one_query_without_jit_whatever_the_number_of_customers(messy_team, team_a):
    CustomerFactory.create_batch(5, owner_team=team_a, identities=False)
    with CaptureQueriesContext(connection) as queries:
        quality_figures(Customer.objects.active(), now=NOW)

    # One SELECT, in a transaction that switched PostgreSQL's JIT compilation off
    statements = [
        query["sql"]
        for query in queries.captured_queries
        if not query["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]
    assert statements[0] == "SET LOCAL jit = off"
    assert len(statements) == 2 and statements[1].startswith("SELECT"), statements


def test_snapshot_keeps_one_row_a_team_and_day_and_replaces_it_on_a_second_run(
    messy_team, team_a, team_b
):
    # Given yesterday's snapshot
    yesterday = NOW - datetime.timedelta(days=1)
    assert data_quality_snapshot_take(now=yesterday) == 2

    # When today's is taken twice, a customer arriving in between
    data_quality_snapshot_take(now=NOW)
    CustomerFactory(owner_team=team_a, country="")
    data_quality_snapshot_take(now=NOW + datetime.timedelta(hours=1))

    # Then there is one row per team and day, today's with the later figures, counts only
    rows = DataQualitySnapshot.objects.order_by("taken_on", "owner_team__group__name")
    assert [(row.taken_on, row.owner_team_id) for row in rows] == [
        (yesterday.date(), team_a.pk),
        (yesterday.date(), team_b.pk),
        (TODAY, team_a.pk),
        (TODAY, team_b.pk),
    ]
    today_a = DataQualitySnapshot.objects.get(owner_team=team_a, taken_on=TODAY)
    later = quality_figures(Customer.objects.filter(owner_team=team_a).active(), now=NOW)[0]
    assert today_a.customer_count == 9
    assert today_a.fields == later.fields
    assert today_a.field_count == len(QUALITY_FIELDS)
    assert today_a.filled_count == sum(counts["filled"] for counts in later.fields.values())
    assert today_a.valid_count == sum(counts["valid"] or 0 for counts in later.fields.values())
    assert today_a.checked_count == sum(
        counts["filled"] for counts in later.fields.values() if counts["valid"] is not None
    )
    # And each run is an audit entry naming the day and the number of teams
    entries = AuditEntry.objects.filter(action="customers.data_quality_snapshot")
    assert sorted(entry.metadata["taken_on"] for entry in entries) == [
        yesterday.date().isoformat(),
        TODAY.isoformat(),
        TODAY.isoformat(),
    ]


def test_history_sums_the_snapshots_of_the_teams_the_user_may_see(messy_team, marketer_a, team_a):
    # Given snapshots of both teams on two days
    data_quality_snapshot_take(now=NOW - datetime.timedelta(days=1))
    data_quality_snapshot_take(now=NOW)

    # When the marketer of team A reads the history
    history = quality_history_for_user(marketer_a, today=TODAY)

    # Then it has a point a day over team A's snapshots only
    team_a_rows = list(DataQualitySnapshot.objects.filter(owner_team=team_a).order_by("taken_on"))
    assert [point["day"] for point in history] == [row.taken_on for row in team_a_rows]
    for point, row in zip(history, team_a_rows, strict=True):
        assert point["completeness"] == round(
            row.filled_count / (row.customer_count * row.field_count), 4
        )
        assert point["validity"] == round(row.valid_count / row.checked_count, 4)
        assert point["uniqueness"] == round(1 - row.duplicate_count / row.customer_count, 4)
        assert point["consent_coverage"] == round(row.consented_count / row.customer_count, 4)
        assert point["freshness_days"] == round(row.average_age_days, 1)


def test_a_marketer_sees_the_figures_of_her_teams_only(
    messy_team, marketer_a, team_a, make_user, team_b
):
    # Given a customer of team B granted to the marketer of team A one by one
    from guardian.shortcuts import assign_perm

    granted = Customer.objects.get(owner_team=team_b)
    assign_perm("customers.view_customer", marketer_a, granted)

    # Then her figures are team A's, whole, without the granted customer
    figures = quality_figures_for_user(marketer_a, now=NOW)
    assert [team.team_id for team in figures] == [team_a.pk]
    assert figures[0].customer_count == 8


def test_the_page_shows_each_figure_with_a_link_to_the_customers_behind_it(
    messy_team, marketer_a, verified_client, team_a
):
    data_quality_snapshot_take(now=timezone.now())
    client = verified_client(marketer_a)

    response = client.get("/customers/quality/")

    assert response.status_code == 200
    (row,) = response.context["teams"]
    country = next(field for field in row["fields"] if field["key"] == "country")
    assert (country["empty"], country["invalid"]) == (1, 1)
    assert country["empty_url"] == f"/customers/?team={team_a.pk}&empty=country"
    page = response.content.decode()
    assert f'href="/customers/?team={team_a.pk}&amp;empty=country"' in page
    assert f'href="/customers/?team={team_a.pk}&amp;invalid=country"' in page
    assert len(response.context["history"]) == 1


@pytest.mark.parametrize(
    ("query", "indexes"),
    [
        pytest.param("empty=country", [5], id="empty-country"),
        pytest.param("invalid=country", [4], id="invalid-country"),
        pytest.param("invalid=postal_code", [1, 4], id="invalid-postal-code"),
        pytest.param("empty=email", [6], id="empty-encrypted-email"),
        pytest.param("invalid=birth_date", [3, 6], id="invalid-birth-date"),
    ],
)
def test_the_customer_list_filters_on_an_empty_or_invalid_field(
    messy_team, marketer_a, verified_client, team_b, query, indexes
):
    # Given team B's customer has the same gaps in another team
    customers, _duplicates, _consented = messy_team
    CustomerFactory(owner_team=team_b, country="", email=None, postal_code="1")

    response = verified_client(marketer_a).get(f"/customers/?{query}")

    assert response.status_code == 200
    shown = sorted(customer.pk for customer, _contact in response.context["rows"])
    assert shown == sorted(customers[index].pk for index in indexes)


@pytest.mark.worker
def test_a_worker_keeps_the_days_figures_from_the_nightly_task(celery_worker_process):
    # Given customers of one team, committed where the worker process sees them
    team = TeamFactory(group__name="Nightly")
    CustomerFactory(owner_team=team, country="DE", postal_code="10115")
    CustomerFactory(owner_team=team, country="", postal_code="")
    queue = f"test-quality-{uuid.uuid4().hex}"

    # When the nightly task goes to a private queue and a real worker takes it
    data_quality_snapshot_task.apply_async(queue=queue)
    worker = celery_worker_process(queue)
    try:
        deadline = time.monotonic() + 60
        while not DataQualitySnapshot.objects.filter(owner_team=team).exists():
            assert worker.process.poll() is None, worker.output()
            assert time.monotonic() < deadline, worker.output()
            time.sleep(0.2)
    finally:
        worker.stop()

    # Then the day's row holds the team's counts
    snapshot = DataQualitySnapshot.objects.get(owner_team=team)
    assert snapshot.taken_on == timezone.localdate()
    assert (snapshot.customer_count, snapshot.fields["country"]) == (2, {"filled": 1, "valid": 1})
