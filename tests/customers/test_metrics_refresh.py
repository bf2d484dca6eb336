"""Fresh metrics: purchases from the API or a merge refresh their customers within seconds,
debounced per team, with a real worker."""

import time
from decimal import Decimal

import pytest
from django.db.models import Q

from config.celery import app
from customers.models import Customer, LifecycleStatus, Purchase
from customers.services.customers import customers_upsert_items
from customers.services.ingestion import purchases_ingest
from customers.services.merge import customer_merge, customer_merge_undo
from customers.services.metrics import customer_metrics_refresh
from privacy.core import roles
from privacy.models import AuditEntry

PURCHASES = "/api/v1/purchases/"
WAIT_SECONDS = 20


def shop_customers(team, count: int) -> list[Customer]:
    results = customers_upsert_items(
        actor=None,
        team=team,
        items=[
            {
                "email": f"buyer{number}@example.com",
                "external_ids": [{"channel": "shop", "id": f"S-{number}"}],
            }
            for number in range(count)
        ],
    )
    return list(
        Customer.objects.filter(pk__in=[result.customer_id for result in results]).order_by("pk")
    )


def purchase(customer: Customer, reference: str, amount: str = "25.00", day: int = 1) -> dict:
    return {
        "customer_id": customer.pk,
        "order_reference": reference,
        "occurred_at": f"2025-06-{day:02d}T10:00:00Z",
        "amount": amount,
        "currency": "EUR",
    }


def enrich_runs(team) -> int:
    return AuditEntry.objects.filter(action="customers.enrich", team=team).count()


def wait_until(condition, worker, message: str) -> float:
    """Poll ``condition`` for up to WAIT_SECONDS; the seconds it took."""
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < WAIT_SECONDS, f"{message}; worker:\n{worker.output()}"
        time.sleep(0.1)
    return time.monotonic() - started


@pytest.fixture
def default_queue_worker(celery_worker_process):
    """The default queue, emptied of what earlier tests queued; ``default_queue_worker()``
    starts a real worker on it and waits until it consumes."""
    with app.connection_for_write() as broker:
        broker.default_channel.queue_purge(app.conf.task_default_queue)

    def start():
        worker = celery_worker_process(app.conf.task_default_queue)
        deadline = time.monotonic() + 60
        while " ready." not in worker.output():
            assert time.monotonic() < deadline, worker.output()
            time.sleep(0.1)
        return worker

    return start


@pytest.mark.worker
def test_metrics_follow_a_purchase_posted_through_the_api_within_seconds(
    default_queue_worker, make_user, team_a, token_client
):
    # Given a lead without orders, a marketer's API client and a running worker
    [lead] = shop_customers(team_a, 1)
    api = token_client(make_user(roles.MARKETER, team_a))
    worker = default_queue_worker()

    # When a purchase of the lead is posted
    response = api.post(PURCHASES, {"items": [purchase(lead, "O-1", "49.90")]}, format="json")
    assert response.json()["results"][0]["status"] == "created"

    # Then within seconds the profile shows the order, the spend, an RFM group, a customer
    wait_until(
        lambda: Customer.objects.get(pk=lead.pk).order_count == 1,
        worker,
        "the order count never followed the purchase",
    )
    lead.refresh_from_db()
    assert (lead.order_count, lead.total_spend, lead.lifetime_value) == (
        1,
        Decimal("49.90"),
        Decimal("49.90"),
    )
    assert (lead.rfm_recency, lead.rfm_frequency, lead.rfm_monetary) == (5, 5, 5)
    assert (lead.rfm_group, lead.lifecycle_status) == ("Champions", LifecycleStatus.CUSTOMER)


@pytest.mark.worker
def test_a_burst_of_posts_makes_one_enrichment_run_that_covers_every_buyer(
    default_queue_worker, make_user, team_a, token_client
):
    # Given forty customers and a marketer's API client
    customers = shop_customers(team_a, 40)
    api = token_client(make_user(roles.MARKETER, team_a))

    # When forty requests post one purchase each, before any worker takes the first refresh
    for number, customer in enumerate(customers):
        response = api.post(
            PURCHASES,
            {"items": [purchase(customer, f"B-{number}", f"{10 + number}.00", 1 + number % 28)]},
            format="json",
        )
        assert response.json()["results"][0]["status"] == "created"
    worker = default_queue_worker()

    # Then every buyer's metrics follow...
    ids = [customer.pk for customer in customers]
    wait_until(
        lambda: not Customer.objects.filter(pk__in=ids).filter(~Q(order_count=1)).exists(),
        worker,
        "some buyers were never refreshed",
    )
    assert set(Customer.objects.filter(pk__in=ids).values_list("rfm_group", flat=True)) - {""}
    assert not Customer.objects.filter(pk__in=ids, rfm_group="").exists()
    # ...from a single enrichment run of the team, not forty
    assert enrich_runs(team_a) == 1
    entry = AuditEntry.objects.get(action="customers.enrich", team=team_a)
    assert (entry.metadata["requested_customers"], entry.metadata["rerank_team"]) == (40, True)


def test_a_refresh_enriches_the_queued_customers_once_and_reranks_the_team(
    team_a, django_capture_on_commit_callbacks
):
    # Given two buyers enriched before, and a third customer whose purchase just arrived
    first, second, third = shop_customers(team_a, 3)
    with django_capture_on_commit_callbacks(execute=True):
        purchases_ingest(
            actor=None,
            team=team_a,
            items=[purchase(first, "R-1", "10.00", 1), purchase(second, "R-2", "20.00", 2)],
        )
    customer_metrics_refresh(team_id=team_a.pk)
    with django_capture_on_commit_callbacks(execute=True):
        purchases_ingest(actor=None, team=team_a, items=[purchase(third, "R-3", "30.00", 3)])

    # When the team's refresh runs (twice: a redelivered task)
    changed = customer_metrics_refresh(team_id=team_a.pk)
    runs = enrich_runs(team_a)
    again = customer_metrics_refresh(team_id=team_a.pk)

    # Then the newcomer has its metrics, and the two others were re-ranked among three
    rows = dict(Customer.objects.filter(owner_team=team_a).values_list("pk", "rfm_monetary"))
    assert rows == {first.pk: 2, second.pk: 4, third.pk: 5}  # ceil(5 * rank / 3)
    assert Customer.objects.get(pk=third.pk).order_count == 1
    assert changed == 3
    # And the second delivery found nothing queued: no statement, no audit entry
    assert (again, enrich_runs(team_a)) == (0, runs)


def test_a_merge_and_its_undo_refresh_the_customers_whose_purchases_moved(
    team_a, django_capture_on_commit_callbacks
):
    # Given two enriched buyers of the same person
    survivor, merged = shop_customers(team_a, 2)
    with django_capture_on_commit_callbacks(execute=True):
        purchases_ingest(
            actor=None,
            team=team_a,
            items=[purchase(survivor, "M-1", "10.00"), purchase(merged, "M-2", "15.00")],
        )
    customer_metrics_refresh(team_id=team_a.pk)

    # When they are merged, and the team's refresh runs
    with django_capture_on_commit_callbacks(execute=True):
        customer_merge(survivor=survivor, merged=merged)
    customer_metrics_refresh(team_id=team_a.pk)

    # Then the survivor counts both orders
    survivor.refresh_from_db()
    assert (survivor.order_count, survivor.total_spend) == (2, Decimal("25.00"))

    # And when the merge is undone, both are back to their own order
    with django_capture_on_commit_callbacks(execute=True):
        customer_merge_undo(survivor=survivor)
    customer_metrics_refresh(team_id=team_a.pk)
    assert dict(
        Customer.objects.filter(pk__in=[survivor.pk, merged.pk]).values_list("pk", "total_spend")
    ) == {survivor.pk: Decimal("10.00"), merged.pk: Decimal("15.00")}
    assert Purchase.objects.filter(customer=merged).count() == 1
