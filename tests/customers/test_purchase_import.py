"""CSV import chunks of purchases (and events): real CDNOW transactions, idempotent re-import."""

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest
from django.db.models import Sum

from customers.models import Customer, Event, Identity, IdentityKind, Purchase
from customers.services.customers import customers_upsert_items
from customers.services.ingestion import (
    ImportRowResult,
    events_import_rows,
    purchases_import_rows,
)
from privacy.models import AuditEntry
from tests.shared_data import shared_file

LINES = 300
CDNOW_OPTIONS = {"source_channel": "cdnow", "currency": "USD"}


@pytest.fixture(scope="module")
def cdnow_lines() -> list[tuple[int, list[str]]]:
    """The first 300 lines: full-set customer id, sample id, YYYYMMDD, CDs, dollar value."""
    with shared_file("cdnow_sample.txt").open(encoding="ascii") as handle:
        return [(number, line.split()) for number, line in enumerate(handle, 1) if number <= LINES]


@pytest.fixture
def cdnow_customers(team_a, cdnow_lines) -> dict[str, int]:
    """Customers of team A known by their CDNOW id (channel "cdnow"): {cdnow id: customer id}."""
    cdnow_ids = sorted({columns[0] for _number, columns in cdnow_lines})
    results = customers_upsert_items(
        actor=None,
        team=team_a,
        items=[{"external_ids": [{"channel": "cdnow", "id": cdnow_id}]} for cdnow_id in cdnow_ids],
        source="import",
    )
    assert [result.status for result in results] == ["created"] * len(cdnow_ids)
    return {
        cdnow_id: result.customer_id for cdnow_id, result in zip(cdnow_ids, results, strict=True)
    }


def mapped_rows(cdnow_lines) -> list[tuple[int, dict[str, str]]]:
    """The lines as the import pipeline hands them over: mapped, strings, no order reference."""
    return [
        (
            number,
            {
                "customer_external_id": full_id,
                "occurred_at": day,
                "quantity": cds,
                "amount": dollars,
            },
        )
        for number, (full_id, _sample_id, day, cds, dollars) in cdnow_lines
    ]


def import_in_chunks(user, team, rows, size=100) -> list[ImportRowResult]:
    results = []
    for start in range(0, len(rows), size):
        results += purchases_import_rows(
            actor=user, team=team, rows=rows[start : start + size], options=CDNOW_OPTIONS
        )
    return results


def test_cdnow_purchases_import_exactly_and_a_second_run_creates_nothing(
    marketer_a, team_a, cdnow_lines, cdnow_customers
):
    # Given the first 300 CDNOW transactions, mapped like a CSV import, and their customers
    rows = mapped_rows(cdnow_lines)
    expected_total = sum(Decimal(columns[4]) for _number, columns in cdnow_lines)
    expected_cds = sum(int(columns[3]) for _number, columns in cdnow_lines)
    expected_per_customer = Counter(columns[0] for _number, columns in cdnow_lines)

    # When they are imported in chunks of 100
    first = import_in_chunks(marketer_a, team_a, rows)

    # Then every line is one purchase with its customer, day, CDs and dollar value
    assert [(r.line_number, r.outcome) for r in first] == [(n, "created") for n in range(1, 301)]
    assert Purchase.objects.count() == LINES
    totals = Purchase.objects.aggregate(amount=Sum("amount"), cds=Sum("quantity"))
    assert totals == {"amount": expected_total, "cds": expected_cds}
    assert set(Purchase.objects.values_list("currency", "source")) == {("USD", "cdnow")}
    per_customer = Counter(Purchase.objects.values_list("customer_id", flat=True))
    assert per_customer == {
        cdnow_customers[cdnow_id]: count for cdnow_id, count in expected_per_customer.items()
    }
    _number, (full_id, _sample, day, cds, dollars) = cdnow_lines[0]
    stored = Purchase.objects.get(pk=first[0].object_id)
    assert (stored.customer_id, stored.occurred_at, stored.quantity, stored.amount) == (
        cdnow_customers[full_id],
        dt.datetime.strptime(day, "%Y%m%d").replace(tzinfo=dt.UTC),
        int(cds),
        Decimal(dollars),
    )
    assert first[0].customer_id == cdnow_customers[full_id]

    # When the same lines are imported again
    second = import_in_chunks(marketer_a, team_a, rows)

    # Then nothing is created: every line is unchanged and points at the purchase it made
    assert [r.outcome for r in second] == ["unchanged"] * LINES
    assert [r.object_id for r in second] == [r.object_id for r in first]
    assert Purchase.objects.count() == LINES
    assert Purchase.objects.aggregate(amount=Sum("amount"))["amount"] == expected_total
    assert AuditEntry.objects.filter(action="purchase.ingest").count() == 6


def purchase_line(number: int, customer: str = "7", **fields: str) -> tuple[int, dict[str, str]]:
    """A mapped line of a shop's purchases file, order ``A-<line>``, valid unless told."""
    return (
        number,
        {
            "customer_external_id": customer,
            "order_reference": f"A-{number}",
            "occurred_at": "20250601",
            "amount": "1",
            "currency": "",
            "quantity": "",
            **fields,
        },
    )


def test_bad_purchase_lines_are_rejected_with_their_reason(marketer_a, team_a):
    # Given one customer with a shop id and an email, and lines of a file with order numbers
    [result] = customers_upsert_items(
        actor=None,
        team=team_a,
        items=[{"email": "ada@example.com", "external_ids": [{"channel": "shop", "id": "7"}]}],
    )
    options = {"source_channel": "shop", "currency": "eur"}
    rows = [
        purchase_line(2, occurred_at="2025-06-01", amount="10"),
        purchase_line(
            3,
            customer="",
            email="ADA@example.com",
            occurred_at="2025-06-01T09:30:00",
            amount="5.5",
            currency="usd",
            quantity="3",
        ),
        purchase_line(4, customer="8"),
        purchase_line(5, occurred_at="01/06/2025", amount="1,50", quantity="two"),
        purchase_line(6, order_reference="", occurred_at="20250631", amount=""),
        purchase_line(7, customer="", email=""),
        purchase_line(8, quantity="\u00b2"),  # a digit to str.isdigit(), not to int()
    ]

    # When they are imported
    outcomes = purchases_import_rows(actor=marketer_a, team=team_a, rows=rows, options=options)

    # Then the good lines are stored (dates at midnight UTC, the default currency upper-cased)
    # and the others say why, with the field first
    customer = result.customer_id
    assert [(r.line_number, r.outcome, r.customer_id, r.reason) for r in outcomes] == [
        (2, "created", customer, ""),
        (3, "created", customer, ""),
        (4, "rejected", None, "external_id: Unknown customer."),
        (
            5,
            "rejected",
            None,
            # 01/06/2025 is a date, read day first (no order chosen, no country)
            "amount: A decimal number, e.g. 19.90.; quantity: A whole number of at least 1.",
        ),
        (
            6,
            "rejected",
            None,
            "order_reference: This field is required.; occurred_at: An ISO 8601 date and time, "
            "e.g. 2026-03-01T12:00:00Z.; amount: This field is required.",
        ),
        (
            7,
            "rejected",
            None,
            "Name the customer: customer_id, external_id with channel, or email.",
        ),
        (8, "rejected", None, "quantity: A whole number of at least 1."),
    ]
    assert list(
        Purchase.objects.order_by("order_reference").values_list(
            "order_reference", "source", "occurred_at", "amount", "currency", "quantity"
        )
    ) == [
        ("A-2", "shop", dt.datetime(2025, 6, 1, tzinfo=dt.UTC), Decimal("10.00"), "EUR", 1),
        ("A-3", "shop", dt.datetime(2025, 6, 1, 9, 30, tzinfo=dt.UTC), Decimal("5.50"), "USD", 3),
    ]


def test_event_lines_import_with_properties_and_a_second_run_creates_nothing(marketer_a, team_a):
    # Given a customer known by a store membership id, and event lines without client ids
    customer = Customer.objects.create(owner_team=team_a)
    Identity.objects.create(
        owner_team=team_a,
        customer=customer,
        kind=IdentityKind.EXTERNAL,
        channel="store",
        lookup_key="C-1",
    )
    visit = {"customer_external_id": "C-1", "occurred_at": "20250601", "properties.store": "Lyon"}
    rows = [
        (2, {**visit, "type": "Store_Visit"}),
        (3, {**visit, "type": "store_visit"}),
        (4, {**visit, "type": "store visit", "occurred_at": "20250602", "properties.store": ""}),
    ]
    options = {"source_channel": "store"}

    # When they are imported twice
    first = events_import_rows(actor=marketer_a, team=team_a, rows=rows, options=options)
    second = events_import_rows(actor=marketer_a, team=team_a, rows=rows, options=options)

    # Then two visits on the same day are two events (their lines differ), stored once
    assert [(r.line_number, r.outcome) for r in first] == [
        (2, "created"),
        (3, "created"),
        (4, "rejected"),
    ]
    assert first[2].reason == "type: 1 to 64 characters: a-z, 0-9 and _ . : -"
    assert [r.outcome for r in second] == ["unchanged", "unchanged", "rejected"]
    assert list(
        Event.objects.order_by("id").values_list("customer_id", "type", "properties", "source")
    ) == [
        (customer.pk, "store_visit", {"store": "Lyon"}, "store"),
        (customer.pk, "store_visit", {"store": "Lyon"}, "store"),
    ]
