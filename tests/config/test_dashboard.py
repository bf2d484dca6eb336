"""The home dashboard: figures of what the user may see, one aggregate each, and the empty
state only for a user who sees no customer."""

import datetime
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.models import Customer, ImportJob, ImportStatus
from privacy.core import roles
from privacy.models import (
    DataSubjectRequest,
    RequestChannel,
    RequestKind,
    RequestStatus,
)
from tests.customers.factories import CustomerFactory, consent_event


def import_job(team, user, *, days_ago=0, status=ImportStatus.SUCCEEDED, **counts):
    job = ImportJob.objects.create(
        owner_team=team, created_by=user, file="imports/x.csv", status=status, **counts
    )
    created = timezone.now() - datetime.timedelta(days=days_ago)
    ImportJob.objects.filter(pk=job.pk).update(created_at=created)
    return job


def data_request(team, *, due_in_days, status=RequestStatus.RECEIVED):
    today = timezone.localdate()
    return DataSubjectRequest.objects.create(
        owner_team=team,
        kind=RequestKind.ACCESS,
        channel=RequestChannel.EMAIL,
        received_at=timezone.now(),
        due_on=today + datetime.timedelta(days=due_in_days),
        status=status,
    )


def grant(customer, code, status="granted"):
    consent_event(customer, code, status, occurred_at=timezone.now())


@pytest.fixture
def world(team_a, team_b, make_user):
    """Customers, imports and requests in both teams; returns team A's customers."""
    importer = make_user(roles.MARKETER, team_a)
    specs = [
        ("DE", "crm", "customer", 5, 5, "900.00"),
        ("DE", "shop", "customer", 5, 5, "100.50"),
        ("CN", "shop", "customer", 1, 3, "20.00"),
        ("FR", "web", "lead", None, None, "0"),
        ("", "", "prospect", None, None, "0"),
    ]
    customers = [
        CustomerFactory(
            owner_team=team_a,
            country=country,
            source_channel=source,
            lifecycle_status=stage,
            rfm_recency=recency,
            rfm_frequency=frequency,
            total_spend=Decimal(spend),
        )
        for country, source, stage, recency, frequency, spend in specs
    ]
    CustomerFactory(owner_team=team_a, merged_into=customers[0], country="US")
    CustomerFactory.create_batch(
        3, owner_team=team_b, country="JP", source_channel="wechat", rfm_recency=5, rfm_frequency=5
    )
    grant(customers[0], "email_marketing")
    grant(customers[1], "email_marketing", "withdrawn")
    grant(customers[2], "sms_marketing")
    grant(Customer.objects.filter(owner_team=team_b).first(), "email_marketing")
    import_job(team_a, importer, created_count=5, rejected_count=2)
    import_job(team_a, importer, days_ago=3, status=ImportStatus.FAILED, updated_count=1)
    import_job(team_a, importer, days_ago=40, created_count=100)
    import_job(team_b, importer, created_count=7)
    data_request(team_a, due_in_days=-2)
    data_request(team_a, due_in_days=3)
    data_request(team_a, due_in_days=20)
    data_request(team_a, due_in_days=3, status=RequestStatus.COMPLETED)
    data_request(team_b, due_in_days=-5)
    return customers


def test_charts_count_only_the_customers_of_the_users_team(world, marketer_a, verified_client):
    # When the marketer of team A opens the dashboard
    response = verified_client(marketer_a).get("/")

    # Then every figure is team A's active customers, counted as Python counts them
    context = response.context
    visible = [customer for customer in world]
    figures = context["figures"]
    assert figures.total == len(visible) == 5
    assert dict(figures.by_country) == Counter(customer.country for customer in visible)
    assert dict(figures.by_source) == Counter(customer.source_channel for customer in visible)
    assert dict(figures.by_lifecycle) == Counter(c.lifecycle_status for c in visible)
    assert figures.by_month[-1][2] == 5
    rfm: dict = {}
    for customer in visible:
        if customer.rfm_recency is not None:
            count, revenue = rfm.get((customer.rfm_recency, customer.rfm_frequency), (0, 0))
            rfm[(customer.rfm_recency, customer.rfm_frequency)] = (
                count + 1,
                revenue + customer.total_spend,
            )
    assert figures.rfm == rfm == {(5, 5): (2, Decimal("1000.50")), (1, 3): (1, Decimal("20.00"))}
    coverage = {(purpose.code, channel): count for purpose, channel, count in figures.consent}
    assert coverage[("email_marketing", "email")] == 1
    assert coverage[("sms_marketing", "sms")] == 1
    assert coverage[("profiling", "any")] == 0
    # And the imports are team A's of the last 30 days, by day
    imports = context["imports"]
    assert [(day["jobs"], day["succeeded"], day["failed"]) for day in imports] == [
        (1, 0, 1),
        (1, 1, 0),
    ]
    assert [(day["created"], day["rejected"], day["updated"]) for day in imports] == [
        (0, 0, 1),
        (5, 2, 0),
    ]
    # And a marketer has no data-subject request tile nor chart
    assert "request_buckets" not in context
    assert "requests_by_due_date" not in context["charts"]
    assert {tile["key"] for tile in context["tiles"]} == {"customers"}
    assert b"No customers yet" not in response.content


def test_a_data_steward_sees_the_open_requests_of_her_team_by_due_date(
    world, steward, verified_client
):
    response = verified_client(steward).get("/")

    buckets = {key: count for key, _label, count in response.context["request_buckets"]}
    assert buckets == {"overdue": 1, "week": 1, "month": 1, "later": 0}
    tiles = {tile["key"]: tile["value"] for tile in response.context["tiles"]}
    assert (tiles["open_requests"], tiles["overdue_requests"]) == (3, 1)
    assert response.context["charts"]["requests_by_due_date"]["datasets"][0]["data"] == [
        1,
        1,
        1,
        0,
    ]


def test_the_empty_state_shows_only_when_the_user_sees_no_customer(
    world, make_user, team_b, verified_client, django_user_model
):
    # Given a marketer of a third team, whose team has no customer although others do
    from tests.factories import TeamFactory

    lonely = make_user(roles.MARKETER, TeamFactory(group__name="Team C"))

    response = verified_client(lonely).get("/")

    assert b"No customers yet" in response.content
    assert response.context["figures"].total == 0
    assert "customers_over_time" not in response.context["charts"]
    assert b'data-chart="chart-customers-over-time"' not in response.content


def test_the_page_hands_each_chart_its_figures_as_json_and_a_table(world, steward, verified_client):
    page = verified_client(steward).get("/").content.decode()

    for chart in (
        "customers-over-time",
        "customers-by-source",
        "customers-by-country",
        "customers-by-lifecycle",
        "rfm-grid",
        "consent-coverage",
        "imports-recent",
        "requests-by-due-date",
    ):
        assert f'data-chart="chart-{chart}"' in page
        assert f'<script id="chart-{chart}" type="application/json">' in page
    assert page.count('<details class="chart-table">') == 8
    assert "<script>" not in page


def test_an_htmx_refresh_gets_the_figures_without_the_page(world, marketer_a, verified_client):
    response = verified_client(marketer_a).get("/", HTTP_HX_REQUEST="true")

    page = response.content.decode()
    assert 'data-tile="customers"' in page
    assert "<html" not in page


def test_the_dashboard_takes_as_many_queries_for_many_customers_as_for_few(
    world, team_a, team_b, steward, verified_client, make_user
):
    # Given the data steward's page with the world's few customers
    client = verified_client(steward)
    with CaptureQueriesContext(connection) as few:
        client.get("/")

    # When many more customers, imports and requests arrive
    importer = make_user(roles.MARKETER, team_a)
    CustomerFactory.create_batch(
        20, owner_team=team_a, country="IT", rfm_recency=2, rfm_frequency=2, identities=False
    )
    for day in range(5):
        import_job(team_a, importer, days_ago=day + 5, created_count=3)
        data_request(team_a, due_in_days=day * 10)
    with CaptureQueriesContext(connection) as many:
        response = client.get("/")

    # Then the number of queries is the same, and pinned (the customer figures run in a
    # transaction without JIT: a savepoint here, SET LOCAL, its release)
    assert response.context["figures"].total == 25
    assert len(many) == len(few) == 24, "\n".join(query["sql"] for query in many)
