"""The data-subject request pages of the Privacy area: queue, intake, one request, each step."""

import datetime
import io
import json
import re
import time
import zipfile

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from customers.models import Customer
from privacy.core.reauth import SESSION_KEY
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
from tests.factories import UserFactory


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def person(team_a):
    return CustomerFactory(owner_team=team_a, email="ada@example.org", given_name="Ada")


@pytest.fixture
def ui(verified_client, steward):
    return verified_client(steward)


def new_request(team, actor, kind="access", **fields):
    fields.setdefault("subject_email", "ada@example.org")
    return request_create(team=team, kind=kind, channel="email", actor=actor, **fields)


def verified(data_request, actor):
    return request_verify(subject_request=data_request, method="email_confirmed", actor=actor)


def url(name, data_request=None):
    return reverse(name, kwargs={"pk": data_request.pk} if data_request else None)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def steps(data_request) -> list[str]:
    return list(
        AuditEntry.objects.filter(
            object_type="privacy.datasubjectrequest",
            object_id=str(data_request.pk),
            action__startswith="request.",
        )
        .exclude(action="request.view_personal_data")
        .order_by("id")
        .values_list("action", flat=True)
    )


def make_stale(client) -> None:
    """The session proved password and code an hour ago."""
    session = client.session
    session[SESSION_KEY] = time.time() - 3600
    session.save()


# --- The queue ----------------------------------------------------------------------------------


def test_the_queue_shows_open_requests_soonest_due_first_with_overdue_ones_highlighted(
    ui, steward, team_a, team_b, person
):
    # Given an overdue request, one on time, a closed one and another team's
    late = new_request(team_a, steward, received_at=timezone.now() - datetime.timedelta(days=40))
    on_time = new_request(team_a, steward, kind="erasure")
    closed = request_answer_record(
        subject_request=request_fulfil(
            subject_request=verified(
                new_request(team_a, steward, subject_email="nobody@example.org"), steward
            ),
            actor=steward,
        ),
        channel="email",
        actor=steward,
    )
    new_request(team_b, None)

    # When the steward opens the queue
    response = ui.get(url("request-list"))

    # Then the open requests of the team are listed, the overdue one highlighted and counted
    assert response.status_code == 200
    rows = [item for item, _days_left, _days_late in response.context["rows"]]
    assert rows == [late, on_time]
    html = response.content.decode()
    assert f'<tr data-request="{late.pk}" class="request-overdue">' in html
    assert f'<tr data-request="{on_time.pk}">' in html
    days_late = (timezone.localdate() - late.due_on).days
    assert f"{days_late} days late" in html
    counts = response.context["counts"]
    assert (counts.open, counts.overdue) == (2, 1)
    assert 'style="' not in html  # the content security policy forbids inline styles

    # And the filters narrow it
    overdue = ui.get(url("request-list"), {"overdue": "on"})
    every = ui.get(url("request-list"), {"status": "all"})
    erasures = ui.get(url("request-list"), {"kind": "erasure"})
    assert [row[0] for row in overdue.context["rows"]] == [late]
    assert {row[0] for row in every.context["rows"]} == {late, on_time, closed}
    assert [row[0] for row in erasures.context["rows"]] == [on_time]


def test_the_queue_runs_the_same_queries_for_one_request_or_many(ui, steward, team_a, person):
    new_request(team_a, steward)
    with CaptureQueriesContext(connection) as one:
        ui.get(url("request-list"))
    for _ in range(10):
        new_request(team_a, steward)
    with CaptureQueriesContext(connection) as eleven:
        response = ui.get(url("request-list"))

    assert len(response.context["rows"]) == 11
    assert len(eleven.captured_queries) == len(one.captured_queries)


def test_an_empty_queue_says_what_to_do(ui):
    response = ui.get(url("request-list"))

    assert b"No open requests" in response.content
    assert url("request-create").encode() in response.content


def test_roles_without_request_permissions_do_not_find_the_pages(
    verified_client, marketer_a, steward, team_a, person
):
    data_request = new_request(team_a, steward)
    client = verified_client(marketer_a)

    for response in (
        client.get(url("request-list")),
        client.get(url("request-create")),
        client.get(url("request-detail", data_request)),
        client.post(url("request-verify", data_request), {"verification_method": "knowledge"}),
        client.post(url("request-fulfil", data_request)),
    ):
        assert response.status_code == 404
    data_request.refresh_from_db()
    assert data_request.status == RequestStatus.RECEIVED
    assert steps(data_request) == ["request.create"]


def test_the_privacy_home_links_the_queue_with_its_overdue_count(
    verified_client, steward, marketer_a, team_a, person
):
    new_request(team_a, steward, received_at=timezone.now() - datetime.timedelta(days=40))

    steward_page = verified_client(steward).get(reverse("privacy-home")).content.decode()
    marketer_page = verified_client(marketer_a).get(reverse("privacy-home")).content.decode()

    assert url("request-list") in steward_page
    assert "1 open" in steward_page and "1 overdue" in steward_page
    assert url("request-list") not in marketer_page


# --- Intake -------------------------------------------------------------------------------------


def intake(**fields):
    return {
        "kind": "access",
        "channel": "email",
        "received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "subject_email": "ada@example.org",
        "subject_phone": "",
        "subject_name": "Ada",
        "details": "Everything please",
        "customer_ids": "",
        **fields,
    }


def test_intake_records_the_request_and_says_how_many_customers_were_found(
    ui, steward, team_a, person
):
    form = ui.get(url("request-create"))
    assert form.status_code == 200
    assert form.context["form"].fields["team"].widget.is_hidden  # one team: nothing to choose

    response = ui.post(url("request-create"), intake(), follow=True)

    data_request = DataSubjectRequest.objects.get()
    assert response.redirect_chain == [(url("request-detail", data_request), 302)]
    assert messages_of(response) == [
        f"Request #{data_request.pk} is recorded. 1 customer was found."
    ]
    assert (data_request.owner_team, data_request.customer_ids) == (team_a, [person.pk])
    assert data_request.created_by == steward


def test_intake_of_an_unknown_person_says_the_answer_will_be_no_data_held(ui):
    response = ui.post(url("request-create"), intake(subject_email="x@example.org"), follow=True)

    data_request = DataSubjectRequest.objects.get()
    assert messages_of(response) == [
        f"Request #{data_request.pk} is recorded. Nobody was found with these details, so the "
        "answer will be “no data held”."
    ]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"subject_email": "not an address"}, "subject_email"),
        ({"kind": ""}, "kind"),
        ({"customer_ids": "12, abc"}, "customer_ids"),
        ({"subject_email": ""}, "subject_email"),
    ],
    ids=["bad-email", "no-kind", "bad-customer-numbers", "nobody-named"],
)
def test_bad_intake_shows_the_error_on_its_field_and_records_nothing(ui, person, fields, field):
    response = ui.post(url("request-create"), intake(**fields))

    assert response.status_code == 200
    assert list(response.context["form"].errors) == [field]
    assert not DataSubjectRequest.objects.exists()


# --- One request --------------------------------------------------------------------------------


def test_the_detail_shows_what_was_asked_the_customers_and_the_steps_in_plain_words(
    ui, steward, team_a, person
):
    data_request = verified(new_request(team_a, steward, subject_name="Ada L."), steward)

    response = ui.get(url("request-detail", data_request))

    assert response.status_code == 200
    html = response.content.decode()
    assert "ada@example.org" in html and "Ada L." in html
    assert f'href="{reverse("customer-detail", kwargs={"pk": person.pk})}"' in html
    texts = [text for _entry, text in response.context["steps"]]
    assert texts == [
        "Received by Email and recorded; 1 customer found",
        "Identity verified: Confirmed from the email address on file",
    ]
    # Only the possible next steps are offered
    next_steps = response.context["next_steps"]
    assert (next_steps.verify, next_steps.fulfil, next_steps.extend) == (False, True, True)
    assert "Build the package of everything about 1 customer" in html
    assert url("request-verify", data_request) not in html
    # And reading the person's details is audited
    entry = AuditEntry.objects.get(action="request.view_personal_data")
    assert (entry.actor, entry.object_id) == (steward, str(data_request.pk))


def test_another_teams_request_is_not_found(ui, team_b):
    other = new_request(team_b, None)

    assert ui.get(url("request-detail", other)).status_code == 404
    assert ui.get(url("request-progress", other)).status_code == 404
    response = ui.post(url("request-reject", other), {"outcome_note": "No"})
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.status == RequestStatus.RECEIVED


def test_verify_extend_confirm_customers_and_reject_through_the_page(ui, steward, team_a, person):
    data_request = new_request(team_a, steward)
    colleague = CustomerFactory(owner_team=team_a)

    refused = ui.post(
        url("request-verify", data_request), {"verification_method": "other"}, follow=True
    )
    assert messages_of(refused) == ["Say how the identity was verified."]
    data_request.refresh_from_db()
    assert data_request.status == RequestStatus.RECEIVED

    ui.post(
        url("request-verify", data_request),
        {"verification_method": "other", "verification_note": "Video call"},
        follow=True,
    )
    ui.post(
        url("request-extend", data_request),
        {"months": "1", "extension_reason": "Many systems"},
        follow=True,
    )
    confirmed = ui.post(
        url("request-subjects", data_request),
        {"customer_ids": f"#{person.pk}, {colleague.pk}"},
        follow=True,
    )
    assert messages_of(confirmed) == ["The request concerns 2 customers."]
    ui.post(url("request-reject", data_request), {"outcome_note": "Withdrawn by the person"})

    data_request.refresh_from_db()
    # Other customers than those verified: the identity check has to be made again.
    assert (data_request.verification_note, data_request.verified_at) == ("", None)
    assert data_request.extension_months == 1
    assert data_request.customer_ids == sorted([person.pk, colleague.pk])
    assert (data_request.status, data_request.outcome_note) == (
        RequestStatus.REJECTED,
        "Withdrawn by the person",
    )
    assert steps(data_request) == [
        "request.create",
        "request.verify",
        "request.extend",
        "request.subjects",
        "request.reject",
    ]


def test_erasure_through_the_page_erases_and_the_steps_name_the_erasure(
    ui, steward, team_a, person
):
    data_request = verified(new_request(team_a, steward, kind="erasure"), steward)
    page = ui.get(url("request-detail", data_request))
    assert b"Erase 1 customer and everything about them" in page.content
    # A GET of the step's address is no second confirmation page: it leads to the request
    assert ui.get(url("request-fulfil", data_request))["Location"] == url(
        "request-detail", data_request
    )

    response = ui.post(url("request-fulfil", data_request), {"outcome_note": ""}, follow=True)

    assert messages_of(response) == [
        "The customers were erased with everything about them. Tell the person, then record "
        "how the answer was sent."
    ]
    assert not Customer.objects.filter(pk=person.pk).exists()
    texts = [text for _entry, text in response.context["steps"]]
    assert texts[-2:] == [
        "1 customer erased with everything about them",
        "Carried out: Fulfilled; the answer is still to be sent",
    ]
    assert response.context["customers"] == [(person.pk, False)]
    assert response.context["next_steps"].answer

    # When the steward records the answer sent: the erasure's answer form takes no note
    assert "answer_note" not in response.context["answer_form"].fields
    answered = ui.post(
        url("request-answer", data_request),
        {"answer_channel": "post", "answered_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")},
        follow=True,
    )
    assert messages_of(answered) == ["The answer is recorded as sent. The request is closed."]
    texts = [text for _entry, text in answered.context["steps"]]
    assert texts[-1] == "Answer sent by Post"


def test_a_request_that_matches_nobody_waits_for_verification_on_the_page(ui, steward, team_a):
    # Given an erasure request that matches nobody, not verified
    data_request = new_request(team_a, steward, kind="erasure", subject_email="nobody@example.org")

    # When the steward opens it and posts an answer anyway
    page = ui.get(url("request-detail", data_request))
    response = ui.post(url("request-fulfil", data_request), follow=True)

    # Then the page offers no answer, the post is refused with the reason, and nothing changed
    assert page.context["next_steps"].fulfil is False
    assert "Verify the person's identity before answering the request." in messages_of(response)
    data_request.refresh_from_db()
    assert (data_request.status, data_request.subject_email) == (
        RequestStatus.RECEIVED,
        "nobody@example.org",
    )


def test_answering_needs_a_recent_reauthentication_and_changes_nothing_without(
    ui, steward, team_a, person
):
    data_request = verified(new_request(team_a, steward, kind="erasure"), steward)
    make_stale(ui)

    response = ui.post(url("request-fulfil", data_request))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("reauth") + "?next=")
    assert Customer.objects.filter(pk=person.pk).exists()
    data_request.refresh_from_db()
    assert data_request.status == RequestStatus.VERIFIED


def test_restriction_through_the_page_marks_the_profile_until_lifted(ui, steward, team_a, person):
    data_request = verified(new_request(team_a, steward, kind="restriction"), steward)
    ui.post(url("request-fulfil", data_request))

    profile = ui.get(reverse("customer-detail", kwargs={"pk": person.pk}))
    assert b'data-badge="restricted"' in profile.content

    lifted = ui.post(url("request-lift", data_request), follow=True)
    assert messages_of(lifted) == ["The restriction is lifted: the customers are processed again."]
    profile = ui.get(reverse("customer-detail", kwargs={"pk": person.pk}))
    assert b'data-badge="restricted"' not in profile.content


def test_objection_marks_the_profile(ui, steward, team_a, person):
    data_request = verified(new_request(team_a, steward, kind="objection"), steward)
    ui.post(url("request-fulfil", data_request))

    profile = ui.get(reverse("customer-detail", kwargs={"pk": person.pk}))
    assert b'data-badge="objection"' in profile.content


def test_access_package_progress_download_and_expiry_through_the_page(
    ui, steward, team_a, person, media, django_capture_on_commit_callbacks
):
    # Given a verified access request answered through the page
    EventFactory.create_batch(2, customer=person)
    data_request = verified(new_request(team_a, steward), steward)
    with django_capture_on_commit_callbacks(execute=False):
        started = ui.post(url("request-fulfil", data_request), follow=True)
    assert messages_of(started) == ["The package is being built; this page shows its progress."]

    # Then while the package builds, the progress section polls itself
    polled = ui.get(url("request-progress", data_request), headers={"HX-Request": "true"})
    assert "HX-Refresh" not in polled
    building = polled.content.decode()
    assert f'hx-get="{url("request-progress", data_request)}"' in building
    assert 'hx-trigger="every 2s"' in building
    assert url("request-download", data_request) not in building

    # When the job has run (its body, as the worker would)
    request_package_build(request_id=data_request.pk)
    polled = ui.get(url("request-progress", data_request), headers={"HX-Request": "true"})
    ready = polled.content.decode()

    # Then polling stops, the page reloads once to show the answer, and offers the download
    assert polled["HX-Refresh"] == "true"
    assert "hx-trigger" not in ready
    assert url("request-download", data_request) in ready

    # And the download is a ZIP of the person's data, audited
    response = ui.get(url("request-download", data_request))
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    profile = json.loads(archive.read("data.json"))["categories"]["profile"]
    assert [row["id"] for row in profile] == [person.pk]
    assert "request.package_download" in steps(data_request)

    # When the session is stale, the download asks to re-authenticate first
    make_stale(ui)
    stale = ui.get(url("request-download", data_request))
    assert stale["Location"].startswith(reverse("reauth") + "?next=")
    assert steps(data_request).count("request.package_download") == 1

    # When the link has expired, the page says so and nothing is handed out
    session = ui.session
    session[SESSION_KEY] = time.time()
    session.save()
    DataSubjectRequest.objects.filter(pk=data_request.pk).update(
        package_expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    expired = ui.get(url("request-download", data_request), follow=True)
    assert messages_of(expired) == ["The download link has expired; build a new package."]
    assert steps(data_request)[-1] == "request.package_download_refused"


# --- Staff notes are personal data too ----------------------------------------------------------

NOTES = {
    "verification_note": "Called back on +4915123456789",
    "extension_reason": "Ada Lovelace's records are in three systems",
    "outcome_note": "Surname corrected from Byron to Lovelace",
}


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
    return request_fulfil(subject_request=data_request, note=NOTES["outcome_note"], actor=actor)


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


def test_the_page_masks_staff_notes_for_a_user_who_may_not_view_personal_data(
    verified_client, clerk, steward, team_a, person
):
    # Given a completed rectification request with notes that name the person
    data_request = noted_request(team_a, steward)

    # When a clerk without the permission opens it
    response = verified_client(clerk).get(url("request-detail", data_request))

    # Then the notes are there, but masked, and nothing is audited as a read of personal data
    assert response.status_code == 200
    html = response.content.decode()
    for note in NOTES.values():
        assert note not in html
    assert "Lovelace" not in html and "+4915123456789" not in html
    assert html.count('<div class="small pre">•••</div>') == 3
    assert not AuditEntry.objects.filter(action="request.view_personal_data").exists()


def test_the_page_shows_staff_notes_to_a_user_who_may_view_them_and_audits_it(
    ui, steward, team_a, person
):
    # Given a request whose contact details are gone, but whose notes name the person
    data_request = noted_request(team_a, steward)
    DataSubjectRequest.objects.filter(pk=data_request.pk).update(
        subject_email=None, subject_phone=None, subject_name=None, details=None
    )

    # When the steward opens it
    response = ui.get(url("request-detail", data_request))

    # Then the notes are shown, and the read is audited (the notes alone are personal data)
    html = response.content.decode()
    for note in NOTES.values():
        assert escape(note) in html
    entry = AuditEntry.objects.get(action="request.view_personal_data")
    assert (entry.actor, entry.object_id) == (steward, str(data_request.pk))


def test_the_admin_masks_staff_notes(ui, steward, team_a, person):
    # Given a request with notes (the admin masks the person's details for everyone)
    data_request = noted_request(team_a, steward)

    # When the steward opens it in the admin
    response = ui.get(reverse("admin:privacy_datasubjectrequest_change", args=[data_request.pk]))

    # Then no note is shown, only that there is one
    assert response.status_code == 200
    html = response.content.decode()
    assert "Lovelace" not in html and "three systems" not in html
    assert html.count('<div class="readonly">•••</div>') == 2


# --- One confirmation per step, and typed notes that survive ------------------------------------


def test_a_stale_session_confirms_by_reauthenticating_and_the_step_runs_with_its_note(
    ui, steward, team_a, person
):
    from tests.factories import TEST_PASSWORD
    from tests.privacy.test_reauth import next_code

    # Given a verified rectification and a session that proved itself an hour ago
    data_request = verified(new_request(team_a, steward, kind="rectification"), steward)
    make_stale(ui)
    page = ui.get(url("request-detail", data_request))
    # The page asks no question of its own: the re-authentication will be the confirmation
    fulfil_form = re.search(
        rf'<form[^>]*action="{url("request-fulfil", data_request)}"[^>]*>', page.content.decode()
    ).group(0)
    assert "data-confirm" not in fulfil_form

    # When the steward carries it out with a note
    posted = ui.post(url("request-fulfil", data_request), {"outcome_note": "Surname corrected"})

    # Then the re-authentication page says what it confirms, and nothing happened yet
    assert posted.status_code == 302
    reauth_page = ui.get(posted["Location"])
    assert b"Carry the request out now?" in reauth_page.content
    data_request.refresh_from_db()
    assert data_request.status == RequestStatus.VERIFIED

    # When the steward gives the password and a code
    next_url = reauth_page.context["next"]
    done = ui.post(
        reverse("reauth"),
        {"password": TEST_PASSWORD, "token": next_code(steward), "next": next_url},
        follow=True,
    )

    # Then the step is carried out at once, with the note as typed, and no confirmation page
    assert messages_of(done) == ["Done. Tell the person, then record how the answer was sent."]
    data_request.refresh_from_db()
    assert (data_request.status, data_request.outcome_note) == (
        RequestStatus.CARRIED_OUT,
        "Surname corrected",
    )
    # And the kept POST is taken once: coming back to the address does nothing more
    again = ui.get(next_url)
    assert again.status_code == 302 and again["Location"] == url("request-detail", data_request)
    assert steps(data_request).count("request.fulfil") == 1


def test_a_kept_post_is_not_carried_out_at_another_address(ui, steward, team_a, person):
    first = verified(new_request(team_a, steward, kind="rectification"), steward)
    second = verified(new_request(team_a, steward, kind="rectification"), steward)
    make_stale(ui)
    posted = ui.post(url("request-fulfil", first), {"outcome_note": "Corrected"})
    key = posted["Location"].rpartition("replay%3D")[2]
    session = ui.session
    session["marketbase_reauth_at"] = time.time()
    session.save()

    ui.get(f"{url('request-fulfil', second)}?replay={key}")

    for data_request in (first, second):
        data_request.refresh_from_db()
        assert data_request.status == RequestStatus.VERIFIED


def test_a_refused_step_comes_back_with_what_was_typed(ui, steward, team_a, person):
    # Given a verified rectification
    data_request = verified(new_request(team_a, steward, kind="rectification"), steward)

    # When the steward carries it out without saying what was corrected, then records an
    # answer with a date in the future
    refused = ui.post(url("request-fulfil", data_request), {"outcome_note": "   "})

    # Then the page comes back with the reason, the request unchanged
    assert refused.status_code == 400
    assert messages_of(refused) == ["Say what was corrected."]
    data_request.refresh_from_db()
    assert data_request.status == RequestStatus.VERIFIED

    request_fulfil(subject_request=data_request, note="Birth date", actor=steward)
    future = (timezone.localtime() + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    answer = ui.post(
        url("request-answer", data_request),
        {"answer_channel": "email", "answered_at": future, "answer_note": "Mail ref 4711"},
    )
    assert answer.status_code == 400
    assert messages_of(answer) == ["An answer cannot be sent in the future."]
    html = answer.content.decode()
    assert "Mail ref 4711</textarea>" in html
    assert f'value="{future}"' in html
    data_request.refresh_from_db()
    assert (data_request.status, data_request.answered_at) == (RequestStatus.CARRIED_OUT, None)


def test_the_queue_counts_an_answered_request_to_the_day_of_its_answer(ui, steward, team_a, person):
    # Given a request received 40 days ago, carried out, and answered today (late)
    data_request = new_request(
        team_a, steward, kind="objection", received_at=timezone.now() - datetime.timedelta(days=40)
    )
    request_fulfil(subject_request=verified(data_request, steward), actor=steward)
    request_answer_record(subject_request=data_request, channel="email", actor=steward)
    data_request.refresh_from_db()

    # When the steward lists every request
    response = ui.get(url("request-list"), {"status": "all"})

    # Then it is not overdue any more, and says how late the answer was
    [(item, days_left, days_late)] = response.context["rows"]
    assert not item.is_overdue
    late = (timezone.localdate() - data_request.due_on).days
    assert (days_left, days_late) == (-late, late)
    assert f"answered {late} days late" in response.content.decode()
    assert response.context["counts"].overdue == 0
