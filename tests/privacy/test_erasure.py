"""Erasure of a data subject: everything personal goes, suppression and audit stay, in a
constant number of queries, and ``privacy_scan`` finds nothing afterwards."""

import json
from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext
from guardian.shortcuts import assign_perm
from rest_framework.test import APIClient

from customers.models import (
    Customer,
    DuplicateCandidate,
    Event,
    Identity,
    ImportRow,
    MergeRecord,
    Purchase,
    RowOutcome,
)
from customers.normalisation import normalise_customer_row
from customers.services.customers import customers_upsert_items
from customers.services.imports import import_job_create, import_job_run
from customers.services.merge import customer_merge
from customers.services.suppression import SUPPRESSED, records_suppressed
from privacy.core import roles
from privacy.core.crypto import blind_index
from privacy.erasure.services.erasure import subject_erase
from privacy.models import AuditEntry, ConsentEvent, ConsentPurpose, Suppression
from tests.customers.factories import CustomerFactory, EventFactory, PurchaseFactory
from tests.factories import api_token_for

EMAIL = "jane.quixote@example.org"
WORK_EMAIL = "jq@work.example"
PHONE = "+4915123450001"
NAME = "Jane Quixote"
SCAN = ["--email", EMAIL, "--email", WORK_EMAIL, "--phone", PHONE, "--name", NAME]
FILE = (
    b"email,phone,first name,last name,country\n"
    b"Jane.Quixote@Example.org,+49 151 23450001,Jane,Quixote,DE\n"
    b"otto.normal@example.com,+49 151 23459999,Otto,Normal,DE\n"
)


def scan(*values: str) -> tuple[int, str]:
    """Run ``privacy_scan``; its exit status and what it printed."""
    out, err = _Stream(), _Stream()
    try:
        call_command("privacy_scan", *values, stdout=out, stderr=err)
    except CommandError as error:
        return error.returncode, out.text
    return 0, out.text


class _Stream:
    def __init__(self) -> None:
        self.text = ""

    def write(self, value: str) -> None:
        self.text += value

    def flush(self) -> None:
        pass


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def run_import(user, team, content: bytes, capture, *, keep_file: bool = False):
    with capture(execute=False):
        job = import_job_create(
            user=user,
            team=team,
            upload=SimpleUploadedFile("crm.csv", content),
            options={"keep_file": True} if keep_file else {},
        )
    with capture(execute=False) as callbacks:
        job = import_job_run(job_id=job.pk)
    # What the job defers to commit, but queueing tasks: the file goes unless it is kept.
    for callback in callbacks:
        if "delay" not in callback.__code__.co_names:
            callback()
    return job


@pytest.fixture
def keep_file() -> bool:
    """Whether Jane's file was kept at upload (by default it is deleted after the import)."""
    return False


@pytest.fixture
def jane(team_a, marketer_a, media, keep_file, django_capture_on_commit_callbacks):
    """Jane, as the product holds a person: imported from a file, a second profile merged into
    hers, behaviour, a purchase, a duplicate pair, a consent with proof, a per-customer grant."""
    job = run_import(
        marketer_a, team_a, FILE, django_capture_on_commit_callbacks, keep_file=keep_file
    )
    customer = Customer.objects.get(identities__lookup_key=blind_index(EMAIL, purpose="email"))
    otto = Customer.objects.exclude(pk=customer.pk).get()
    [work] = customers_upsert_items(
        actor=marketer_a, team=team_a, items=[{"email": WORK_EMAIL, "given_name": "J."}]
    )
    customer_merge(
        survivor=customer, merged=Customer.objects.get(pk=work.customer_id), reason="staff"
    )
    EventFactory.create_batch(2, customer=customer)
    EventFactory(customer=customer, type="form_submit", properties={"form_email": EMAIL})
    PurchaseFactory(customer=customer)
    first, second = sorted([customer.pk, otto.pk])
    DuplicateCandidate.objects.create(
        owner_team=team_a, first_id=first, second_id=second, reason="name"
    )
    ConsentEvent.objects.create(
        owner_team=team_a,
        customer_id=customer.pk,
        subject_key=blind_index(EMAIL, purpose="email"),
        purpose=ConsentPurpose.objects.get(code="email_marketing"),
        channel="email",
        status="granted",
        source="form",
        evidence={"ip_address": "203.0.113.7", "user_agent": "Firefox/140"},
        occurred_at=datetime(2026, 1, 2, tzinfo=UTC),
    )
    assign_perm("customers.view_customer", marketer_a, customer)
    customer.refresh_from_db()
    return {"customer": customer, "tombstone_id": work.customer_id, "otto": otto, "job": job}


# Kept at upload: the erasure deletes the kept file that names her.
@pytest.mark.parametrize("keep_file", [True], ids=["file kept"])
def test_erasure_removes_the_person_and_the_scan_then_finds_nothing(
    jane, team_a, steward, media, django_capture_on_commit_callbacks
):
    # Given Jane's values are in the database, in keyed and in plain form
    status, output = scan(*SCAN)
    assert status == 1
    assert "FOUND  public.customers_identity.lookup_key: email (blind index)" in output
    assert "FOUND  public.customers_customer.name_index: name (blind index)" in output
    assert "FOUND  public.customers_event.properties: email (as given)" in output
    customer, job = jane["customer"], jane["job"]
    stored_file = media / job.file.name
    assert stored_file.exists()

    # When a data steward erases her
    with django_capture_on_commit_callbacks(execute=True):
        report = subject_erase(
            customer_ids=[customer.pk], team=team_a, actor=steward, reason="request"
        )

    # Then every row of hers is gone, the merged-away profile included
    assert report.customer_ids == sorted([customer.pk, jane["tombstone_id"]])
    assert report.counts == {
        "customers.event": 3,
        "customers.purchase": 1,
        "customers.identity": 3,  # her email and phone, and the merged profile's email
        "customers.import_row": 1,
        "customers.import_file": 1,
        "customers.duplicate_candidate": 1,
        "customers.merge_record": 1,
        "customers.object_permission": 1,
        "customers.customer": 2,
        "privacy.consent_event": 1,
        "privacy.data_subject_request": 0,
        "privacy.access_package": 0,
    }
    assert not Customer.objects.filter(pk__in=report.customer_ids).exists()
    assert not Event.objects.exists()
    assert not Purchase.objects.exists()
    assert not MergeRecord.objects.exists()
    assert not ConsentEvent.objects.exists()
    # ...the uploaded file that held her line is deleted, the job and Otto's line stay
    job.refresh_from_db()
    assert (job.file.name, stored_file.exists()) == ("", False)
    assert list(ImportRow.objects.values_list("line_number", "customer_id")) == [
        (3, jane["otto"].pk)
    ]
    assert Identity.objects.filter(customer=jane["otto"]).count() == 2
    # ...and the scan finds nothing but the suppression list's keyed hashes
    status, output = scan(*SCAN)
    assert status == 0, output
    assert "kept   public.privacy_suppression.lookup_key: email (blind index)" in output
    assert "kept   public.privacy_suppression.lookup_key: phone (blind index)" in output
    assert output.rstrip().endswith("Nothing found.")


def test_suppression_entries_hold_keyed_hashes_only(jane, team_a, steward):
    subject_erase(customer_ids=[jane["customer"].pk], team=team_a, actor=steward, reason="request")
    assert sorted(
        Suppression.objects.values_list("owner_team", "kind", "lookup_key", "reason")
    ) == sorted(
        [
            (team_a.pk, "email", blind_index(EMAIL, purpose="email"), "request"),
            (team_a.pk, "email", blind_index(WORK_EMAIL, purpose="email"), "request"),
            (team_a.pk, "phone", blind_index(PHONE, purpose="phone"), "request"),
        ]
    )


def test_the_audit_entry_has_ids_and_counts_and_no_personal_value(jane, team_a, steward):
    customer = jane["customer"]
    report = subject_erase(customer_ids=[customer.pk], team=team_a, actor=steward, reason="staff")
    entry = AuditEntry.objects.get(action="subject.erase")
    assert (entry.actor, entry.object_type, entry.object_id) == (
        steward,
        "privacy.team",
        str(team_a.pk),
    )
    assert entry.metadata == {
        "customer_ids": [customer.pk],
        "erased_customer_ids": report.customer_ids,
        "counts": report.counts,
        "suppressions_added": 3,
        "already_erased": False,
        "reason": "staff",
        "data_subject_request": None,
        "erasure_reference": report.erasure_reference,
        "notified_webhooks": [],  # the team has no erasure webhook
    }
    stored = json.dumps(entry.metadata, ensure_ascii=False).lower()
    for value in (EMAIL, WORK_EMAIL, PHONE, "jane", "quixote", blind_index(EMAIL, purpose="email")):
        assert value not in stored


def test_erasing_again_changes_nothing_and_is_audited_as_already_erased(jane, team_a, steward):
    customer = jane["customer"]
    subject_erase(customer_ids=[customer.pk], team=team_a, actor=steward, reason="request")
    suppressions = list(Suppression.objects.values_list("pk", "created_at"))

    again = subject_erase(customer_ids=[customer.pk], team=team_a, actor=steward, reason="request")

    assert (again.customer_ids, again.counts, again.suppressions_added) == ([], {}, 0)
    assert again.already_erased is True
    assert list(Suppression.objects.values_list("pk", "created_at")) == suppressions
    entries = AuditEntry.objects.filter(action="subject.erase").order_by("pk")
    assert [entry.metadata["already_erased"] for entry in entries] == [False, True]
    assert entries.last().metadata["counts"] == {}


def test_another_teams_customers_are_left_alone(jane, team_a, team_b, steward):
    # Given a customer of team B with the same email as Jane
    [bob] = customers_upsert_items(
        actor=steward, team=team_b, items=[{"email": EMAIL, "given_name": "Other"}]
    )

    # When team A's erasure is asked for both ids
    report = subject_erase(
        customer_ids=[bob.customer_id, jane["customer"].pk],
        team=team_a,
        actor=steward,
        reason="request",
    )

    # Then only team A's customer (and its merged profile) went; team B's is untouched
    assert bob.customer_id not in report.customer_ids
    assert Identity.objects.filter(customer_id=bob.customer_id).count() == 1
    assert set(Suppression.objects.values_list("owner_team", flat=True)) == {team_a.pk}
    assert subject_erase(
        customer_ids=[bob.customer_id], team=team_a, actor=steward, reason="request"
    ).already_erased
    assert Customer.objects.filter(pk=bob.customer_id).exists()


def test_erasing_a_merged_away_profile_leaves_the_survivor(jane, team_a, steward):
    report = subject_erase(
        customer_ids=[jane["tombstone_id"]], team=team_a, actor=steward, reason="request"
    )
    assert report.customer_ids == [jane["tombstone_id"]]
    assert Customer.objects.filter(pk=jane["customer"].pk).exists()


def _customer_with_events(team, count: int) -> Customer:
    customer = CustomerFactory(owner_team=team)
    Event.objects.bulk_create(
        Event(
            owner_team=team,
            customer=customer,
            type="page_view",
            occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
            properties={"n": number},
        )
        for number in range(count)
    )
    PurchaseFactory(customer=customer)
    return customer


def test_erasure_runs_the_same_queries_for_10_and_for_2000_events(
    team_a, steward, django_assert_max_num_queries
):
    small, large = _customer_with_events(team_a, 10), _customer_with_events(team_a, 2000)
    counted = {}
    for customer in (small, large):
        with CaptureQueriesContext(connection) as queries:
            report = subject_erase(
                customer_ids=[customer.pk], team=team_a, actor=steward, reason="retention"
            )
        counted[report.counts["customers.event"]] = len(queries)
    assert set(counted) == {10, 2000}
    assert counted[10] == counted[2000]
    customer = _customer_with_events(team_a, 2000)
    with django_assert_max_num_queries(counted[2000]):
        subject_erase(customer_ids=[customer.pk], team=team_a, actor=steward, reason="retention")
    assert not Event.objects.exists()


def test_consent_events_stay_append_only_outside_the_erasure(jane, team_a, steward):
    survivor = ConsentEvent.objects.create(
        owner_team=team_a,
        customer_id=jane["otto"].pk,
        purpose=ConsentPurpose.objects.get(code="email_marketing"),
        channel="email",
        status="granted",
        source="form",
        occurred_at=datetime(2026, 1, 2, tzinfo=UTC),
    )
    subject_erase(customer_ids=[jane["customer"].pk], team=team_a, actor=steward, reason="staff")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM privacy_consentevent WHERE id = %s", [survivor.pk])
    assert list(ConsentEvent.objects.all()) == [survivor]


def test_consent_proof_can_be_kept_and_the_scan_says_so(jane, team_a, steward, settings):
    settings.ERASURE_KEEP_CONSENT_PROOF = True
    report = subject_erase(
        customer_ids=[jane["customer"].pk], team=team_a, actor=steward, reason="request"
    )
    assert (
        report.counts["privacy.consent_event"],
        report.counts["privacy.consent_event_kept"],
    ) == (
        0,
        1,
    )
    assert ConsentEvent.objects.get().customer_id == jane["customer"].pk
    status, output = scan(*SCAN)
    assert status == 0, output
    assert "kept   public.privacy_consentevent.subject_key: email (blind index)" in output


def test_purchases_can_be_kept_detached_for_accounting(jane, team_a, steward, settings):
    settings.ERASURE_KEEP_PURCHASES_FOR_ACCOUNTING = True
    [purchase] = Purchase.objects.filter(customer=jane["customer"])

    report = subject_erase(
        customer_ids=[jane["customer"].pk], team=team_a, actor=steward, reason="request"
    )

    assert report.counts["customers.purchase"] == 0
    assert report.counts["customers.purchase_detached"] == 1
    kept = Purchase.objects.get(pk=purchase.pk)
    assert kept.customer_id is None
    assert (kept.order_reference, kept.amount, kept.currency) == (
        purchase.order_reference,
        purchase.amount,
        purchase.currency,
    )
    assert not Customer.objects.filter(pk=jane["customer"].pk).exists()
    status, output = scan(*SCAN)
    assert status == 0, output


def test_suppressed_records_are_recognised_by_email_or_phone(jane, team_a, team_b, steward):
    subject_erase(customer_ids=[jane["customer"].pk], team=team_a, actor=steward, reason="api")
    records = [
        normalise_customer_row({"email": "JANE.QUIXOTE@example.org"}),
        normalise_customer_row({"phone": "+49 151 23450001"}),
        normalise_customer_row({"email": "otto.normal@example.com"}),
    ]
    assert records_suppressed(team=team_a, records=records) == {0, 1}
    assert records_suppressed(team=team_b, records=records) == set()


# --- Every door goes through the erasure service ---------------------------------------------
def test_a_reimport_of_the_erased_email_is_refused_as_suppressed(
    jane, team_a, marketer_a, steward, django_capture_on_commit_callbacks
):
    subject_erase(customer_ids=[jane["customer"].pk], team=team_a, actor=steward, reason="request")
    job = run_import(marketer_a, team_a, FILE, django_capture_on_commit_callbacks)
    rows = {row.line_number: row for row in job.rows.all()}
    assert (rows[2].outcome, rows[2].reason, rows[2].customer_id) == (
        RowOutcome.REJECTED,
        SUPPRESSED,
        None,
    )
    assert rows[3].outcome == RowOutcome.UNCHANGED
    assert not Identity.objects.filter(lookup_key=blind_index(EMAIL, purpose="email")).exists()


def test_an_api_upsert_of_the_erased_email_is_refused_as_suppressed(jane, team_a, steward):
    subject_erase(customer_ids=[jane["customer"].pk], team=team_a, actor=steward, reason="request")
    [result] = customers_upsert_items(actor=steward, team=team_a, items=[{"email": EMAIL}])
    assert (result.status, result.customer_id, result.errors) == (
        RowOutcome.REJECTED,
        None,
        [{"field": "", "message": SUPPRESSED}],
    )


@pytest.fixture
def administrator(make_user, team_a):
    return make_user(roles.ADMINISTRATOR, team_a)


def _token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
    return client


def _assert_erased_through(jane, reason: str) -> None:
    assert not Customer.objects.filter(pk__in=[jane["customer"].pk, jane["tombstone_id"]]).exists()
    assert AuditEntry.objects.get(action="subject.erase").metadata["reason"] == reason
    status, output = scan(*SCAN)
    assert status == 0, output


def test_staff_ui_erase_button(jane, administrator, verified_client):
    client = verified_client(administrator)
    detail = client.get(f"/customers/{jane['customer'].pk}/")
    assert f'action="/customers/{jane["customer"].pk}/erase/"' in detail.content.decode()
    response = client.post(f"/customers/{jane['customer'].pk}/erase/")
    assert (response.status_code, response["Location"]) == (302, "/customers/")
    _assert_erased_through(jane, "staff")


def test_admin_bulk_delete_erases(jane, administrator, verified_client):
    client = verified_client(administrator)
    confirm = client.post(
        "/admin/customers/customer/",
        {"action": "delete_selected", "_selected_action": [jane["customer"].pk]},
    )
    assert confirm.status_code == 200
    assert not confirm.context["perms_lacking"]
    response = client.post(
        "/admin/customers/customer/",
        {"action": "delete_selected", "_selected_action": [jane["customer"].pk], "post": "yes"},
    )
    assert response.status_code == 302
    _assert_erased_through(jane, "admin")


def test_admin_single_delete_erases(jane, administrator, verified_client):
    client = verified_client(administrator)
    url = f"/admin/customers/customer/{jane['customer'].pk}/delete/"
    assert client.get(url).status_code == 200
    assert client.post(url, {"post": "yes"}).status_code == 302
    _assert_erased_through(jane, "admin")


def test_api_delete_erases_and_a_second_delete_is_not_found(jane, administrator):
    client = _token_client(administrator)
    url = f"/api/v1/customers/{jane['customer'].pk}/"
    assert client.delete(url).status_code == 204
    _assert_erased_through(jane, "api")
    assert client.delete(url).status_code == 404


@pytest.mark.parametrize("door", ["ui", "api", "admin"])
def test_without_delete_permission_nothing_is_erased(
    jane, marketer_a, make_user, team_b, verified_client, door
):
    other_team_admin = make_user(roles.ADMINISTRATOR, team_b)
    pk = jane["customer"].pk
    for user in (marketer_a, other_team_admin):
        if door == "api":
            assert _token_client(user).delete(f"/api/v1/customers/{pk}/").status_code == 404
            continue
        client = verified_client(user)
        if door == "ui":
            assert client.post(f"/customers/{pk}/erase/").status_code == 404
        else:
            client.post(
                "/admin/customers/customer/",
                {"action": "delete_selected", "_selected_action": [pk], "post": "yes"},
            )
            assert client.post(
                f"/admin/customers/customer/{pk}/delete/", {"post": "yes"}
            ).status_code in {
                302,
                403,
            }
        client.post("/accounts/logout/")
    assert Customer.objects.filter(pk=pk).exists()
    assert not AuditEntry.objects.filter(action="subject.erase").exists()
