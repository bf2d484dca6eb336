from decimal import Decimal

from rest_framework.test import APIClient

from customers.models import ImportRow, Purchase
from customers.services.customers import customers_upsert_items
from tests.factories import api_token_for


def test_purchase_csv_import_end_to_end(marketer_a, team_a, run_import):
    customers_upsert_items(
        actor=None, team=team_a, items=[{"external_ids": [{"channel": "shop", "id": "7"}]}]
    )
    content = (
        b"Customer,Order,Date,Total,Qty\n"
        b"7,A-1,20250601,10.50,2\n"
        b"7,A-2,2025-06-02,abc,1\n"
        b"8,A-3,20250603,3,1\n"
        b'7,"A-4",20250604,1,1,extra\n'
    )
    mapping = {
        "Customer": "customer_external_id",
        "Order": "order_reference",
        "Date": "occurred_at",
        "Total": "amount",
        "Qty": "quantity",
    }
    options = {"source_channel": "shop", "currency": "EUR"}
    job = run_import(
        marketer_a,
        team_a,
        content,
        name="p.csv",
        kind="purchases",
        mapping=mapping,
        options=options,
    )
    assert (job.status, job.created_count, job.unchanged_count, job.rejected_count) == (
        "succeeded",
        1,
        0,
        3,
    )
    assert list(
        ImportRow.objects.filter(job=job).values_list("line_number", "outcome", "reason")
    ) == [
        (2, "created", ""),
        (3, "rejected", "amount: A decimal number, e.g. 19.90."),
        (4, "rejected", "external_id: Unknown customer."),
        (5, "rejected", "6 values for 5 columns (too many)"),
    ]
    assert list(
        Purchase.objects.values_list("order_reference", "amount", "currency", "source")
    ) == [("A-1", Decimal("10.50"), "EUR", "shop")]
    again = run_import(
        marketer_a,
        team_a,
        content,
        name="p.csv",
        kind="purchases",
        mapping=mapping,
        options=options,
    )
    assert (again.created_count, again.unchanged_count, again.rejected_count) == (0, 1, 3)
    dry = run_import(
        marketer_a,
        team_a,
        content.replace(b"A-1", b"B-1"),
        name="p.csv",
        kind="purchases",
        mapping=mapping,
        options=options,
        is_dry_run=True,
    )
    assert (dry.created_count, dry.rejected_count) == (1, 3)
    assert Purchase.objects.count() == 1


def test_router_registered(marketer_a):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(marketer_a)}")
    assert client.get("/api/v1/events/").status_code == 200
    assert client.get("/api/v1/purchases/").status_code == 200
    assert "events" in client.get("/api/v1/").json()
