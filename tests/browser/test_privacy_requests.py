"""Data-subject requests and the preference centre, in a browser, with a real worker.

The access package is built by a Celery worker process: the live server's ``on_commit`` enqueues
the job on the test broker, and the worker (started against the test database) runs it.
"""

import io
import json
import re
import zipfile
from importlib import import_module

import pytest
from django.conf import settings as django_settings
from django_otp.oath import totp
from playwright.sync_api import expect

from config.celery import app
from customers.models import Customer
from privacy.consent.selectors import consent_state
from privacy.consent.services.links import preference_url
from privacy.consent.services.records import consent_record
from privacy.core import roles
from privacy.core.reauth import SESSION_KEY
from privacy.models import ConsentStatus, DataSubjectRequest, RequestStatus
from tests.conftest import totp_now
from tests.customers.factories import CustomerFactory, EventFactory, PurchaseFactory
from tests.factories import TEST_PASSWORD, TeamFactory, TOTPDeviceFactory, UserFactory

WAIT_MS = 120_000


def sign_in(page, base_url, user, device):
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Six-digit code from your authenticator app").fill(totp_now(device))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(f"{base_url}/")


def next_code(device) -> str:
    """The code of the next 30 seconds: the sign-in already used the current one."""
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=1)
    return f"{code:06d}"


def make_session_stale(page) -> None:
    """As if the sign-in had been an hour ago: the next sensitive step asks again."""
    engine = import_module(django_settings.SESSION_ENGINE)
    cookie = next(c for c in page.context.cookies() if c["name"] == "sessionid")
    session = engine.SessionStore(session_key=cookie["value"])
    session[SESSION_KEY] = session[SESSION_KEY] - 3600
    session.save()


@pytest.fixture
def steward_in_browser(transactional_db, live_server, page):
    team = TeamFactory(group__name="Retail")
    user = UserFactory(roles=[roles.DATA_STEWARD], teams=[team])
    device = TOTPDeviceFactory(user=user)
    sign_in(page, live_server.url, user, device)
    page.on("dialog", lambda dialog: dialog.accept())  # the data-confirm questions
    return team, user, device


@pytest.mark.browser
@pytest.mark.worker
def test_a_steward_takes_an_access_request_from_intake_to_the_answer_sent(
    steward_in_browser, live_server, page, celery_worker_process, settings, tmp_path
):
    # Given Ada, a customer with events and a purchase, and a worker on the default queue that
    # stores packages where the live server reads them
    team, _user, device = steward_in_browser
    questions = []  # every question the browser asks (each one also accepted by the fixture)
    page.on("dialog", lambda dialog: questions.append(dialog.message))
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    ada = CustomerFactory(owner_team=team, email="ada@example.org", given_name="Ada")
    EventFactory.create_batch(3, customer=ada)
    PurchaseFactory(customer=ada)
    with app.connection_for_write() as broker:
        broker.default_channel.queue_purge(app.conf.task_default_queue)
    celery_worker_process(app.conf.task_default_queue, TEST_MEDIA_ROOT=str(media))
    base_url = live_server.url

    # When the steward opens the queue from the Privacy area and records her request
    page.goto(f"{base_url}/privacy/")
    page.locator("[data-card=requests]").click()
    expect(page.get_by_role("heading", name="No open requests")).to_be_visible()
    page.get_by_role("link", name="Record a request").first.click()
    page.get_by_label("What the person asks for").select_option("access")
    page.get_by_label("Received by").select_option("email")
    page.get_by_label("Email").fill("Ada@Example.org")
    page.get_by_label("Name", exact=True).fill("Ada")
    page.get_by_label("What the person wrote").fill("Please send me a copy of my data.")
    page.get_by_role("button", name="Record the request").click()

    # Then the request page says Ada was found
    data_request = DataSubjectRequest.objects.get()
    expect(page).to_have_url(f"{base_url}/privacy/requests/{data_request.pk}/")
    expect(page.locator(".message.success")).to_have_text(
        f"Request #{data_request.pk} is recorded. 1 customer was found."
    )
    expect(page.locator("#request-customers")).to_contain_text(f"Customer #{ada.pk}")

    # When the steward records the identity check (one click, no question)
    page.get_by_label("How the identity was checked").select_option("email_confirmed")
    page.get_by_role("button", name="Record the identity as verified").click()
    expect(page.locator(".message.success")).to_have_text(
        "The person's identity is recorded as verified."
    )
    assert questions == []

    # When, with a session signed in an hour ago, the steward types a note and builds the package
    make_session_stale(page)
    page.reload()
    page.get_by_label("Note on the answer").fill("Ada asked for the portal, not email.")
    page.get_by_role("button", name="Build the package of everything about 1 customer").click()

    # Then the one confirmation is the re-authentication, which says what it confirms
    expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    expect(page.locator("[data-pending]")).to_contain_text(
        "Build the package of everything held about these customers?"
    )
    assert questions == []
    data_request.refresh_from_db()
    assert data_request.status == RequestStatus.VERIFIED  # nothing happened yet
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_label("Six-digit code from your authenticator app").fill(next_code(device))
    page.get_by_role("button", name="Confirm").click()

    # Then the build starts at once, with the note as typed: no second confirmation
    expect(page.locator(".message.success")).to_have_text(
        "The package is being built; this page shows its progress."
    )
    assert questions == []
    data_request.refresh_from_db()
    assert data_request.outcome_note == "Ada asked for the portal, not email."

    # And the page follows the worker's progress until the package is ready, not answered
    expect(page.locator(".request-ready")).to_be_visible(timeout=WAIT_MS)
    data_request.refresh_from_db()
    assert (data_request.status, data_request.outcome) == (
        RequestStatus.PACKAGE_READY,
        "fulfilled",
    )
    expect(page.locator("#record-answer")).to_be_visible()
    expect(page.get_by_text("Ada asked for the portal, not email.")).to_be_visible()

    # When the steward downloads the package
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the package (ZIP)").click()
    saved = tmp_path / "package.zip"
    download_info.value.save_as(saved)

    # Then it is a ZIP holding data.json with Ada's profile and events
    archive = zipfile.ZipFile(io.BytesIO(saved.read_bytes()))
    assert "data.json" in archive.namelist()
    data = json.loads(archive.read("data.json"))
    assert [row["id"] for row in data["categories"]["profile"]] == [ada.pk]
    assert len(data["categories"]["events"]) == 3

    # When the steward records how the package was sent, with a note (one click, no question)
    page.reload()
    page.get_by_label("Sent by").select_option("portal")
    page.locator("#record-answer").get_by_label("Note").fill("Portal message 2291")
    page.get_by_role("button", name="Record the answer as sent").click()

    # Then the request is answered and closed, and only now
    expect(page.locator(".message.success")).to_have_text(
        "The answer is recorded as sent. The request is closed."
    )
    assert questions == []
    data_request.refresh_from_db()
    assert (data_request.status, data_request.answer_channel) == (
        RequestStatus.COMPLETED,
        "portal",
    )
    assert data_request.answer_note == "Portal message 2291"
    expect(page.locator("[data-answer]")).to_contain_text("Customer portal or download link")

    # And the steps list the whole way, in plain words, with nobody answering for "System"
    steps = page.locator("#request-steps tbody tr")
    expect(steps.first).to_contain_text("Received by Email and recorded; 1 customer found")
    expect(steps.last).to_contain_text("Answer sent by Customer portal or download link")
    expect(page.locator("#request-steps")).to_contain_text("Package downloaded")
    expect(page.locator("#request-steps")).not_to_contain_text("Answered: Fulfilled")


@pytest.mark.browser
def test_an_erasure_request_erases_the_customer_after_reauthentication(
    steward_in_browser, live_server, page
):
    # Given a verified erasure request for Ada, and a session signed in an hour ago
    team, _user, device = steward_in_browser
    ada = CustomerFactory(owner_team=team, email="ada@example.org", given_name="Ada")
    base_url = live_server.url
    page.goto(f"{base_url}/privacy/requests/new/")
    page.get_by_label("What the person asks for").select_option("erasure")
    page.get_by_label("Received by").select_option("post")
    page.get_by_label("Email").fill("ada@example.org")
    page.get_by_role("button", name="Record the request").click()
    page.get_by_label("How the identity was checked").select_option("identity_document")
    page.get_by_role("button", name="Record the identity as verified").click()
    expect(page.locator(".message.success")).to_be_visible()
    data_request = DataSubjectRequest.objects.get()
    make_session_stale(page)

    # When the steward erases: the password and a code are asked for first
    page.get_by_role("button", name="Erase 1 customer and everything about them").click()
    expect(page).to_have_url(
        re.compile(
            re.escape(
                f"{base_url}/accounts/reauth/?next=%2Fprivacy%2Frequests%2F{data_request.pk}"
                "%2Ffulfil%2F%3Freplay%3D"
            )
        )
    )
    assert Customer.objects.filter(pk=ada.pk).exists()  # nothing happened yet
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_label("Six-digit code from your authenticator app").fill(next_code(device))
    page.get_by_role("button", name="Confirm").click()

    # Then the erasure is carried out at once: the re-authentication was its confirmation
    expect(page.locator(".message.success")).to_have_text(
        "The customers were erased with everything about them. Tell the person, then record "
        "how the answer was sent."
    )
    expect(page.locator("#request-steps")).to_contain_text(
        "1 customer erased with everything about them"
    )
    assert not Customer.objects.filter(pk=ada.pk).exists()
    data_request.refresh_from_db()
    assert (data_request.status, data_request.subject_email) == (RequestStatus.CARRIED_OUT, None)

    # And the customer's profile is gone
    response = page.goto(f"{base_url}/customers/{ada.pk}/")
    assert response.status == 404


@pytest.mark.browser
def test_a_recently_proven_session_confirms_a_step_with_one_question(
    steward_in_browser, live_server, page
):
    # Given a verified restriction request, and a session that signed in just now
    team, _user, _device = steward_in_browser
    questions = []
    page.on("dialog", lambda dialog: questions.append(dialog.message))
    CustomerFactory(owner_team=team, email="ada@example.org")
    base_url = live_server.url
    page.goto(f"{base_url}/privacy/requests/new/")
    page.get_by_label("What the person asks for").select_option("restriction")
    page.get_by_label("Received by").select_option("email")
    page.get_by_label("Email").fill("ada@example.org")
    page.get_by_role("button", name="Record the request").click()
    page.get_by_label("How the identity was checked").select_option("email_confirmed")
    page.get_by_role("button", name="Record the identity as verified").click()
    expect(page.locator(".message.success")).to_be_visible()

    # When the steward restricts processing
    page.get_by_role("button", name="Restrict processing of 1 customer").click()

    # Then the browser asked once, no re-authentication was needed, and the request waits for
    # its answer
    expect(page.locator(".message.success")).to_have_text(
        "Done. Tell the person, then record how the answer was sent."
    )
    assert questions == ["Carry the request out now? You then tell the person what was done."]
    assert DataSubjectRequest.objects.get().status == RequestStatus.CARRIED_OUT


@pytest.mark.browser
def test_a_preference_centre_link_withdraws_email_consent(
    transactional_db, live_server, page, settings
):
    # Given Ada, who agreed to email marketing, and her preference-centre link from an email
    settings.PUBLIC_BASE_URL = live_server.url
    team = TeamFactory(group__name="Retail")
    ada = CustomerFactory(owner_team=team, email="ada@example.org")
    consent_record(
        customer=ada,
        purpose_code="email_marketing",
        channel="email",
        status=ConsentStatus.GRANTED,
        source="form",
    )

    # When she opens the link, without signing in, and withdraws email marketing
    page.goto(preference_url(ada))
    expect(page.get_by_role("heading", name="Your communication preferences")).to_be_visible()
    page.get_by_role("button", name="Withdraw: Email marketing (Email)").click()

    # Then the page confirms, shows the purpose as withdrawn, and offers to agree again
    expect(page.get_by_role("status")).to_have_text("Your choices were saved.")
    expect(page.get_by_role("button", name="Agree: Email marketing (Email)")).to_be_visible()
    state = {
        (row["purpose_code"], row["channel"]): row for row in consent_state(ada) if row["status"]
    }
    email = state[("email_marketing", "email")]
    assert (email["status"], email["is_granted"], email["source"]) == (
        ConsentStatus.WITHDRAWN,
        False,
        "preference_centre",
    )
