"""Data-subject requests: intake, identity check, deadlines, the answer of each kind, alerts."""

import datetime
import io
import json
import zipfile
from datetime import UTC

import pytest
from django.core import mail
from django.utils import timezone

from customers.models import Customer
from privacy.consent.selectors import consent_state
from privacy.consent.services.records import consent_record
from privacy.core.sealed_files import MAGIC
from privacy.models import (
    AuditEntry,
    ConsentPurpose,
    DataSubjectRequest,
    RequestKind,
    RequestOutcome,
    RequestStatus,
    Suppression,
)
from privacy.requests.services.alerts import requests_overdue_alert
from privacy.requests.services.lifecycle import (
    RequestError,
    request_create,
    request_due_on,
    request_extend,
    request_fulfil,
    request_is_overdue,
    request_reject,
    request_restriction_lift,
    request_subjects_set,
    request_verify,
)
from privacy.requests.services.package import request_package_build, request_package_open
from tests.customers.factories import CustomerFactory, EventFactory
from tests.privacy.test_erasure import scan

RECEIVED = datetime.datetime(2026, 1, 31, 9, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    # Every test: the scan reads MEDIA_ROOT too, and must not see files other tests left.
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def person(team_a):
    return CustomerFactory(
        owner_team=team_a, email="ada@example.org", phone="+4915123456789", given_name="Ada"
    )


def steps(request) -> list[str]:
    return list(
        AuditEntry.objects.filter(
            object_type="privacy.datasubjectrequest", object_id=str(request.pk)
        )
        .order_by("id")
        .values_list("action", flat=True)
    )


def new_request(team, actor, kind=RequestKind.ACCESS, **fields):
    fields.setdefault("subject_email", "Ada@Example.org")
    return request_create(team=team, kind=kind, channel="email", actor=actor, **fields)


def verified(request, actor):
    return request_verify(subject_request=request, method="email_confirmed", actor=actor)


# --- Deadlines ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "extension", "due"),
    [
        (datetime.date(2026, 3, 3), 0, datetime.date(2026, 4, 3)),
        (datetime.date(2026, 1, 31), 0, datetime.date(2026, 2, 28)),
        (datetime.date(2028, 1, 31), 0, datetime.date(2028, 2, 29)),
        (datetime.date(2026, 12, 15), 0, datetime.date(2027, 1, 15)),
        (datetime.date(2026, 1, 31), 2, datetime.date(2026, 4, 30)),
        (datetime.date(2026, 11, 30), 2, datetime.date(2027, 2, 28)),
    ],
    ids=["plain", "short-month", "leap-year", "year-end", "extended", "extended-over-year"],
)
def test_due_date_is_one_calendar_month_from_receipt_plus_extension(received, extension, due):
    received_at = timezone.make_aware(datetime.datetime.combine(received, datetime.time(12)))
    assert request_due_on(received_at, extension_months=extension) == due


def test_intake_finds_the_person_by_email_or_phone_and_records_the_due_date(
    team_a, team_b, steward, person
):
    CustomerFactory(owner_team=team_b, email="ada@example.org")  # another team's Ada

    by_email = new_request(team_a, steward, received_at=RECEIVED)
    by_phone = new_request(team_a, steward, subject_email="", subject_phone="+49 151 23456789")

    assert by_email.customer_ids == [person.pk]
    assert by_phone.customer_ids == [person.pk]
    assert by_email.status == RequestStatus.RECEIVED
    assert by_email.due_on == datetime.date(2026, 2, 28)
    assert steps(by_email) == ["request.create"]
    entry = AuditEntry.objects.get(action="request.create", object_id=str(by_email.pk))
    assert entry.metadata == {
        "kind": "access",
        "status": "received",
        "channel": "email",
        "customers_found": 1,
        "due_on": "2026-02-28",
    }
    # The person's words are stored encrypted, never in the audit log.
    assert "ada@" not in json.dumps(list(AuditEntry.objects.values_list("metadata"))).lower()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"kind": "forget-me"}, "kind"),
        ({"channel": "pigeon"}, "channel"),
        ({"subject_email": ""}, "subject_email"),
        ({"subject_email": "not an address"}, "subject_email"),
        ({"subject_email": "", "subject_phone": "12"}, "subject_phone"),
        ({"customer_ids": ["x"]}, "customer_ids"),
        ({"received_at": timezone.now() + datetime.timedelta(days=2)}, "received_at"),
    ],
    ids=["kind", "channel", "nobody", "email", "phone", "ids", "future"],
)
def test_bad_intake_names_the_field_and_records_nothing(team_a, steward, fields, field):
    arguments = {"kind": "access", "channel": "email", "subject_email": "ada@example.org"}
    arguments.update(fields)
    with pytest.raises(RequestError) as raised:
        request_create(team=team_a, actor=steward, **arguments)
    assert raised.value.field == field
    assert not DataSubjectRequest.objects.exists()


def test_customer_numbers_of_another_team_are_refused(team_a, team_b, steward):
    stranger = CustomerFactory(owner_team=team_b)
    with pytest.raises(RequestError) as raised:
        new_request(team_a, steward, customer_ids=[stranger.pk])
    assert raised.value.field == "customer_ids"


def test_unknown_person_is_answered_no_data_held_and_audited(team_a, steward, person):
    request = new_request(team_a, steward, subject_email="nobody@example.org")
    assert request.customer_ids == []

    request = request_fulfil(subject_request=verified(request, steward), actor=steward)

    assert (request.status, request.outcome) == (RequestStatus.CARRIED_OUT, "no_data_held")
    assert steps(request) == ["request.create", "request.verify", "request.fulfil"]


@pytest.mark.parametrize("kind", [RequestKind.ERASURE, RequestKind.ACCESS])
def test_no_data_held_is_no_answer_before_the_identity_is_verified(team_a, steward, kind):
    # Given a request that matches nobody, whose sender has not proven who they are
    request = new_request(team_a, steward, kind, subject_email="nobody@example.org")

    # When staff try to answer it
    with pytest.raises(RequestError) as raised:
        request_fulfil(subject_request=request, actor=steward)

    # Then it is refused, naming the verification, and the request is as it was
    assert raised.value.field == "verification_method"
    request.refresh_from_db()
    assert (request.status, request.outcome) == (RequestStatus.RECEIVED, "")
    assert request.subject_email == "nobody@example.org"
    assert steps(request) == ["request.create"]


# --- Verification and extension ----------------------------------------------------------------


def test_data_is_not_handed_out_before_the_identity_is_verified(team_a, steward, person):
    request = new_request(team_a, steward)
    with pytest.raises(RequestError) as raised:
        request_fulfil(subject_request=request, actor=steward)
    assert raised.value.field == "verification_method"

    request = verified(request, steward)
    assert (request.status, request.verified_by) == (RequestStatus.VERIFIED, steward)
    with pytest.raises(RequestError):
        verified(request, steward)  # once is enough
    with pytest.raises(RequestError) as raised:
        request_verify(subject_request=request, method="other", actor=steward)
    assert raised.value.field in {"status", "verification_note"}


def test_extension_needs_a_reason_is_capped_at_two_months_and_only_in_the_first_month(
    team_a, steward, person
):
    request = new_request(team_a, steward, received_at=RECEIVED)
    in_first_month = datetime.date(2026, 2, 20)

    with pytest.raises(RequestError) as raised:
        request_extend(
            subject_request=request, months=1, reason=" ", actor=steward, today=in_first_month
        )
    assert raised.value.field == "extension_reason"
    with pytest.raises(RequestError):
        request_extend(subject_request=request, months=3, reason="Complex", actor=steward)
    with pytest.raises(RequestError) as raised:
        request_extend(
            subject_request=request,
            months=1,
            reason="Complex",
            actor=steward,
            today=datetime.date(2026, 3, 1),
        )
    assert raised.value.field == "months"

    request = request_extend(
        subject_request=request,
        months=1,
        reason="Many systems",
        actor=steward,
        today=in_first_month,
    )
    request = request_extend(
        subject_request=request, months=1, reason="Still more", actor=steward, today=in_first_month
    )
    assert (request.extension_months, request.due_on) == (2, datetime.date(2026, 4, 30))
    with pytest.raises(RequestError):
        request_extend(
            subject_request=request, months=1, reason="More", actor=steward, today=in_first_month
        )
    entry = AuditEntry.objects.filter(action="request.extend").latest("id")
    assert entry.metadata["due_on"] == "2026-04-30"
    assert "Many" not in json.dumps(entry.metadata)


def test_subjects_can_be_confirmed_within_the_team_only(team_a, team_b, steward, person):
    request = new_request(team_a, steward, subject_email="other@example.org")
    second = CustomerFactory(owner_team=team_a)

    request = request_subjects_set(
        subject_request=request, customer_ids=[second.pk, person.pk], actor=steward
    )

    assert request.customer_ids == sorted([person.pk, second.pk])
    with pytest.raises(RequestError):
        request_subjects_set(
            subject_request=request,
            customer_ids=[CustomerFactory(owner_team=team_b).pk],
            actor=steward,
        )


# --- Answers -----------------------------------------------------------------------------------


def test_erasure_request_erases_suppresses_and_forgets_the_contact_details(team_a, steward, person):
    EventFactory.create_batch(3, customer=person)
    request = verified(
        new_request(team_a, steward, RequestKind.ERASURE, subject_name="Ada"), steward
    )

    request = request_fulfil(subject_request=request, actor=steward)

    request.refresh_from_db()
    assert (request.status, request.outcome) == (RequestStatus.CARRIED_OUT, "fulfilled")
    assert not Customer.objects.filter(pk=person.pk).exists()
    assert Suppression.objects.filter(owner_team=team_a, request_id=request.pk).count() == 2
    assert (request.subject_email, request.subject_phone, request.subject_name) == (None,) * 3
    erase = AuditEntry.objects.get(action="subject.erase")
    assert erase.metadata["data_subject_request"] == request.pk
    assert steps(request) == ["request.create", "request.verify", "request.fulfil"]
    status, output = scan("--email", "ada@example.org", "--phone", "+4915123456789")
    assert status == 0, output


def test_a_second_erasure_request_for_an_erased_person_is_answered_no_data_held(
    team_a, steward, person
):
    first = verified(new_request(team_a, steward, RequestKind.ERASURE), steward)
    request_fulfil(subject_request=first, actor=steward)

    second = verified(new_request(team_a, steward, RequestKind.ERASURE), steward)
    second = request_fulfil(subject_request=second, actor=steward)

    assert second.outcome == RequestOutcome.NO_DATA_HELD
    assert second.subject_email is None


def test_restriction_keeps_the_data_but_leaves_the_customer_out_until_lifted(
    team_a, steward, person
):
    request = verified(new_request(team_a, steward, RequestKind.RESTRICTION), steward)

    request_fulfil(subject_request=request, actor=steward)

    person.refresh_from_db()
    assert person.processing_restricted_at is not None
    assert not Customer.objects.processable().filter(pk=person.pk).exists()
    assert not Customer.objects.marketable().filter(pk=person.pk).exists()
    assert Customer.objects.active().filter(pk=person.pk).exists()

    request_restriction_lift(subject_request=request, actor=steward)
    assert Customer.objects.marketable().filter(pk=person.pk).exists()
    assert steps(request)[-1] == "request.restriction_lift"


def test_objection_withdraws_marketing_consent_and_marks_the_customer(team_a, steward, person):
    consent_record(
        customer=person,
        purpose_code="email_marketing",
        channel="email",
        status="granted",
        source="form",
    )
    request = verified(new_request(team_a, steward, RequestKind.OBJECTION), steward)

    request = request_fulfil(subject_request=request, actor=steward)

    person.refresh_from_db()
    assert person.marketing_objection_at is not None
    assert Customer.objects.processable().filter(pk=person.pk).exists()
    assert not Customer.objects.marketable().filter(pk=person.pk).exists()
    state = {
        (row["purpose_code"], row["channel"]): row["is_granted"] for row in consent_state(person)
    }
    assert not any(state.values())
    assert ("email_marketing", "email") in state
    entry = AuditEntry.objects.filter(action="request.fulfil").latest("id")
    assert (
        entry.metadata["consents_withdrawn"]
        >= ConsentPurpose.objects.filter(is_active=True).count()
    )


def test_rectification_is_recorded_with_what_was_corrected(team_a, steward, person):
    request = verified(new_request(team_a, steward, RequestKind.RECTIFICATION), steward)
    with pytest.raises(RequestError) as raised:
        request_fulfil(subject_request=request, actor=steward)
    assert raised.value.field == "outcome_note"

    request = request_fulfil(
        subject_request=request, actor=steward, note="Postal address corrected"
    )
    assert request.outcome == RequestOutcome.FULFILLED


def test_rejection_needs_a_reason_and_closes_the_request(team_a, steward, person):
    request = new_request(team_a, steward)
    with pytest.raises(RequestError):
        request_reject(subject_request=request, reason="", actor=steward)

    request = request_reject(subject_request=request, reason="Identity not proven", actor=steward)

    assert (request.status, request.outcome) == (RequestStatus.REJECTED, "refused")
    with pytest.raises(RequestError) as raised:
        request_fulfil(subject_request=request, actor=steward)
    assert raised.value.field == "status"


def test_access_request_builds_a_package_that_downloads_until_it_expires(
    team_a, steward, person, media, django_capture_on_commit_callbacks
):
    EventFactory.create_batch(4, customer=person)
    request = verified(new_request(team_a, steward), steward)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        request = request_fulfil(subject_request=request, actor=steward)
    assert request.status == RequestStatus.PROCESSING
    assert len(callbacks) == 1  # the package job, enqueued after commit

    request = request_package_build(request_id=request.pk)
    assert (request.status, request.outcome) == (RequestStatus.PACKAGE_READY, "fulfilled")
    assert request.package_expires_at > timezone.now() + datetime.timedelta(days=6)
    # On disk the package is sealed with the field keys, not a readable ZIP
    stored = (media / request.package.name).read_bytes()
    assert stored.startswith(MAGIC) and b"PK\x03\x04" not in stored
    with request_package_open(subject_request=request, actor=steward) as handle:
        archive = zipfile.ZipFile(io.BytesIO(handle.read()))
    data = json.loads(archive.read("data.json"))
    assert [row["id"] for row in data["categories"]["profile"]] == [person.pk]
    assert len(data["categories"]["events"]) == 4
    assert "request.package_download" in steps(request)

    # A second run of the job (a redelivered task) changes nothing.
    assert request_package_build(request_id=request.pk).package.name == request.package.name

    request.package_expires_at = timezone.now() - datetime.timedelta(seconds=1)
    request.save()
    with pytest.raises(RequestError) as raised:
        request_package_open(subject_request=request, actor=steward)
    assert raised.value.field == "package"
    assert steps(request)[-1] == "request.package_download_refused"


# --- Overdue alerts ----------------------------------------------------------------------------


def test_overdue_alert_mails_the_team_stewards_once_a_day_without_personal_data(
    team_a, team_b, steward, make_user, person
):
    from privacy.core import roles

    steward.email = "steward.a@example.com"
    steward.save()
    make_user(roles.DATA_STEWARD, team_b, email="steward.b@example.com")
    late = new_request(team_a, steward, received_at=RECEIVED)  # due 2026-02-28
    soon = new_request(team_a, steward, received_at=datetime.datetime(2026, 2, 5, tzinfo=UTC))
    closed = new_request(team_a, steward, received_at=RECEIVED)
    request_reject(subject_request=closed, reason="Duplicate", actor=steward)
    today = datetime.date(2026, 3, 3)

    summary = requests_overdue_alert(today=today)

    assert (summary.teams, summary.requests, summary.emails) == (1, 2, 1)
    [message] = mail.outbox
    assert message.to == [steward.email]
    assert f"#{late.pk}" in message.body and "OVERDUE" in message.body
    assert f"#{soon.pk}" in message.body and f"#{closed.pk}" not in message.body
    assert "ada" not in message.body.lower()
    assert request_is_overdue(late, today=today)
    entry = AuditEntry.objects.get(action="request.overdue_alert")
    assert entry.metadata == {"request_ids": [late.pk, soon.pk], "overdue": 1, "recipients": 1}

    # The same day again: nothing more is sent.
    assert requests_overdue_alert(today=today).emails == 0
    assert len(mail.outbox) == 1


def test_erasure_deletes_earlier_access_packages_and_contact_details_of_the_person(
    team_a, steward, person, media, django_capture_on_commit_callbacks
):
    access = verified(new_request(team_a, steward, subject_name="Ada"), steward)
    with django_capture_on_commit_callbacks(execute=False):
        request_fulfil(subject_request=access, actor=steward)
    access = request_package_build(request_id=access.pk)
    package = media / access.package.name
    assert package.exists()
    unrelated = new_request(team_a, steward, subject_email="nobody@example.org")
    erasure = verified(new_request(team_a, steward, RequestKind.ERASURE), steward)

    with django_capture_on_commit_callbacks(execute=True):
        request_fulfil(subject_request=erasure, actor=steward)

    access.refresh_from_db()
    assert not package.exists()
    assert (access.package.name, access.package_size, access.package_expires_at) == ("", None, None)
    assert (access.subject_email, access.subject_name) == (None, None)
    assert access.outcome == RequestOutcome.FULFILLED  # the record of how it was handled stays
    unrelated.refresh_from_db()
    assert unrelated.subject_email == "nobody@example.org"
    report = AuditEntry.objects.get(action="subject.erase").metadata["counts"]
    assert report["privacy.data_subject_request"] == 2
    assert report["privacy.access_package"] == 1


# --- Review fixes: identity, deadlines, races, failures, restrictions --------------------------


def test_a_receipt_more_than_a_year_ago_is_refused(team_a, steward):
    with pytest.raises(RequestError) as raised:
        new_request(team_a, steward, received_at=timezone.now() - datetime.timedelta(days=400))
    assert raised.value.field == "received_at"


def test_changing_the_customers_after_verification_asks_for_verification_again(
    team_a, steward, person
):
    other = CustomerFactory(owner_team=team_a)
    request = verified(new_request(team_a, steward), steward)

    request = request_subjects_set(subject_request=request, customer_ids=[other.pk], actor=steward)

    assert (request.status, request.verified_by, request.verification_method) == (
        RequestStatus.RECEIVED,
        None,
        "",
    )
    with pytest.raises(RequestError) as raised:
        request_fulfil(subject_request=request, actor=steward)
    assert raised.value.field == "verification_method"
    entry = AuditEntry.objects.filter(action="request.subjects").latest("id")
    assert entry.metadata["verification_reset"] is True


def test_the_due_date_does_not_depend_on_the_acting_users_time_zone(settings):
    settings.TIME_ZONE = "UTC"
    late_evening = datetime.datetime(2026, 1, 31, 23, 30, tzinfo=UTC)
    with timezone.override("Asia/Shanghai"):  # already 1 February there
        assert request_due_on(late_evening) == datetime.date(2026, 2, 28)


def test_a_package_built_while_the_person_was_erased_is_thrown_away_and_rebuilt(
    team_a, steward, person, media, monkeypatch, django_capture_on_commit_callbacks
):
    from privacy.erasure.services.erasure import subject_erase
    from privacy.requests.package import writer as package_writer

    request = verified(new_request(team_a, steward), steward)
    with django_capture_on_commit_callbacks(execute=False):
        request_fulfil(subject_request=request, actor=steward)
    written = package_writer.subject_package_write

    def write_then_erase(**kwargs):
        summary = written(**kwargs)
        subject_erase(customer_ids=[person.pk], team=team_a, reason="staff")  # meanwhile
        return summary

    monkeypatch.setattr(package_writer, "subject_package_write", write_then_erase)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        request = request_package_build(request_id=request.pk)

    assert request.status == RequestStatus.PROCESSING
    assert not request.package
    assert not list((media / "privacy" / "packages").glob("*.zip"))
    # Built again, now without the erased customer (the other callback is the erasure's).
    assert [callback.__qualname__.split(".")[0] for callback in callbacks] == [
        "requests_erase",
        "request_package_build",
    ]
    assert steps(request)[-1] == "request.package_rebuild"


def test_a_failing_package_job_gives_the_request_back_to_staff(
    team_a, steward, person, media, monkeypatch, django_capture_on_commit_callbacks
):
    from privacy.requests.package import writer as package_writer
    from privacy.requests.tasks import request_package_build_task

    request = verified(new_request(team_a, steward), steward)
    with django_capture_on_commit_callbacks(execute=False):
        request_fulfil(subject_request=request, actor=steward)

    def broken(**kwargs):
        raise RuntimeError("exporter bug")

    monkeypatch.setattr(package_writer, "subject_package_write", broken)
    result = request_package_build_task.apply(args=[request.pk])

    assert result.failed()
    request.refresh_from_db()
    assert request.status == RequestStatus.VERIFIED
    entry = AuditEntry.objects.filter(action="request.package_failed").get()
    assert entry.metadata["error"] == "RuntimeError"


def test_lifting_one_restriction_keeps_customers_another_restriction_names(team_a, steward, person):
    first = verified(new_request(team_a, steward, RequestKind.RESTRICTION), steward)
    second = verified(new_request(team_a, steward, RequestKind.RESTRICTION), steward)
    request_fulfil(subject_request=first, actor=steward)
    request_fulfil(subject_request=second, actor=steward)

    request_restriction_lift(subject_request=first, actor=steward)

    assert not Customer.objects.processable().filter(pk=person.pk).exists()
    with pytest.raises(RequestError) as raised:
        request_restriction_lift(subject_request=first, actor=steward)
    assert raised.value.field == "status"
    request_restriction_lift(subject_request=second, actor=steward)
    assert Customer.objects.processable().filter(pk=person.pk).exists()
