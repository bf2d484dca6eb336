"""Writable API fields are explicit: owner, team, staff flags, merges and metrics cannot be sent.

What each writable endpoint does with a field it does not write, exactly:

- ``POST customers/`` and ``POST customers/upsert/`` (and each upsert item): ignored; the stored
  customer shows the service's values;
- ``PATCH``/``PUT customers/<pk>/``: 400 naming each such field; nothing changes;
- ``POST imports/``: ignored; the job is the caller's, pending, with zero counts;
- ``POST events/``, ``POST purchases/``: ignored at the batch level; inside an item, the item is
  rejected with one "Unknown field." per field and nothing is stored;
- ``owner_team`` of another team, anywhere it is accepted: 404 with the very body a team that
  does not exist gets, and nothing is stored.
"""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from customers.models import Customer, Event, ImportJob, ImportStatus, Purchase
from customers.services.customers import customers_upsert_items
from privacy.models import AuditEntry
from tests.factories import api_token_for

# Fields of a customer that only services write. Sent to create or upsert, they are ignored.
SERVICE_WRITTEN = {
    "id": 999_999,
    "merged_into": None,  # replaced by the other team's customer in each test
    "rfm_group": "champions",
    "rfm_recency": 5,
    "rfm_frequency": 5,
    "rfm_monetary": 5,
    "order_count": 99,
    "total_spend": "1000.00",
    "average_order_value": "10.00",
    "lifetime_value": "5000.00",
    "first_purchase_at": "2020-01-01T00:00:00Z",
    "last_purchase_at": "2020-01-02T00:00:00Z",
    "metrics_updated_at": "2020-01-02T00:00:00Z",
    "email_domain": "attacker.example",
    "age_band": "18-24",
    "name_index": ["forged"],
    "provenance": {"email": ["crm", "2000-01-01T00:00:00Z"]},
    "created_at": "2000-01-01T00:00:00Z",
    "updated_at": "2000-01-01T00:00:00Z",
    # staff flags: a customer has none, and the caller's own account is not touched
    "is_staff": True,
    "is_superuser": True,
    "is_active": False,
}


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
    return client


@pytest.fixture
def people(marketer_a, team_a, team_b):
    customers_upsert_items(
        actor=marketer_a,
        team=team_a,
        items=[{"email": "ann@example.com", "given_name": "Ann", "country": "DE"}],
    )
    customers_upsert_items(
        actor=marketer_a, team=team_b, items=[{"email": "bob@example.com", "given_name": "Bob"}]
    )
    return {
        "ann": Customer.objects.get(owner_team=team_a),
        "bob": Customer.objects.get(owner_team=team_b),
    }


def forged(people) -> dict:
    return {**SERVICE_WRITTEN, "merged_into": people["bob"].pk}


def stored_state(customer: Customer) -> dict:
    customer.refresh_from_db()
    return {
        field.name: getattr(customer, field.attname) for field in Customer._meta.concrete_fields
    }


def assert_service_fields_untouched(customer: Customer, team) -> None:
    customer.refresh_from_db()
    assert customer.pk != SERVICE_WRITTEN["id"]
    assert customer.owner_team == team
    assert customer.merged_into_id is None
    assert (customer.rfm_group, customer.rfm_recency, customer.rfm_frequency) == ("", None, None)
    assert (customer.order_count, customer.total_spend) == (0, 0)
    assert (customer.average_order_value, customer.lifetime_value) == (None, None)
    assert (customer.first_purchase_at, customer.last_purchase_at) == (None, None)
    assert customer.metrics_updated_at is None
    assert customer.email_domain == customer.email.rsplit("@", 1)[1]
    assert "forged" not in customer.name_index
    assert customer.attributes == {}
    assert customer.created_at > timezone.now() - timedelta(minutes=5)


def assert_caller_unchanged(user) -> None:
    user.refresh_from_db()
    assert (user.is_staff, user.is_superuser, user.is_active) == (True, False, True)


def not_found_body(client, path: str, payload: dict, **kwargs) -> dict:
    """The answer for a team that does not exist, to compare with another team's."""
    response = client.post(path, {**payload, "owner_team": 2_147_483_000}, **kwargs)
    assert response.status_code == 404
    return response.json()


# --- Customers: create, upsert, correct, merge --------------------------------------------------


def test_create_ignores_every_field_only_services_write(marketer_a, team_a, people):
    # When a marketer creates a customer and sends the service-written fields along
    payload = {"email": "new@example.com", "given_name": "New", **forged(people)}
    response = token_client(marketer_a).post("/api/v1/customers/", payload, format="json")

    # Then the customer is created in the marketer's team, and every such field was ignored
    assert response.status_code == 201, response.json()
    created = Customer.objects.get(pk=response.json()["customer_id"])
    assert (created.email, created.given_name) == ("new@example.com", "New")
    assert_service_fields_untouched(created, team_a)
    assert_caller_unchanged(marketer_a)


def test_create_for_another_team_is_not_found_and_stores_nothing(marketer_a, team_b, people):
    client = token_client(marketer_a)
    payload = {"email": "new@example.com"}
    before = Customer.objects.count()

    response = client.post(
        "/api/v1/customers/", {**payload, "owner_team": team_b.pk}, format="json"
    )

    assert response.status_code == 404
    assert response.json() == not_found_body(client, "/api/v1/customers/", payload, format="json")
    assert Customer.objects.count() == before


def test_upsert_ignores_service_fields_and_an_items_own_owner_team(
    marketer_a, team_a, team_b, people
):
    # Given Ann of team A
    ann = people["ann"]

    # When a batch for team A updates Ann and creates Cleo, each item naming team B and
    # carrying the service-written fields
    items = [
        {"email": "ann@example.com", "city": "Berlin", **forged(people), "owner_team": team_b.pk},
        {"email": "cleo@example.com", **forged(people), "owner_team": team_b.pk},
    ]
    response = token_client(marketer_a).post(
        "/api/v1/customers/upsert/", {"owner_team": team_a.pk, "items": items}, format="json"
    )

    # Then Ann's city changed and nothing else; Cleo is team A's; team B gained nobody
    assert response.status_code == 200, response.json()
    assert [result["status"] for result in response.json()["results"]] == ["updated", "created"]
    ann.refresh_from_db()
    assert ann.city == "Berlin"
    assert_service_fields_untouched(ann, team_a)
    cleo = Customer.objects.get(pk=response.json()["results"][1]["customer_id"])
    assert_service_fields_untouched(cleo, team_a)
    assert list(Customer.objects.filter(owner_team=team_b)) == [people["bob"]]
    assert_caller_unchanged(marketer_a)


def test_upsert_for_another_team_is_not_found_and_stores_nothing(marketer_a, team_b, people):
    client = token_client(marketer_a)
    payload = {"items": [{"email": "new@example.com"}]}
    before = Customer.objects.count()

    response = client.post(
        "/api/v1/customers/upsert/", {**payload, "owner_team": team_b.pk}, format="json"
    )

    assert response.status_code == 404
    assert response.json() == not_found_body(
        client, "/api/v1/customers/upsert/", payload, format="json"
    )
    assert Customer.objects.count() == before


@pytest.mark.parametrize("method", ["patch", "put"])
@pytest.mark.parametrize(
    "field", [*(name for name in SERVICE_WRITTEN if name != "id"), "owner_team", "pk"]
)
def test_correcting_a_service_field_is_a_400_naming_it_and_changes_nothing(
    marketer_a, team_b, people, method, field
):
    # Given Ann as stored
    ann = people["ann"]
    before = stored_state(ann)
    value = {"owner_team": team_b.pk, "merged_into": people["bob"].pk}.get(
        field, SERVICE_WRITTEN.get(field, 1)
    )

    # When a marketer sends that field, with a legitimate change beside it
    response = getattr(token_client(marketer_a), method)(
        f"/api/v1/customers/{ann.pk}/", {"city": "Paris", field: value}, format="json"
    )

    # Then the request is refused naming exactly that field, and Ann is as she was
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": field, "message": "This field cannot be changed.", "code": "invalid"}
    ]
    assert stored_state(ann) == before
    assert_caller_unchanged(marketer_a)


def test_merging_another_teams_customer_is_not_found_and_changes_nothing(marketer_a, people):
    ann, bob = people["ann"], people["bob"]
    before = (stored_state(ann), stored_state(bob))

    response = token_client(marketer_a).post(
        f"/api/v1/customers/{ann.pk}/merge/", {"other": bob.pk}, format="json"
    )

    assert response.status_code == 404
    assert (stored_state(ann), stored_state(bob)) == before


# --- Imports ------------------------------------------------------------------------------------

IMPORT_FORGED = {
    "status": ImportStatus.SUCCEEDED,
    "created_by": None,  # another user's id in the test
    "original_filename": "someone-else.csv",
    "is_dry_run": "true",
    "total_rows": 10,
    "processed_rows": 10,
    "created_count": 10,
    "error": "forged",
    "started_at": "2020-01-01T00:00:00Z",
    "file": None,  # the upload
    "is_staff": "true",
}


def _upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("people.csv", b"email\nnew@example.com\n", content_type="text/csv")


def test_import_upload_ignores_fields_the_worker_writes(
    marketer_a, team_a, make_user, django_capture_on_commit_callbacks
):
    # When a marketer uploads a file and sends what the worker writes along with it
    other_user = make_user()
    payload = {**IMPORT_FORGED, "created_by": other_user.pk, "file": _upload()}
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = token_client(marketer_a).post("/api/v1/imports/", payload, format="multipart")

    # Then the job is the marketer's, waiting for the worker, with nothing forged in it
    assert response.status_code == 201, response.json()
    job = ImportJob.objects.get(pk=response.json()["id"])
    assert (job.owner_team, job.created_by) == (team_a, marketer_a)
    assert (job.status, job.is_dry_run, job.original_filename) == (
        ImportStatus.PENDING,
        False,
        "people.csv",
    )
    assert (job.total_rows, job.processed_rows, job.created_count) == (0, 0, 0)
    assert (job.error, job.started_at) == ("", None)
    assert len(queued) == 1  # the run is queued once the upload is committed
    assert_caller_unchanged(marketer_a)


def test_import_upload_for_another_team_is_not_found_and_stores_nothing(marketer_a, team_b):
    client = token_client(marketer_a)

    response = client.post(
        "/api/v1/imports/", {"file": _upload(), "owner_team": team_b.pk}, format="multipart"
    )
    missing = client.post(
        "/api/v1/imports/", {"file": _upload(), "owner_team": 2_147_483_000}, format="multipart"
    )

    assert response.status_code == 404
    assert response.json() == missing.json()
    assert ImportJob.objects.count() == 0


# --- Events and purchases -----------------------------------------------------------------------

NOW = "2026-01-02T03:04:05Z"
INGEST = {
    "events": ({"type": "page_view", "occurred_at": NOW}, Event),
    "purchases": (
        {"order_reference": "SO-1", "occurred_at": NOW, "amount": "9.90", "currency": "EUR"},
        Purchase,
    ),
}
ROW_FORGED = {"id": 999_999, "owner_team": None, "customer": None, "received_at": NOW}


@pytest.mark.parametrize("kind", INGEST)
def test_ingest_rejects_an_item_naming_each_field_it_may_not_send(marketer_a, team_b, people, kind):
    # When a batch item names its customer correctly but also sets the stored row's own fields
    item, model = INGEST[kind]
    forged_item = {
        **item,
        "customer_id": people["ann"].pk,
        **ROW_FORGED,
        "owner_team": team_b.pk,
        "customer": people["bob"].pk,
    }
    response = token_client(marketer_a).post(
        f"/api/v1/{kind}/", {"items": [forged_item]}, format="json"
    )

    # Then that item is rejected with one error per such field, and nothing is stored
    assert response.status_code == 200, response.json()
    [result] = response.json()["results"]
    assert result["status"] == "rejected"
    assert result["id"] is None
    assert result["errors"] == [
        {"field": name, "message": "Unknown field."}
        for name in ("id", "owner_team", "customer", "received_at")
    ]
    assert model.objects.count() == 0


@pytest.mark.parametrize("kind", INGEST)
def test_ingest_ignores_unknown_batch_fields_and_stores_in_the_callers_team(
    marketer_a, team_a, people, kind
):
    item, model = INGEST[kind]
    response = token_client(marketer_a).post(
        f"/api/v1/{kind}/",
        {"items": [{**item, "customer_id": people["ann"].pk}], "is_staff": True, "team": 1},
        format="json",
    )

    assert response.status_code == 200, response.json()
    [result] = response.json()["results"]
    assert result["status"] == "created"
    stored = model.objects.get(pk=result["id"])
    assert (stored.owner_team, stored.customer) == (team_a, people["ann"])
    assert_caller_unchanged(marketer_a)


@pytest.mark.parametrize("kind", INGEST)
def test_ingest_for_another_team_or_its_customer_stores_nothing(marketer_a, team_b, people, kind):
    client = token_client(marketer_a)
    item, model = INGEST[kind]
    audit_before = AuditEntry.objects.count()

    # A batch for team B is not found, like a team that does not exist; only the refusal of the
    # existing team is audited
    batch = {"items": [{**item, "customer_id": people["bob"].pk}]}
    response = client.post(f"/api/v1/{kind}/", {**batch, "owner_team": team_b.pk}, format="json")
    assert response.status_code == 404
    assert response.json() == not_found_body(client, f"/api/v1/{kind}/", batch, format="json")
    assert AuditEntry.objects.count() == audit_before + 1
    refusal = AuditEntry.objects.get(action="access.denied")
    assert (refusal.object_type, refusal.object_id) == ("privacy.team", str(team_b.pk))

    # And team B's customer in a batch of the caller's own team is "unknown"
    response = client.post(f"/api/v1/{kind}/", batch, format="json")
    assert response.status_code == 200
    [result] = response.json()["results"]
    assert (result["status"], result["errors"]) == (
        "rejected",
        [{"field": "customer_id", "message": "Unknown customer."}],
    )
    assert model.objects.count() == 0
