"""Data-subject requests and the preference centre, in a browser, with a real worker.

The access package is built by a Celery worker process: the live server's ``on_commit`` enqueues
the job on the test broker, and the worker (started against the test database) runs it.
"""

import io
import json
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
def test_a_steward_takes_an_access_request_from_intake_to_download(
    steward_in_browser, live_server, page, celery_worker_process, settings, tmp_path
):
    # Given Ada, a customer with events and a purchase, and a worker on the default queue that
    # stores packages where the live server reads them
    team, _user, _device = steward_in_browser
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

    # When the steward records the identity check, then builds the package
    page.get_by_label("How the identity was checked").select_option("email_confirmed")
    page.get_by_role("button", name="Record the identity as verified").click()
    expect(page.locator(".message.success")).to_have_text(
        "The person's identity is recorded as verified."
    )
    page.get_by_role("button", name="Build the package of everything about 1 customer").click()

    # Then the page follows the worker's progress until the package is ready
    expect(page.locator(".message.success")).to_have_text(
        "The package is being built; this page shows its progress."
    )
    expect(page.locator(".request-ready")).to_be_visible(timeout=WAIT_MS)
    data_request.refresh_from_db()
    assert (data_request.status, data_request.outcome) == (RequestStatus.COMPLETED, "fulfilled")

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

    # And the steps list the whole way, in plain words
    page.reload()
    steps = page.locator("#request-steps tbody tr")
    expect(steps.first).to_contain_text("Received by Email and recorded; 1 customer found")
    expect(steps.last).to_contain_text("Package downloaded")


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
        f"{base_url}/accounts/reauth/?next=%2Fprivacy%2Frequests%2F{data_request.pk}%2Ffulfil%2F"
    )
    assert Customer.objects.filter(pk=ada.pk).exists()  # nothing happened yet
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_label("Six-digit code from your authenticator app").fill(next_code(device))
    page.get_by_role("button", name="Confirm").click()

    # Then the confirmation page asks once more, and erasing closes the request
    page.get_by_role("button", name="Erase 1 customer and everything about them").click()
    expect(page.locator(".message.success")).to_have_text(
        "The customers were erased with everything about them. The request is closed."
    )
    expect(page.locator("#request-steps")).to_contain_text(
        "1 customer erased with everything about them"
    )
    assert not Customer.objects.filter(pk=ada.pk).exists()
    data_request.refresh_from_db()
    assert (data_request.status, data_request.subject_email) == (RequestStatus.COMPLETED, None)

    # And the customer's profile is gone
    response = page.goto(f"{base_url}/customers/{ada.pk}/")
    assert response.status == 404


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
