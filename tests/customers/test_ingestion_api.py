"""Events and purchases API: batch ingest with per-item results, idempotency and scoping.

Over 600 lines: one test module per endpoint, events and purchases alike.
"""

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.utils import timezone
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from customers.models import Customer, Event, Purchase
from customers.services.customers import customers_upsert_items
from customers.services.ingestion import (
    NO_CUSTOMER,
    UNKNOWN_CUSTOMER,
    events_ingest,
    purchases_ingest,
)
from customers.services.merge import customer_merge
from privacy.core import roles
from privacy.models import AuditEntry
from tests.factories import api_token_for

EVENTS = "/api/v1/events/"
PURCHASES = "/api/v1/purchases/"
UTC = dt.UTC


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
    return client


def customer_with(team, *, email: str, shop_id: str) -> Customer:
    [result] = customers_upsert_items(
        actor=None,
        team=team,
        items=[{"email": email, "external_ids": [{"channel": "shop", "id": shop_id}]}],
    )
    return Customer.objects.get(pk=result.customer_id)


@pytest.fixture
def people(team_a, team_b):
    """Ada and Grace in team A; Bob in team B, with the same shop id as Ada."""
    return {
        "ada": customer_with(team_a, email="ada@example.com", shop_id="S-1"),
        "grace": customer_with(team_a, email="grace@example.com", shop_id="S-2"),
        "bob": customer_with(team_b, email="bob@example.com", shop_id="S-1"),
    }


def event(reference: dict, client_id: str = "", **fields) -> dict:
    item = {**reference, "type": "page_view", "occurred_at": "2025-06-01T10:00:00Z", **fields}
    if client_id:
        item["client_id"] = client_id
    return item


def purchase(reference: dict, order_reference: str, **fields) -> dict:
    return {
        **reference,
        "order_reference": order_reference,
        "occurred_at": "2025-06-01T10:00:00Z",
        "amount": "19.90",
        "currency": "EUR",
        **fields,
    }


def test_valid_events_are_stored_and_each_invalid_one_names_its_fields(marketer_a, people):
    # Given a batch mixing valid items with items that are wrong in different ways
    ada, grace = people["ada"], people["grace"]
    two_days_ahead = (timezone.now() + dt.timedelta(days=2)).isoformat()
    items = [
        event({"customer_id": ada.pk}, "e-1", properties={"path": "/pricing"}),
        event({"customer_id": ada.pk}, type="Page View", occurred_at="2025-06-01 10:00:00"),
        event(
            {"external_id": "S-2", "channel": "SHOP"},
            type="signup",
            occurred_at="2025-06-01T18:00:00+08:00",
        ),
        event({"email": "ada@example.com"}, occurred_at=two_days_ahead, properties=["a", "b"]),
        event({"email": " ADA@Example.COM "}, type="checkout:start", properties={"cart": 3}),
        event({}),
        event({"customer_id": ada.pk}, properties={"blob": "x" * 16_384}),
        {"external_id": "S-1", "channel": "shop", "typ": "page_view", "occurred_at": "noon"},
        "not an object",
    ]

    # When they are posted
    response = token_client(marketer_a).post(EVENTS, {"items": items}, format="json")

    # Then the valid ones are stored and every item reports its own outcome
    assert response.status_code == 200
    results = response.json()["results"]
    stored = list(
        Event.objects.order_by("id").values_list(
            "id", "customer_id", "type", "occurred_at", "properties", "source", "client_id"
        )
    )
    assert [(row[1], row[2], row[3], row[4], row[5], row[6]) for row in stored] == [
        (
            ada.pk,
            "page_view",
            dt.datetime(2025, 6, 1, 10, tzinfo=UTC),
            {"path": "/pricing"},
            "api",
            "e-1",
        ),
        (grace.pk, "signup", dt.datetime(2025, 6, 1, 10, tzinfo=UTC), {}, "api", ""),
        (ada.pk, "checkout:start", dt.datetime(2025, 6, 1, 10, tzinfo=UTC), {"cart": 3}, "api", ""),
    ]
    ids = [row[0] for row in stored]
    type_rule = "1 to 64 characters: a-z, 0-9 and _ . : -"
    assert results == [
        {"index": 0, "status": "created", "id": ids[0], "errors": []},
        {
            "index": 1,
            "status": "rejected",
            "id": None,
            "errors": [
                {"field": "type", "message": type_rule},
                {"field": "occurred_at", "message": "Give the time zone, e.g. Z or +08:00."},
            ],
        },
        {"index": 2, "status": "created", "id": ids[1], "errors": []},
        {
            "index": 3,
            "status": "rejected",
            "id": None,
            "errors": [
                {"field": "occurred_at", "message": "More than a day in the future."},
                {"field": "properties", "message": "Expected a JSON object."},
            ],
        },
        {"index": 4, "status": "created", "id": ids[2], "errors": []},
        {
            "index": 5,
            "status": "rejected",
            "id": None,
            "errors": [{"field": "", "message": NO_CUSTOMER}],
        },
        {
            "index": 6,
            "status": "rejected",
            "id": None,
            "errors": [{"field": "properties", "message": "At most 16 KB of JSON."}],
        },
        {
            "index": 7,
            "status": "rejected",
            "id": None,
            "errors": [
                {"field": "type", "message": "This field is required."},
                {
                    "field": "occurred_at",
                    "message": "An ISO 8601 date and time, e.g. 2026-03-01T12:00:00Z.",
                },
                {"field": "typ", "message": "Unknown field."},
            ],
        },
        {
            "index": 8,
            "status": "rejected",
            "id": None,
            "errors": [{"field": "", "message": "Expected an object."}],
        },
    ]


def test_valid_purchases_are_stored_and_each_invalid_one_names_its_fields(marketer_a, people):
    # Given purchases of Grace, some of them invalid
    grace = {"customer_id": people["grace"].pk}
    items = [
        purchase({"email": "grace@example.com"}, "O-1", quantity=2, items=[{"sku": "A"}]),
        purchase(
            grace,
            "O-2",
            amount="-1",
            currency="usd",
            quantity=0,
            items=[{"sku": "A"}, {"sku": "B"}, {"sku": "C"}, "D"],
        ),
        purchase(grace, "O-3", amount=10.999, currency="XYZ", items={"sku": "A"}),
        {**purchase(grace, ""), "order_reference": None},
        purchase(grace, "O-4", amount=5, currency="JPY"),
    ]

    # When they are posted
    response = token_client(marketer_a).post(PURCHASES, {"items": items}, format="json")

    # Then the two valid purchases are stored, the others say exactly what is wrong
    assert response.status_code == 200
    stored = list(
        Purchase.objects.order_by("id").values_list(
            "id", "customer_id", "order_reference", "amount", "currency", "quantity", "items"
        )
    )
    grace_id = people["grace"].pk
    assert [row[1:] for row in stored] == [
        (grace_id, "O-1", Decimal("19.90"), "EUR", 2, [{"sku": "A"}]),
        (grace_id, "O-4", Decimal("5.00"), "JPY", 1, []),
    ]
    currency_rule = "An ISO 4217 code in upper case, e.g. USD."
    assert response.json()["results"] == [
        {"index": 0, "status": "created", "id": stored[0][0], "errors": []},
        {
            "index": 1,
            "status": "rejected",
            "id": None,
            "errors": [
                {"field": "amount", "message": "Must not be negative."},
                {"field": "currency", "message": currency_rule},
                {"field": "quantity", "message": "A whole number of at least 1."},
                {"field": "items.3", "message": "Expected an object."},
            ],
        },
        {
            "index": 2,
            "status": "rejected",
            "id": None,
            "errors": [
                {"field": "amount", "message": "At most 2 decimal places."},
                {"field": "currency", "message": currency_rule},
                {"field": "items", "message": "Expected a list."},
            ],
        },
        {
            "index": 3,
            "status": "rejected",
            "id": None,
            "errors": [{"field": "order_reference", "message": "This field is required."}],
        },
        {"index": 4, "status": "created", "id": stored[1][0], "errors": []},
    ]


def test_values_postgresql_cannot_store_are_rejected_item_by_item(team_a, people):
    # Given items whose values would break the one insert statement of their batch
    ada = {"customer_id": people["ada"].pk}
    tricky_text = 'say "hi" \\ {1,2} 王秀华 🎉'
    events = [
        event({"customer_id": 2**63}),
        event({"external_id": "S\x001", "channel": "shop"}),
        event(ada, "e\x00"),
        event(ada, properties={"text": "a\x00b"}),
        event(ada, properties={"ratio": float("nan")}),
        event(ada, "ok", properties={"text": tricky_text, "nested": {"list": [1, None, True]}}),
    ]
    purchases = [
        purchase(ada, "O-1", amount="1e30"),
        purchase(ada, "O-2", amount="NaN", quantity=2**31),
        purchase(ada, "O-3", amount=True, quantity="2"),
    ]

    # When they are ingested through the services
    event_results = events_ingest(actor=None, team=team_a, items=events)
    purchase_results = purchases_ingest(actor=None, team=team_a, items=purchases)

    # Then each is rejected on its own and the good event is stored exactly
    whole_number = {"field": "quantity", "message": "A whole number of at least 1."}
    assert [(r.status, r.errors) for r in event_results] == [
        ("rejected", [{"field": "customer_id", "message": "A customer id is a whole number."}]),
        ("rejected", [{"field": "external_id", "message": "1 to 128 characters."}]),
        ("rejected", [{"field": "client_id", "message": "1 to 128 characters."}]),
        ("rejected", [{"field": "properties", "message": "Not storable as JSON."}]),
        ("rejected", [{"field": "properties", "message": "Not storable as JSON."}]),
        ("created", []),
    ]
    assert Event.objects.get().properties == {
        "text": tricky_text,
        "nested": {"list": [1, None, True]},
    }
    assert [(r.status, r.errors) for r in purchase_results] == [
        ("rejected", [{"field": "amount", "message": "At most 9999999999.99."}]),
        (
            "rejected",
            [{"field": "amount", "message": "A decimal number, e.g. 19.90."}, whole_number],
        ),
        (
            "rejected",
            [{"field": "amount", "message": "A decimal number, e.g. 19.90."}, whole_number],
        ),
    ]
    assert not Purchase.objects.exists()


@pytest.mark.parametrize(
    "customer_id",
    ["\u00b2", "\uff11", "\u0663", "9" * 5_000],
    ids=["superscript", "fullwidth", "arabic-indic", "five-thousand-digits"],
)
def test_a_customer_id_is_read_in_ascii_digits_only(marketer_a, people, customer_id):
    # Given customer ids that int() reads as numbers, or fails on (never ASCII digits)
    client = token_client(marketer_a)

    # When they are sent, then each item is rejected on its own, naming the field
    response = client.post(EVENTS, {"items": [event({"customer_id": customer_id})]}, format="json")
    assert response.status_code == 200
    assert response.json()["results"] == [
        {
            "index": 0,
            "status": "rejected",
            "id": None,
            "errors": [{"field": "customer_id", "message": "A customer id is a whole number."}],
        }
    ]
    assert not Event.objects.exists()


def test_a_retried_batch_stores_nothing_twice_and_reports_duplicates(marketer_a, people):
    # Given a batch of events and one of purchases that were stored once
    client = token_client(marketer_a)
    ada = {"customer_id": people["ada"].pk}
    events = [event(ada, "e-1"), event(ada, "e-2", type="signup"), event(ada, "e-1")]
    purchases = [purchase(ada, "O-1"), purchase(ada, "O-2"), purchase(ada, "O-1")]
    first_events = client.post(EVENTS, {"items": events}, format="json").json()["results"]
    first_purchases = client.post(PURCHASES, {"items": purchases}, format="json").json()["results"]
    event_ids = sorted(Event.objects.values_list("id", flat=True))
    purchase_ids = sorted(Purchase.objects.values_list("id", flat=True))
    # (the repeated key inside one batch is a duplicate of the item before it)
    assert [(r["status"], r["id"]) for r in first_events] == [
        ("created", event_ids[0]),
        ("created", event_ids[1]),
        ("duplicate", event_ids[0]),
    ]
    assert [(r["status"], r["id"]) for r in first_purchases] == [
        ("created", purchase_ids[0]),
        ("created", purchase_ids[1]),
        ("duplicate", purchase_ids[0]),
    ]

    # When both batches are sent again
    again_events = client.post(EVENTS, {"items": events}, format="json").json()["results"]
    again_purchases = client.post(PURCHASES, {"items": purchases}, format="json").json()["results"]

    # Then nothing more is stored and every item is a duplicate of the row stored before
    assert sorted(Event.objects.values_list("id", flat=True)) == event_ids
    assert sorted(Purchase.objects.values_list("id", flat=True)) == purchase_ids
    assert [(r["status"], r["id"]) for r in again_events] == [
        ("duplicate", event_ids[0]),
        ("duplicate", event_ids[1]),
        ("duplicate", event_ids[0]),
    ]
    assert [(r["status"], r["id"]) for r in again_purchases] == [
        ("duplicate", purchase_ids[0]),
        ("duplicate", purchase_ids[1]),
        ("duplicate", purchase_ids[0]),
    ]
    # ... while the same client id from another source is another event
    other_source = {"items": [event(ada, "e-1")], "source": "web"}
    [result] = client.post(EVENTS, other_source, format="json").json()["results"]
    assert result["status"] == "created"
    assert Event.objects.get(pk=result["id"]).source == "web"


def test_customers_are_found_by_id_external_id_and_email_and_merges_are_followed(
    marketer_a, people
):
    # Given Grace was merged into Ada (Grace's id, shop id and email now lead to Ada)
    ada, grace = people["ada"], people["grace"]
    customer_merge(survivor=ada, merged=grace, reason="test")
    items = [
        event({"customer_id": ada.pk}, "by-id"),
        event({"external_id": " S-1 ", "channel": "shop"}, "by-external-id"),
        event({"email": "Ada@Example.com"}, "by-email"),
        event({"customer_id": str(grace.pk)}, "by-merged-id"),
        event({"external_id": "S-2", "channel": "shop"}, "by-merged-external-id"),
        event({"email": "grace@example.com"}, "by-merged-email"),
    ]

    # When events name them in every way
    response = token_client(marketer_a).post(EVENTS, {"items": items}, format="json")

    # Then every event belongs to the surviving profile, Ada
    assert [r["status"] for r in response.json()["results"]] == ["created"] * 6
    assert dict(Event.objects.values_list("client_id", "customer_id")) == {
        "by-id": ada.pk,
        "by-external-id": ada.pk,
        "by-email": ada.pk,
        "by-merged-id": ada.pk,
        "by-merged-external-id": ada.pk,
        "by-merged-email": ada.pk,
    }
    assert set(Event.objects.values_list("owner_team_id", flat=True)) == {ada.owner_team_id}


def test_another_teams_customer_is_unknown_exactly_like_a_missing_one(marketer_a, people, team_b):
    # Given Bob, a customer of team B with the same shop id as Ada of team A
    bob = people["bob"]
    client = token_client(marketer_a)
    items = [
        event({"customer_id": bob.pk}),
        event({"customer_id": 999_999_999}),
        event({"email": "bob@example.com"}),
        event({"email": "nobody@example.com"}),
        purchase({"customer_id": bob.pk}, "O-1"),
    ]

    # When a marketer of team A names him
    response = client.post(EVENTS, {"items": items[:4]}, format="json")
    purchase_response = client.post(PURCHASES, {"items": items[4:]}, format="json")
    shop_id = client.post(
        EVENTS, {"items": [event({"external_id": "S-1", "channel": "shop"})]}, format="json"
    )
    other_team = client.post(
        EVENTS, {"owner_team": team_b.pk, "items": [event({"customer_id": bob.pk})]}, format="json"
    )

    # Then Bob is as unknown as someone who does not exist; S-1 means Ada; team B is not found
    unknown = {"status": "rejected", "id": None}
    assert response.json()["results"] == [
        {"index": 0, **unknown, "errors": [{"field": "customer_id", "message": UNKNOWN_CUSTOMER}]},
        {"index": 1, **unknown, "errors": [{"field": "customer_id", "message": UNKNOWN_CUSTOMER}]},
        {"index": 2, **unknown, "errors": [{"field": "email", "message": UNKNOWN_CUSTOMER}]},
        {"index": 3, **unknown, "errors": [{"field": "email", "message": UNKNOWN_CUSTOMER}]},
    ]
    assert purchase_response.json()["results"] == [
        {"index": 0, **unknown, "errors": [{"field": "customer_id", "message": UNKNOWN_CUSTOMER}]}
    ]
    assert other_team.status_code == 404
    assert list(Event.objects.values_list("customer_id", flat=True)) == [people["ada"].pk]
    assert shop_id.json()["results"][0]["status"] == "created"
    assert not Event.objects.filter(customer=bob).exists()
    assert not Purchase.objects.exists()


def test_a_batch_of_1000_is_accepted_and_1001_is_a_400_naming_items(marketer_a, people):
    client = token_client(marketer_a)
    ada = {"customer_id": people["ada"].pk}

    # Given 1,001 events, then 1,000
    too_many = [event(ada, f"e-{index}") for index in range(1001)]

    # When they are posted
    refused = client.post(EVENTS, {"items": too_many}, format="json")
    refused_purchases = client.post(
        PURCHASES,
        {"items": [purchase(ada, f"O-{index}") for index in range(1001)]},
        format="json",
    )
    accepted = client.post(EVENTS, {"items": too_many[:1000]}, format="json")

    # Then the larger batches are refused whole, naming items; the limit itself is accepted
    assert refused.status_code == 400
    assert refused.json()["errors"] == [
        {
            "field": "items",
            "message": "Ensure this field has no more than 1000 elements.",
            "code": "max_length",
        }
    ]
    assert refused_purchases.status_code == 400
    assert refused_purchases.json()["errors"][0]["field"] == "items"
    assert not Purchase.objects.exists()
    assert accepted.status_code == 200
    assert Event.objects.count() == 1000


@pytest.mark.parametrize("url", [EVENTS, PURCHASES], ids=["events", "purchases"])
def test_without_a_token_reads_and_writes_are_401(url, people):
    client = APIClient()
    assert client.get(url).status_code == 401
    response = client.post(
        url, {"items": [event({"customer_id": people["ada"].pk})]}, format="json"
    )
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "not_authenticated"
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("url", "item"),
    [
        (EVENTS, event({"email": "ada@example.com"})),
        (PURCHASES, purchase({"email": "ada@example.com"}, "O-1")),
    ],
    ids=["events", "purchases"],
)
def test_an_analyst_may_read_but_not_ingest(url, item, make_user, team_a, people):
    # Given an analyst of team A (view permissions only)
    client = token_client(make_user(roles.ANALYST, team_a))

    # When the analyst posts a batch, then lists
    response = client.post(url, {"items": [item]}, format="json")
    listed = client.get(url)

    # Then the post is refused and nothing is stored; reading is allowed
    assert response.status_code == 403
    assert not Event.objects.exists()
    assert not Purchase.objects.exists()
    assert listed.status_code == 200
    assert listed.json()["results"] == []


def test_lists_show_only_the_teams_rows_and_filter_by_customer_type_and_time(
    marketer_a, make_user, team_b, people
):
    # Given events and purchases of both teams
    ada, grace, bob = people["ada"], people["grace"], people["bob"]
    client_a = token_client(marketer_a)
    client_b = token_client(make_user(roles.MARKETER, team_b))
    client_a.post(
        EVENTS,
        {
            "items": [
                event({"customer_id": ada.pk}, "a1", occurred_at="2025-01-10T00:00:00Z"),
                event({"customer_id": ada.pk}, "a2", type="signup"),
                event({"customer_id": grace.pk}, "g1", occurred_at="2025-03-10T00:00:00Z"),
            ]
        },
        format="json",
    )
    client_a.post(PURCHASES, {"items": [purchase({"customer_id": grace.pk}, "O-1")]}, format="json")
    client_b.post(EVENTS, {"items": [event({"customer_id": bob.pk}, "b1")]}, format="json")
    client_b.post(PURCHASES, {"items": [purchase({"customer_id": bob.pk}, "O-1")]}, format="json")
    bob_event = Event.objects.get(customer=bob)

    def client_ids(client, query=""):
        return [row["client_id"] for row in client.get(f"{EVENTS}{query}").json()["results"]]

    # When team A lists and filters; Then it sees its own rows only, newest first
    assert client_ids(client_a) == ["g1", "a2", "a1"]
    assert client_ids(client_a, f"?customer={ada.pk}") == ["a2", "a1"]
    assert client_ids(client_a, f"?customer={bob.pk}") == []
    assert client_ids(client_a, "?type=page_view") == ["g1", "a1"]
    window = "?occurred_after=2025-01-01T00:00:00Z&occurred_before=2025-06-01T00:00:00Z"
    assert client_ids(client_a, window) == ["g1", "a1"]
    assert client_ids(client_b) == ["b1"]
    purchases = client_a.get(PURCHASES).json()["results"]
    assert [(row["customer"], row["order_reference"], row["amount"]) for row in purchases] == [
        (grace.pk, "O-1", "19.90")
    ]
    assert client_a.get(f"{EVENTS}{bob_event.pk}/").status_code == 404
    assert client_b.get(f"{EVENTS}{bob_event.pk}/").json()["customer"] == bob.pk
    page = client_a.get(f"{EVENTS}?page_size=2").json()
    assert [row["client_id"] for row in page["results"]] == ["g1", "a2"]
    assert [row["client_id"] for row in client_a.get(page["next"]).json()["results"]] == ["a1"]


def test_each_batch_writes_one_audit_entry_with_counts_only(marketer_a, people):
    # Given a batch of two valid purchases and one rejected, sent twice
    client = token_client(marketer_a)
    items = [
        purchase({"email": "ada@example.com"}, "O-1"),
        purchase({"email": "ada@example.com"}, "O-2"),
        purchase({"email": "ada@example.com"}, "O-3", currency="Euro"),
    ]
    client.post(PURCHASES, {"items": items}, format="json")
    client.post(PURCHASES, {"items": items}, format="json")

    # Then each batch is one audit entry holding counts, no personal value
    entries = AuditEntry.objects.filter(action="purchase.ingest").order_by("id")
    assert [(entry.actor_id, entry.object_type, entry.metadata) for entry in entries] == [
        (
            marketer_a.pk,
            "privacy.team",
            {"source": "api", "created": 2, "duplicate": 0, "rejected": 1},
        ),
        (
            marketer_a.pk,
            "privacy.team",
            {"source": "api", "created": 0, "duplicate": 2, "rejected": 1},
        ),
    ]
    assert "ada@example.com" not in json.dumps([entry.metadata for entry in entries])


def _mixed_batch(team, size: int, prefix: str) -> list[dict]:
    """``size`` events, each for its own new customer, named by id, shop id or email in turn."""
    results = customers_upsert_items(
        actor=None,
        team=team,
        items=[
            {
                "email": f"{prefix}{index}@example.com",
                "external_ids": [{"channel": "shop", "id": f"{prefix}-{index}"}],
            }
            for index in range(size)
        ],
    )
    references = []
    for index, result in enumerate(results):
        references.append(
            [
                {"customer_id": result.customer_id},
                {"external_id": f"{prefix}-{index}", "channel": "shop"},
                {"email": f"{prefix}{index}@example.com"},
            ][index % 3]
        )
    return [event(reference, f"{prefix}-{index}") for index, reference in enumerate(references)]


def test_a_batch_costs_the_same_queries_for_10_and_500_items(
    marketer_a, team_a, django_assert_num_queries
):
    # Given batches of 10 and 500 events of as many customers, named in all three ways
    client = token_client(marketer_a)
    client.get(EVENTS)  # the token's first use notes it, once
    small, large = _mixed_batch(team_a, 10, "small"), _mixed_batch(team_a, 500, "large")

    # When each is posted, then one of them again
    # Then: token + user, role permissions (2), team, savepoint, customers (one query for
    # every reference), the suppression list, insert, audit entry, release savepoint; a retry
    # looks up duplicates.
    with django_assert_num_queries(10):
        small_response = client.post(EVENTS, {"items": small}, format="json")
    with django_assert_num_queries(10):
        large_response = client.post(EVENTS, {"items": large}, format="json")
    with django_assert_num_queries(11):
        retry = client.post(EVENTS, {"items": large}, format="json")
    assert [r["status"] for r in small_response.json()["results"]] == ["created"] * 10
    assert [r["status"] for r in large_response.json()["results"]] == ["created"] * 500
    assert [r["status"] for r in retry.json()["results"]] == ["duplicate"] * 500
    assert Event.objects.count() == 510


def test_the_schema_documents_the_endpoints(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    validate(schema)
    for path in ("/api/v1/events/", "/api/v1/purchases/"):
        operations = schema["paths"][path]
        assert set(operations) == {"get", "post"}
        assert set(operations["post"]["responses"]) == {"200", "400", "401", "403", "404", "429"}
        assert operations["post"]["responses"]["200"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/IngestResponse"
        }
    item = schema["components"]["schemas"]["PurchaseItemRequest"]
    assert item["required"] == ["amount", "currency", "occurred_at", "order_reference"]
