"""A NUL character in any parameter, or a lone surrogate in a JSON string, is a 400 naming the
parameter: never a 500 from PostgreSQL, which stores neither, and never a stored value."""

import json
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from customers.models import Customer, Event, ImportJob, Purchase
from customers.services.customers import customers_upsert_items
from privacy.core import roles

NULL_MESSAGE = "Null characters are not allowed."

# Every door that puts a query parameter into SQL, by (address, parameter named in the 400).
STAFF_DOORS = {
    "admin-list-filter": ("/admin/customers/customer/?source_channel=%00", "source_channel"),
    "admin-list-filter-of-events": ("/admin/customers/event/?type=%00", "type"),
    "admin-audit-filter": ("/admin/privacy/auditentry/?action=%00", "action"),
    "admin-search": ("/admin/customers/customer/?q=%00", "q"),
    "customer-search": ("/customers/?q=ann%00", "q"),
    "customer-filter": ("/customers/?country=%00", "country"),
    "customer-export": ("/customers/export/?source=%00", "source"),
    "import-list": ("/customers/imports/?page=%00", "page"),
    "audit-search": ("/privacy/audit/?actor=%00", "actor"),
    "request-list": ("/privacy/requests/?status=%00", "status"),
    "parameter-name": ("/customers/?coun%00try=DE", "coun\\x00try"),
}
API_DOORS = {
    "customer-filter": ("/api/v1/customers/?source=%00", "source"),
    "customer-search": ("/api/v1/customers/?name=%00", "name"),
    "event-filter": ("/api/v1/events/?type=%00", "type"),
    "purchase-filter": ("/api/v1/purchases/?order_reference=%00", "order_reference"),
    "audit-log-filter": ("/api/v1/audit-log/?object_id=%00", "object_id"),
    "consent-filter": ("/api/v1/consents/?purpose=%00", "purpose"),
    "request-search": ("/api/v1/privacy/requests/?search=%00", "search"),
    "pagination-cursor": ("/api/v1/customers/?cursor=%00", "cursor"),
}


@pytest.fixture
def administrator(make_user, team_a):
    return make_user(roles.ADMINISTRATOR, team_a)


@pytest.fixture
def api(token_client, administrator):
    return token_client(administrator)


@pytest.fixture
def ann(team_a):
    [result] = customers_upsert_items(
        actor=None,
        team=team_a,
        items=[{"email": "ann@example.com", "external_ids": [{"channel": "shop", "id": "S-1"}]}],
    )
    return Customer.objects.get(pk=result.customer_id)


def api_error(field: str, message: str = NULL_MESSAGE, code="null_characters_not_allowed"):
    return {
        "detail": "Invalid input.",
        "errors": [{"field": field, "message": message, "code": code}],
    }


@pytest.mark.parametrize(("url", "name"), STAFF_DOORS.values(), ids=STAFF_DOORS.keys())
def test_a_nul_character_in_a_staff_page_parameter_is_a_400_naming_it(
    verified_client, administrator, url, name
):
    response = verified_client(administrator).get(url)
    assert response.status_code == 400
    page = response.content.decode()
    assert f"“{name}” holds a NUL character" in page
    assert "This request cannot be answered" in page


def test_a_nul_character_in_a_posted_form_is_a_400_and_changes_nothing(
    verified_client, administrator, ann
):
    # Given the admin's customer list, when an action is posted for a "selected" NUL
    response = verified_client(administrator).post(
        "/admin/customers/customer/",
        urlencode({"action": "delete_selected", "_selected_action": "\x00", "post": "yes"}),
        content_type="application/x-www-form-urlencoded",
    )

    # Then it is refused, naming the field, and nothing is erased
    assert response.status_code == 400
    assert "“_selected_action” holds a NUL character" in response.content.decode()
    assert Customer.objects.filter(pk=ann.pk).exists()


def test_a_nul_character_in_a_staff_form_with_a_file_is_a_400(verified_client, administrator):
    response = verified_client(administrator).post(
        "/customers/imports/new/",
        {"file": SimpleUploadedFile("people.csv", b"email\nann@example.com\n"), "kind": "\x00"},
    )
    assert response.status_code == 400
    assert "“kind” holds a NUL character" in response.content.decode()


@pytest.mark.parametrize(("url", "name"), API_DOORS.values(), ids=API_DOORS.keys())
def test_a_nul_character_in_an_api_parameter_is_a_400_naming_it(api, url, name):
    response = api.get(url)
    assert response.status_code == 400
    assert response.json() == api_error(name)


def test_a_nul_character_in_the_timeline_cursor_is_a_400_naming_it(api, ann):
    response = api.get(f"/api/v1/customers/{ann.pk}/timeline/?cursor=%00")
    assert response.status_code == 400
    assert response.json() == api_error("cursor")


def event(**fields) -> dict:
    return {"external_id": "S-1", "channel": "shop", "type": "page_view", **fields} | {
        "occurred_at": "2025-06-01T10:00:00Z"
    }


def purchase(**fields) -> dict:
    return {
        "external_id": "S-1",
        "channel": "shop",
        "order_reference": "SO-1",
        "occurred_at": "2025-06-01T10:00:00Z",
        "amount": "10.00",
        "currency": "EUR",
        **fields,
    }


SURROGATE = "\ud800"
JSON_DOORS = {
    "event-property-nul": (
        "/api/v1/events/",
        {"items": [event(), event(properties={"note": "a\x00b"})]},
        "items.1.properties.note",
        "\x00",
    ),
    "event-property-key-nul": (
        "/api/v1/events/",
        {"items": [event(properties={"no\x00te": "x"})]},
        "items.0.properties.no\\x00te",
        "\x00",
    ),
    "event-property-surrogate": (
        "/api/v1/events/",
        {"items": [event(properties={"note": SURROGATE})]},
        "items.0.properties.note",
        SURROGATE,
    ),
    "event-external-id-surrogate": (
        "/api/v1/events/",
        {"items": [event(external_id=SURROGATE)]},
        "items.0.external_id",
        SURROGATE,
    ),
    "event-client-id-nul": (
        "/api/v1/events/",
        {"items": [event(client_id="c\x00")]},
        "items.0.client_id",
        "\x00",
    ),
    "purchase-reference-surrogate": (
        "/api/v1/purchases/",
        {"items": [purchase(order_reference=f"SO{SURROGATE}")]},
        "items.0.order_reference",
        SURROGATE,
    ),
    "purchase-line-nul": (
        "/api/v1/purchases/",
        {"items": [purchase(items=[{"sku": "A\x00"}])]},
        "items.0.items.0.sku",
        "\x00",
    ),
    "upsert-attribute-nul": (
        "/api/v1/customers/upsert/",
        {"items": [{"email": "bob@example.com", "attributes": {"size": "\x00"}}]},
        "items.0.attributes.size",
        "\x00",
    ),
    "upsert-name-surrogate": (
        "/api/v1/customers/upsert/",
        {"items": [{"email": "bob@example.com", "given_name": SURROGATE}]},
        "items.0.given_name",
        SURROGATE,
    ),
    "consent-evidence-nul": (
        "/api/v1/consents/",
        {"evidence": {"form": "\x00"}},
        "evidence.form",
        "\x00",
    ),
}


@pytest.mark.parametrize(
    ("url", "body", "field", "character"), JSON_DOORS.values(), ids=JSON_DOORS.keys()
)
def test_a_nul_or_lone_surrogate_in_a_json_string_is_a_400_naming_it(
    api, ann, url, body, field, character
):
    # Given a batch whose string holds a NUL or a lone surrogate (valid JSON: \u0000, \ud800)
    raw = json.dumps(body).encode()

    # When it is posted
    response = api.post(url, data=raw, content_type="application/json")

    # Then it is refused naming where, and nothing of the batch is stored
    if character == "\x00":
        assert response.json() == api_error(field)
    else:
        assert response.json() == api_error(
            field,
            "Surrogate characters are not allowed: U+D800.",
            "surrogate_characters_not_allowed",
        )
    assert response.status_code == 400
    assert (Event.objects.count(), Purchase.objects.count(), Customer.objects.count()) == (0, 0, 1)


@pytest.mark.parametrize("value", ["\\u0000", "\\ud800"], ids=["nul", "surrogate"])
def test_an_import_mapping_with_a_nul_or_lone_surrogate_is_a_400(api, value):
    response = api.post(
        "/api/v1/imports/",
        {
            "file": SimpleUploadedFile("people.csv", b"email,name\nann@example.com,Ann\n"),
            "mapping": '{"email": "email", "name": "' + value + '"}',
        },
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "mapping.name"
    assert ImportJob.objects.count() == 0
