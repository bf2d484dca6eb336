"""Carrying a request out is not answering it: the answer sent is recorded, and stops the clock."""

import datetime
from datetime import UTC

import pytest
from django.utils import timezone

from privacy.models import AuditEntry, DataSubjectRequest, RequestKind, RequestStatus
from privacy.requests.selectors import request_counts, requests_with_overdue
from privacy.requests.services.alerts import requests_overdue_alert
from privacy.requests.services.lifecycle import (
    RequestError,
    request_answer_record,
    request_fulfil,
    request_is_overdue,
    request_reject,
    request_restriction_lift,
)
from privacy.requests.services.package import request_package_build
from tests.customers.factories import CustomerFactory, EventFactory
from tests.privacy.test_requests import new_request, steps, verified


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def person(team_a):
    return CustomerFactory(owner_team=team_a, email="ada@example.org")


def received_days_ago(days: int) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(days=days)


def is_overdue_in_sql(request: DataSubjectRequest) -> bool:
    return requests_with_overdue().get(pk=request.pk).is_overdue


def test_a_built_package_is_ready_not_answered_and_the_clock_runs_until_it_is_sent(
    team_a, steward, person
):
    # Given a verified access request received 40 days ago (past its one-month deadline)
    EventFactory.create_batch(2, customer=person)
    request = verified(new_request(team_a, steward, received_at=received_days_ago(40)), steward)

    # When the worker builds the package
    request_fulfil(subject_request=request, actor=steward)
    request = request_package_build(request_id=request.pk)

    # Then the package is ready but the request is still open, unanswered and overdue
    assert request.status == RequestStatus.PACKAGE_READY
    assert (request.is_open, request.answered_at) == (True, None)
    assert request.package and request.outcome == "fulfilled"
    assert request_is_overdue(request) and is_overdue_in_sql(request)
    assert request_counts(steward).overdue == 1
    # and nobody "fulfilled" it on the person's behalf: the worker only made the package
    assert steps(request) == [
        "request.create",
        "request.verify",
        "request.package_start",
        "request.package_ready",
    ]

    # When the steward records that the package went out through the portal just now
    sent_at = timezone.now()
    request = request_answer_record(
        subject_request=request,
        channel="portal",
        sent_at=sent_at,
        note="Link sent with the reference in the letter.",
        actor=steward,
    )

    # Then the request is answered, and the clock stopped at the answer: no longer overdue
    assert request.status == RequestStatus.COMPLETED
    assert (request.answered_at, request.answer_channel, request.answered_by) == (
        sent_at,
        "portal",
        steward,
    )
    assert request.answer_note == "Link sent with the reference in the letter."
    assert not request_is_overdue(request) and not is_overdue_in_sql(request)
    counts = request_counts(steward)
    assert (counts.open, counts.overdue) == (0, 0)
    entry = AuditEntry.objects.get(action="request.answer")
    assert (entry.actor, entry.metadata["channel"], entry.metadata["was_overdue"]) == (
        steward,
        "portal",
        True,
    )
    assert "Link sent" not in str(entry.metadata)  # the audit log keeps no notes


@pytest.mark.parametrize(
    ("kind", "note"),
    [
        pytest.param(RequestKind.ERASURE, "", id="erasure"),
        pytest.param(RequestKind.RESTRICTION, "", id="restriction"),
        pytest.param(RequestKind.OBJECTION, "", id="objection"),
        pytest.param(RequestKind.RECTIFICATION, "Fixed the birth date.", id="rectification"),
    ],
)
def test_each_kind_is_carried_out_then_answered(team_a, steward, person, kind, note):
    # Given a verified request of this kind
    request = verified(new_request(team_a, steward, kind), steward)

    # When staff carry it out
    request = request_fulfil(subject_request=request, note=note, actor=steward)

    # Then the action is done but the request waits for its answer, still open
    assert (request.status, request.outcome) == (RequestStatus.CARRIED_OUT, "fulfilled")
    assert request.is_open and request.answered_at is None and request.completed_at is not None
    assert DataSubjectRequest.objects.filter(status__in=["carried_out"]).count() == 1

    # When the answer is recorded as sent by post
    request = request_answer_record(subject_request=request, channel="post", actor=steward)

    # Then it is answered and closed
    assert request.status == RequestStatus.COMPLETED and not request.is_open
    assert request.answered_at is not None and request.answer_channel == "post"
    assert steps(request)[-2:] == ["request.fulfil", "request.answer"]


def test_no_data_held_is_answered_only_once_sent(team_a, steward):
    request = verified(new_request(team_a, steward, subject_email="nobody@example.org"), steward)

    request = request_fulfil(subject_request=request, actor=steward)

    assert (request.status, request.outcome) == (RequestStatus.CARRIED_OUT, "no_data_held")
    request = request_answer_record(subject_request=request, channel="email", actor=steward)
    assert request.status == RequestStatus.COMPLETED


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param({"channel": "pigeon"}, "answer_channel", id="unknown-channel"),
        pytest.param(
            {"sent_at": timezone.now() + datetime.timedelta(days=1)},
            "answered_at",
            id="in-the-future",
        ),
        pytest.param(
            {"sent_at": datetime.datetime(2020, 1, 1, tzinfo=UTC)},
            "answered_at",
            id="before-it-was-carried-out",
        ),
    ],
)
def test_a_wrong_answer_record_names_its_field_and_changes_nothing(
    team_a, steward, person, change, field
):
    request = request_fulfil(
        subject_request=verified(new_request(team_a, steward, RequestKind.OBJECTION), steward),
        actor=steward,
    )
    arguments = {"channel": "email", "note": "Sent", **change}

    with pytest.raises(RequestError) as raised:
        request_answer_record(subject_request=request, actor=steward, **arguments)

    assert raised.value.field == field
    request.refresh_from_db()
    assert (request.status, request.answered_at, request.answer_note) == (
        RequestStatus.CARRIED_OUT,
        None,
        "",
    )
    assert "request.answer" not in steps(request)


def test_an_answer_is_recorded_only_after_the_request_is_carried_out_and_only_once(
    team_a, steward, person
):
    request = verified(new_request(team_a, steward, RequestKind.RESTRICTION), steward)
    with pytest.raises(RequestError) as raised:
        request_answer_record(subject_request=request, channel="email", actor=steward)
    assert raised.value.field == "status"

    request = request_fulfil(subject_request=request, actor=steward)
    # A restriction is in force from the moment it is carried out: it can be lifted before the
    # answer is recorded, and the answer still recorded after
    request_restriction_lift(subject_request=request, actor=steward)
    request = request_answer_record(subject_request=request, channel="email", actor=steward)
    with pytest.raises(RequestError) as raised:
        request_answer_record(subject_request=request, channel="post", actor=steward)
    assert raised.value.field == "status"
    request.refresh_from_db()
    assert request.answer_channel == "email"


def test_an_erasure_answer_keeps_no_note_about_the_person(team_a, steward, person):
    request = request_fulfil(
        subject_request=verified(new_request(team_a, steward, RequestKind.ERASURE), steward),
        actor=steward,
    )
    with pytest.raises(RequestError) as raised:
        request_answer_record(
            subject_request=request, channel="email", note="Told Ada", actor=steward
        )
    assert raised.value.field == "answer_note"


def test_a_carried_out_request_can_no_longer_be_refused_or_carried_out_again(
    team_a, steward, person
):
    request = request_fulfil(
        subject_request=verified(new_request(team_a, steward, RequestKind.OBJECTION), steward),
        actor=steward,
    )
    for attempt in (
        lambda: request_fulfil(subject_request=request, actor=steward),
        lambda: request_answer_record(subject_request=request, channel="x", actor=steward),
    ):
        with pytest.raises(RequestError):
            attempt()
    with pytest.raises(RequestError) as raised:
        request_reject(subject_request=request, reason="Changed our mind", actor=steward)
    assert raised.value.field == "status"
    request.refresh_from_db()
    assert request.status == RequestStatus.CARRIED_OUT


def test_overdue_reminders_go_on_while_a_package_waits_to_be_sent(team_a, steward, person):
    # Given an access request past its deadline whose package is ready but not sent
    steward.email = "steward@example.com"
    steward.save()
    request = verified(new_request(team_a, steward, received_at=received_days_ago(40)), steward)
    request_fulfil(subject_request=request, actor=steward)
    request_package_build(request_id=request.pk)

    # Then the daily reminder still names it
    assert requests_overdue_alert().requests == 1

    # And once the answer is recorded, the next day's reminder does not
    request_answer_record(subject_request=request, channel="email", actor=steward)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    assert requests_overdue_alert(today=tomorrow).requests == 0


def test_the_migration_dates_the_answers_of_requests_completed_before_it(team_a):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    # Given the database before migration 0011, with a completed request and an open one
    before, after = (
        ("privacy", "0010_suppression_of_external_ids"),
        ("privacy", "0011_request_answer"),
    )
    executor = MigrationExecutor(connection)
    executor.migrate([before])
    old_requests = executor.loader.project_state([before]).apps.get_model(
        "privacy", "DataSubjectRequest"
    )
    completed_at = timezone.now() - datetime.timedelta(days=3)
    common = {
        "owner_team_id": team_a.pk,
        "kind": "access",
        "channel": "email",
        "received_at": completed_at,
        "due_on": completed_at.date(),
    }
    completed = old_requests.objects.create(status="completed", completed_at=completed_at, **common)
    still_open = old_requests.objects.create(status="verified", **common)

    # When the migration runs (the rows' deferred checks first: the test runs in a transaction)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    executor.loader.build_graph()
    executor.migrate([after])

    # Then the completed request counts as answered when it was completed; the open one not
    answered = dict(
        DataSubjectRequest.objects.filter(pk__in=[completed.pk, still_open.pk]).values_list(
            "pk", "answered_at"
        )
    )
    assert answered == {completed.pk: completed_at, still_open.pk: None}


def test_erasing_the_person_forgets_the_notes_on_answers_sent_to_them(team_a, steward, person):
    from privacy.erasure.services.erasure import subject_erase

    # Given an answered objection whose answer note names the person
    request = request_fulfil(
        subject_request=verified(new_request(team_a, steward, RequestKind.OBJECTION), steward),
        actor=steward,
    )
    request_answer_record(
        subject_request=request, channel="post", note="Letter to Ada, 3 Byron St", actor=steward
    )

    # When the person is erased
    subject_erase(customer_ids=[person.pk], team=team_a, actor=steward, reason="request")

    # Then the request keeps how and when it was answered, but not the note
    request.refresh_from_db()
    assert (request.answer_channel, request.answer_note) == ("post", "")
    assert request.answered_at is not None
