"""The data-subject request API: /api/v1/privacy/requests/.

Over 600 lines: one test module per endpoint, every step of a request.
"""

import datetime
import io
import json
import zipfile

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from customers.models import Customer
from privacy.core import roles
from privacy.models import AuditEntry, DataSubjectRequest, RequestStatus
from privacy.requests.services.lifecycle import (
    request_answer_record,
    request_create,
    request_extend,
    request_fulfil,
    request_verify,
)
from privacy.requests.services.package import request_package_build
from tests.customers.factories import CustomerFactory, EventFactory
from tests.factories import TeamFactory, UserFactory, api_token_for

REQUESTS = "/api/v1/privacy/requests/"


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
    return client


def detail(data_request, action: str = "") -> str:
    return f"{REQUESTS}{data_request.pk}/" + (f"{action}/" if action else "")


def steps(data_request) -> list[str]:
    """The request's steps (refusals to reach it are audited against it too, as access.denied)."""
    return list(
        AuditEntry.objects.filter(
            object_type="privacy.datasubjectrequest",
            object_id=str(data_request.pk),
            action__startswith="request.",
        )
        .order_by("id")
        .values_list("action", flat=True)
    )


def error_fields(response) -> list[str]:
    return [error["field"] for error in response.json()["errors"]]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def person(team_a):
    return CustomerFactory(
        owner_team=team_a, email="ada@example.org", phone="+4915123456789", given_name="Ada"
    )


@pytest.fixture
def api(steward):
    return token_client(steward)


def new_request(team, actor, kind="access", **fields):
    fields.setdefault("subject_email", "ada@example.org")
    return request_create(team=team, kind=kind, channel="email", actor=actor, **fields)


# --- Intake -------------------------------------------------------------------------------------


def test_intake_records_the_request_and_finds_the_customers(api, steward, team_a, person):
    # Given Ada, a customer of team A
    received = timezone.now() - datetime.timedelta(days=2)

    # When a steward records her access request
    response = api.post(
        REQUESTS,
        {
            "kind": "access",
            "channel": "email",
            "received_at": received.isoformat(),
            "subject_email": "Ada@Example.org",
            "subject_name": "Ada Lovelace",
            "details": "Send me everything you hold.",
        },
        format="json",
    )

    # Then it is recorded for the team, with Ada found and the due date a month on
    assert response.status_code == 201, response.content
    body = response.json()
    data_request = DataSubjectRequest.objects.get()
    assert body["id"] == data_request.pk
    assert (body["owner_team"], body["kind"], body["status"]) == (team_a.pk, "access", "received")
    assert body["customer_ids"] == [person.pk]
    assert body["due_on"] == data_request.due_on.isoformat()
    assert body["is_overdue"] is False
    assert body["created_by"] == steward.username
    # And the answer masks what the person gave (only reading one request unmasks it)
    assert (body["subject_email"], body["subject_name"], body["details"]) == (
        "A•••@Example.org",
        "A•••",
        "•••",
    )
    assert data_request.subject_email == "Ada@Example.org"
    assert steps(data_request) == ["request.create"]


def test_intake_of_an_unknown_person_finds_nobody(api):
    response = api.post(
        REQUESTS, {"kind": "erasure", "subject_email": "nobody@example.org"}, format="json"
    )

    assert response.status_code == 201, response.content
    assert response.json()["customer_ids"] == []
    assert response.json()["channel"] == "api"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "deletion"}, "kind"),
        ({"subject_email": "not an address"}, "subject_email"),
        ({"subject_email": "", "subject_phone": "12"}, "subject_phone"),
        ({"channel": "carrier_pigeon"}, "channel"),
        ({"received_at": "2999-01-01T00:00:00Z"}, "received_at"),
        ({"received_at": "0001-01-01T00:00:00Z"}, "received_at"),
        ({"subject_email": ""}, "subject_email"),
        ({"customer_ids": [2**63]}, "customer_ids.0"),
        ({"customer_ids": "1,2"}, "customer_ids"),
    ],
    ids=[
        "unknown-kind",
        "bad-email",
        "bad-phone",
        "unknown-channel",
        "received-in-the-future",
        "received-in-year-one",
        "nobody-named",
        "id-too-large",
        "ids-not-a-list",
    ],
)
def test_bad_intake_is_a_400_naming_the_field_and_records_nothing(api, person, payload, field):
    response = api.post(
        REQUESTS, {"kind": "access", "subject_email": "ada@example.org", **payload}, format="json"
    )

    assert response.status_code == 400, response.content
    assert error_fields(response) == [field]
    assert not DataSubjectRequest.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="request.").exists()


def test_customer_numbers_of_another_team_are_refused(api, team_b):
    other = CustomerFactory(owner_team=team_b)

    response = api.post(REQUESTS, {"kind": "access", "customer_ids": [other.pk]}, format="json")

    assert response.status_code == 400
    assert error_fields(response) == ["customer_ids"]
    assert not DataSubjectRequest.objects.exists()


def test_a_user_of_several_teams_names_the_team_and_only_one_of_theirs(make_user, team_a, team_b):
    team_c = TeamFactory(group__name="Team C")
    api = token_client(make_user(roles.DATA_STEWARD, team_a, team_c))
    payload = {"kind": "access", "subject_email": "ada@example.org"}

    unnamed = api.post(REQUESTS, payload, format="json")
    foreign = api.post(REQUESTS, {**payload, "team": team_b.pk}, format="json")
    missing = api.post(REQUESTS, {**payload, "team": 999_999}, format="json")
    named = api.post(REQUESTS, {**payload, "team": team_c.pk}, format="json")

    assert (unnamed.status_code, error_fields(unnamed)) == (400, ["team"])
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    assert named.status_code == 201
    assert DataSubjectRequest.objects.get().owner_team == team_c


def test_roles_without_request_permissions_cannot_record_one(marketer_a):
    response = token_client(marketer_a).post(
        REQUESTS, {"kind": "access", "subject_email": "ada@example.org"}, format="json"
    )

    assert response.status_code == 403
    assert not DataSubjectRequest.objects.exists()


# --- The queue and one request ------------------------------------------------------------------


def test_the_queue_lists_the_teams_requests_masked_and_filters_them(
    api, steward, team_a, team_b, person
):
    # Given an overdue access request, an erasure request, and another team's request
    long_ago = timezone.now() - datetime.timedelta(days=45)
    late = new_request(team_a, steward, received_at=long_ago)
    erasure = new_request(team_a, steward, kind="erasure")
    new_request(team_b, None)

    # When the steward lists them, and filters
    listed = api.get(REQUESTS)
    by_kind = api.get(REQUESTS, {"kind": "erasure"})
    overdue = api.get(REQUESTS, {"overdue": "true"})
    on_time = api.get(REQUESTS, {"overdue": "false"})
    by_status = api.get(REQUESTS, {"status": "completed"})

    # Then only team A's requests are there, newest first, masked
    assert listed.status_code == 200
    rows = listed.json()["results"]
    assert [row["id"] for row in rows] == [erasure.pk, late.pk]
    assert {row["subject_email"] for row in rows} == {"a•••@example.org"}
    assert [row["id"] for row in by_kind.json()["results"]] == [erasure.pk]
    assert [row["id"] for row in overdue.json()["results"]] == [late.pk]
    assert [row["is_overdue"] for row in overdue.json()["results"]] == [True]
    assert [row["id"] for row in on_time.json()["results"]] == [erasure.pk]
    assert by_status.json()["results"] == []
    # And listing reads nothing unmasked, so nothing is audited as a read
    assert not AuditEntry.objects.filter(action="request.view_personal_data").exists()


def test_the_queue_runs_the_same_queries_for_one_request_or_many(api, steward, team_a, person):
    new_request(team_a, steward)
    api.get(REQUESTS)  # the token's first use notes it, once
    with CaptureQueriesContext(connection) as one:
        api.get(REQUESTS)
    for _ in range(10):
        new_request(team_a, steward)
    with CaptureQueriesContext(connection) as eleven:
        response = api.get(REQUESTS)

    assert len(response.json()["results"]) == 11
    assert len(eleven.captured_queries) == len(one.captured_queries)


def test_reading_one_request_unmasks_the_person_and_is_audited(api, steward, team_a, person):
    data_request = new_request(team_a, steward, subject_name="Ada Lovelace")

    response = api.get(detail(data_request))

    assert response.status_code == 200
    body = response.json()
    assert (body["subject_email"], body["subject_name"]) == ("ada@example.org", "Ada Lovelace")
    entry = AuditEntry.objects.get(action="request.view_personal_data")
    assert (entry.actor, entry.object_id) == (steward, str(data_request.pk))
    assert "ada" not in json.dumps(entry.metadata).lower()


def test_a_user_who_may_not_view_personal_data_reads_it_masked_without_audit(
    team_a, steward, person
):
    # Given a role that handles requests but may not see personal data
    group = Group.objects.create(name="Request clerk")
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="privacy", codename="view_datasubjectrequest"
        )
    )
    clerk = UserFactory(teams=[team_a])
    clerk.groups.add(group)
    data_request = new_request(team_a, steward)

    response = token_client(clerk).get(detail(data_request))

    assert response.status_code == 200
    assert response.json()["subject_email"] == "a•••@example.org"
    assert not AuditEntry.objects.filter(action="request.view_personal_data").exists()


ACTIONS = [
    ("get", ""),
    ("post", "verify/"),
    ("post", "extend/"),
    ("post", "subjects/"),
    ("post", "fulfil/"),
    ("post", "reject/"),
    ("post", "lift-restriction/"),
    ("get", "download/"),
]


@pytest.mark.parametrize(("method", "action"), ACTIONS, ids=[a or "read" for _m, a in ACTIONS])
def test_another_teams_request_is_a_404_like_a_missing_one_and_stays_unchanged(
    api, team_b, method, action
):
    # Given team B's request, verified
    other = request_verify(
        subject_request=new_request(team_b, None), method="email_confirmed", actor=None
    )
    before = steps(other)
    payload = {
        "verification_method": "email_confirmed",
        "months": 1,
        "extension_reason": "Complex",
        "customer_ids": [],
        "outcome_note": "Because",
    }

    # When a steward of team A sends the action to it, and to a request that does not exist
    answer = getattr(api, method)(f"{REQUESTS}{other.pk}/{action}", payload, format="json")
    missing = getattr(api, method)(f"{REQUESTS}999999/{action}", payload, format="json")

    # Then both are the same 404, and team B's request is as it was
    assert answer.status_code == missing.status_code == 404
    assert answer.json() == missing.json()
    other.refresh_from_db()
    assert (other.status, other.extension_months) == (RequestStatus.VERIFIED, 0)
    assert steps(other) == before


# --- Steps --------------------------------------------------------------------------------------


def test_verify_then_extend_then_confirm_customers(api, steward, team_a, person):
    data_request = new_request(team_a, steward)
    other_customer = CustomerFactory(owner_team=team_a)

    unverified_method = api.post(detail(data_request, "verify"), {"verification_method": "x"})
    other_without_note = api.post(
        detail(data_request, "verify"), {"verification_method": "other"}, format="json"
    )
    verified = api.post(
        detail(data_request, "verify"),
        {"verification_method": "email_confirmed", "verification_note": "Replied from it"},
        format="json",
    )
    again = api.post(
        detail(data_request, "verify"), {"verification_method": "email_confirmed"}, format="json"
    )

    assert error_fields(unverified_method) == ["verification_method"]
    assert error_fields(other_without_note) == ["verification_note"]
    assert verified.status_code == 200, verified.content
    assert (verified.json()["status"], verified.json()["verified_by"]) == (
        "verified",
        steward.username,
    )
    assert (again.status_code, error_fields(again)) == (400, ["status"])

    due = data_request.due_on
    no_reason = api.post(
        detail(data_request, "extend"), {"months": 1, "extension_reason": " "}, format="json"
    )
    too_long = api.post(
        detail(data_request, "extend"), {"months": 3, "extension_reason": "Many"}, format="json"
    )
    extended = api.post(
        detail(data_request, "extend"),
        {"months": 2, "extension_reason": "Many systems to search"},
        format="json",
    )
    beyond = api.post(
        detail(data_request, "extend"), {"months": 1, "extension_reason": "More"}, format="json"
    )

    assert error_fields(no_reason) == ["extension_reason"]
    assert error_fields(too_long) == ["months"]
    assert extended.status_code == 200, extended.content
    assert extended.json()["extension_months"] == 2
    assert extended.json()["due_on"] > due.isoformat()
    assert error_fields(beyond) == ["months"]

    confirmed = api.post(
        detail(data_request, "subjects"),
        {"customer_ids": [person.pk, other_customer.pk]},
        format="json",
    )
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["customer_ids"] == sorted([person.pk, other_customer.pk])
    assert steps(data_request) == [
        "request.create",
        "request.verify",
        "request.extend",
        "request.subjects",
    ]


def test_erasure_is_refused_before_verification_then_erases(api, steward, team_a, person):
    data_request = new_request(team_a, steward, kind="erasure")

    early = api.post(detail(data_request, "fulfil"), {}, format="json")
    assert (early.status_code, error_fields(early)) == (400, ["verification_method"])
    assert Customer.objects.filter(pk=person.pk).exists()

    api.post(
        detail(data_request, "verify"), {"verification_method": "email_confirmed"}, format="json"
    )
    done = api.post(detail(data_request, "fulfil"), {}, format="json")

    assert done.status_code == 200, done.content
    body = done.json()
    assert (body["status"], body["outcome"]) == ("carried_out", "fulfilled")
    assert body["subject_email"] == ""  # forgotten, not just masked
    assert not Customer.objects.filter(pk=person.pk).exists()
    data_request.refresh_from_db()
    assert data_request.subject_email is None


def test_nobody_found_is_answered_no_data_held_only_after_verification(api, steward, team_a):
    # Given a request that matches nobody
    data_request = new_request(team_a, steward, subject_email="nobody@example.org")

    # When it is answered before the identity is verified, then after
    early = api.post(detail(data_request, "fulfil"), {}, format="json")
    data_request.refresh_from_db()
    status_before = data_request.status
    api.post(
        detail(data_request, "verify"),
        {"verification_method": "email_confirmed"},
        format="json",
    )
    answered = api.post(detail(data_request, "fulfil"), {}, format="json")

    # Then the first is a 400 naming the verification that changes nothing, the second answers
    assert early.status_code == 400
    assert [error["field"] for error in early.json()["errors"]] == ["verification_method"]
    assert status_before == "received"
    assert answered.status_code == 200, answered.json()
    assert (answered.json()["status"], answered.json()["outcome"]) == (
        "carried_out",
        "no_data_held",
    )


def test_reject_needs_a_reason_and_closes_the_request(api, steward, team_a, person):
    data_request = new_request(team_a, steward)

    blank = api.post(detail(data_request, "reject"), {"outcome_note": ""}, format="json")
    rejected = api.post(
        detail(data_request, "reject"), {"outcome_note": "Identity not proven"}, format="json"
    )

    assert error_fields(blank) == ["outcome_note"]
    assert rejected.status_code == 200
    assert (rejected.json()["status"], rejected.json()["outcome"]) == ("rejected", "refused")


def test_restriction_is_lifted_only_once_completed(api, steward, team_a, person):
    data_request = request_verify(
        subject_request=new_request(team_a, steward, kind="restriction"),
        method="email_confirmed",
        actor=steward,
    )

    early = api.post(detail(data_request, "lift-restriction"), format="json")
    api.post(detail(data_request, "fulfil"), {}, format="json")
    person.refresh_from_db()
    assert person.processing_restricted_at is not None
    lifted = api.post(detail(data_request, "lift-restriction"), format="json")

    assert (early.status_code, error_fields(early)) == (400, ["kind"])
    assert lifted.status_code == 200
    person.refresh_from_db()
    assert person.processing_restricted_at is None
    assert steps(data_request)[-1] == "request.restriction_lift"


# --- The access package -------------------------------------------------------------------------


def test_access_package_downloads_audited_until_its_link_expires(
    api, steward, team_a, person, media, django_capture_on_commit_callbacks
):
    # Given a verified access request for Ada, who has events
    EventFactory.create_batch(3, customer=person)
    data_request = request_verify(
        subject_request=new_request(team_a, steward), method="email_confirmed", actor=steward
    )
    before_build = api.get(detail(data_request, "download"))
    assert (before_build.status_code, error_fields(before_build)) == (400, ["package"])

    # When the steward answers it, and the package job runs (its body, as the worker would)
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        started = api.post(detail(data_request, "fulfil"), {}, format="json")
    assert started.json()["status"] == "processing"
    assert len(enqueued) == 1
    request_package_build(request_id=data_request.pk)
    built = api.get(detail(data_request)).json()
    assert (built["status"], built["has_package"], built["progress"]) == (
        "package_ready",
        True,
        100,
    )

    # Then the package downloads as a ZIP with everything about Ada, and the download is audited
    response = api.get(detail(data_request, "download"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == (
        f'attachment; filename="request-{data_request.pk}-package.zip"'
    )
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    data = json.loads(archive.read("data.json"))
    assert [row["id"] for row in data["categories"]["profile"]] == [person.pk]
    entry = AuditEntry.objects.get(action="request.package_download")
    assert (entry.actor, entry.object_id) == (steward, str(data_request.pk))

    # When the link has expired
    DataSubjectRequest.objects.filter(pk=data_request.pk).update(
        package_expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    expired = api.get(detail(data_request, "download"))

    # Then the download is refused naming the package, and the refusal is audited
    assert (expired.status_code, error_fields(expired)) == (400, ["package"])
    assert steps(data_request)[-1] == "request.package_download_refused"
    assert AuditEntry.objects.filter(action="request.package_download").count() == 1


def test_the_schema_documents_the_request_endpoints(client):
    schema = client.get("/api/schema/?format=json").json()

    operations = {
        path: sorted(methods)
        for path, methods in schema["paths"].items()
        if path.startswith(REQUESTS)
    }
    assert operations == {
        REQUESTS: ["get", "post"],
        f"{REQUESTS}{{id}}/": ["get"],
        f"{REQUESTS}{{id}}/answer/": ["post"],
        f"{REQUESTS}{{id}}/download/": ["get"],
        f"{REQUESTS}{{id}}/extend/": ["post"],
        f"{REQUESTS}{{id}}/fulfil/": ["post"],
        f"{REQUESTS}{{id}}/lift-restriction/": ["post"],
        f"{REQUESTS}{{id}}/reject/": ["post"],
        f"{REQUESTS}{{id}}/subjects/": ["post"],
        f"{REQUESTS}{{id}}/verify/": ["post"],
    }
    download = schema["paths"][f"{REQUESTS}{{id}}/download/"]["get"]
    assert list(download["responses"]["200"]["content"]) == ["application/zip"]
    assert all(
        schema["paths"][path][method]["tags"] == ["privacy"]
        for path, methods in operations.items()
        for method in methods
    )


# --- Staff notes are personal data too ----------------------------------------------------------

NOTES = {
    "verification_note": "Called back on +4915123456789",
    "extension_reason": "Ada Lovelace's records are in three systems",
    "outcome_note": "Surname corrected from Byron to Lovelace",
    "answer_note": "Letter to Ada Lovelace, Byron Street",
}
MASKED_NOTES = dict.fromkeys(NOTES, "•••")


def noted_request(team, actor):
    """A rectification request whose staff notes say what was checked and corrected."""
    data_request = request_verify(
        subject_request=new_request(team, actor, kind="rectification"),
        method="other",
        note=NOTES["verification_note"],
        actor=actor,
    )
    data_request = request_extend(
        subject_request=data_request, months=1, reason=NOTES["extension_reason"], actor=actor
    )
    data_request = request_fulfil(
        subject_request=data_request, note=NOTES["outcome_note"], actor=actor
    )
    return request_answer_record(
        subject_request=data_request, channel="post", note=NOTES["answer_note"], actor=actor
    )


def notes_of(body: dict) -> dict:
    return {name: body[name] for name in NOTES}


@pytest.fixture
def clerk(team_a):
    """Handles requests of team A but may not view personal data."""
    group = Group.objects.create(name="Request clerk")
    group.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="privacy", codename="view_datasubjectrequest"
        )
    )
    user = UserFactory(teams=[team_a])
    user.groups.add(group)
    return user


def test_staff_notes_are_masked_for_a_user_who_may_not_view_personal_data(
    team_a, steward, person, clerk
):
    # Given a completed rectification request with notes that name the person
    data_request = noted_request(team_a, steward)

    # When a clerk without the permission reads it, and lists the queue
    client = token_client(clerk)
    read = client.get(detail(data_request))
    listed = client.get(REQUESTS, {"status": "completed"})

    # Then every note is masked, and nothing is audited as a read of personal data
    assert read.status_code == 200
    assert notes_of(read.json()) == MASKED_NOTES
    assert [notes_of(row) for row in listed.json()["results"]] == [MASKED_NOTES]
    for response in (read, listed):
        text = response.content.decode()
        assert "Lovelace" not in text and "+4915123456789" not in text
    assert not AuditEntry.objects.filter(action="request.view_personal_data").exists()


def test_staff_notes_are_masked_in_lists_even_for_a_user_who_may_view_them(
    api, team_a, steward, person
):
    noted_request(team_a, steward)

    listed = api.get(REQUESTS, {"status": "completed"})

    assert [notes_of(row) for row in listed.json()["results"]] == [MASKED_NOTES]
    assert not AuditEntry.objects.filter(action="request.view_personal_data").exists()


def test_staff_notes_are_shown_in_one_request_to_a_user_who_may_view_them_and_audited(
    api, team_a, steward, person
):
    data_request = noted_request(team_a, steward)

    read = api.get(detail(data_request))

    assert notes_of(read.json()) == NOTES
    entry = AuditEntry.objects.get(action="request.view_personal_data")
    assert (entry.actor, entry.object_id) == (steward, str(data_request.pk))
    assert "lovelace" not in json.dumps(entry.metadata).lower()


def test_a_steps_answer_masks_the_note_it_was_given(api, team_a, steward, person):
    # The answer to a step is a request like a list's row: masked, whoever asks.
    data_request = new_request(team_a, steward)

    response = api.post(
        detail(data_request, "reject"),
        {"outcome_note": NOTES["outcome_note"]},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["outcome_note"] == "•••"
    data_request.refresh_from_db()
    assert data_request.outcome_note == NOTES["outcome_note"]


def test_a_ready_package_stays_overdue_until_the_answer_is_recorded_through_the_api(
    api, steward, team_a, person, media, django_capture_on_commit_callbacks
):
    # Given an access request received 40 days ago, verified, whose package the worker built
    data_request = request_verify(
        subject_request=new_request(
            team_a, steward, received_at=timezone.now() - datetime.timedelta(days=40)
        ),
        method="email_confirmed",
        actor=steward,
    )
    early = api.post(detail(data_request, "answer"), {"answer_channel": "email"}, format="json")
    with django_capture_on_commit_callbacks(execute=False):
        api.post(detail(data_request, "fulfil"), {}, format="json")
    request_package_build(request_id=data_request.pk)

    # Then an answer before the request was carried out was refused, naming the status
    assert (early.status_code, error_fields(early)) == (400, ["status"])
    # And the ready package is not an answer: the request is still open and overdue
    ready = api.get(detail(data_request)).json()
    assert (ready["status"], ready["is_overdue"], ready["answered_at"]) == (
        "package_ready",
        True,
        None,
    )
    overdue = api.get(REQUESTS, {"overdue": "true"}).json()["results"]
    assert [row["id"] for row in overdue] == [data_request.pk]

    # When the steward records the answer sent by email, with a bad channel first
    wrong = api.post(detail(data_request, "answer"), {"answer_channel": "fax"}, format="json")
    answered = api.post(
        detail(data_request, "answer"),
        {"answer_channel": "email", "answer_note": "Sent the link to the address on file"},
        format="json",
    )

    # Then the bad one is a 400 naming the field, the good one closes the request and stops
    # the clock: it leaves the overdue list
    assert (wrong.status_code, error_fields(wrong)) == (400, ["answer_channel"])
    assert answered.status_code == 200, answered.content
    body = answered.json()
    assert (body["status"], body["answer_channel"], body["answered_by"]) == (
        "completed",
        "email",
        steward.username,
    )
    assert body["answered_at"] is not None and body["is_overdue"] is False
    assert api.get(REQUESTS, {"overdue": "true"}).json()["results"] == []
    assert steps(data_request)[-1] == "request.answer"
    # The person's package can still be downloaded until its link expires
    assert api.get(detail(data_request, "download")).status_code == 200
