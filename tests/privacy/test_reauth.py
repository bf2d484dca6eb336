"""Re-authentication before exports of personal data and erasures (privacy/core/reauth.py)."""

import time
from urllib.parse import urlencode

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from customers.models import Customer, ImportJob, ImportStatus
from privacy.core import roles
from privacy.core.reauth import SESSION_KEY
from privacy.models import AuditEntry
from tests.conftest import totp_now
from tests.customers.factories import CustomerFactory
from tests.factories import TEST_PASSWORD, TOTPDeviceFactory, api_token_for

REAUTH = "/accounts/reauth/"


def make_stale(client, seconds: int | None = None) -> None:
    """Age the session's last proof of password and code."""
    session = client.session
    age = settings.REAUTH_MAX_AGE_SECONDS + 1 if seconds is None else seconds
    session[SESSION_KEY] = time.time() - age
    session.save()


def next_code(user) -> str:
    """The code the user's app shows in the next 30-second step.

    The sign-in used this step's code, and a TOTP code is accepted once only.
    """
    device = TOTPDevice.objects.get(user=user)
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=1)
    return f"{code:06d}"


def wrong_code(user) -> str:
    return f"{(int(next_code(user)) + 1) % 1_000_000:06d}"


def reauth_location(path: str) -> str:
    return f"{REAUTH}?{urlencode({'next': path})}"


def audited_actions(user=None) -> list[str]:
    entries = AuditEntry.objects.order_by("pk")
    if user is not None:
        entries = entries.filter(actor=user)
    return list(entries.values_list("action", flat=True))


@pytest.fixture
def administrator(make_user, team_a):
    """Holds customers.delete_customer through the Administrator role; not a superuser."""
    return make_user(roles.ADMINISTRATOR, team_a)


@pytest.fixture
def customer(team_a):
    return CustomerFactory(owner_team=team_a, given_name="Ann", email="ann@example.com")


@pytest.fixture
def import_job(team_a, marketer_a):
    return ImportJob.objects.create(
        owner_team=team_a,
        created_by=marketer_a,
        file="imports/reauth.csv",
        original_filename="reauth.csv",
        status=ImportStatus.SUCCEEDED,
    )


# --- Signing in is a proof; an old proof is not enough --------------------------------------------


def test_signing_in_with_password_and_code_counts_as_a_recent_proof(
    verified_client, steward, import_job
):
    # Given a data steward who has just signed in
    client = verified_client(steward)

    # When she downloads an import's row report
    response = client.get(f"/customers/imports/{import_job.pk}/report.csv")

    # Then it is served without asking again
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert AuditEntry.objects.filter(action="import.report_download").count() == 1


def test_confirming_a_new_authenticator_counts_as_a_recent_proof(client, steward, import_job):
    # Given a data steward enrolling her first authenticator app at sign-in
    client.post("/accounts/login/", {"username": steward.username, "password": TEST_PASSWORD})
    client.get("/accounts/mfa/setup/")
    device = TOTPDevice.objects.get(user=steward, confirmed=False)
    client.post("/accounts/mfa/setup/", {"token": totp_now(device)})

    # When she downloads an import's row report
    response = client.get(f"/customers/imports/{import_job.pk}/report.csv")

    # Then it is served without asking again
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("age", "is_recent"),
    [(10, True), (299, True), (301, False), (86_400, False)],
    ids=["10s", "299s", "301s", "a-day"],
)
def test_a_proof_is_recent_for_the_configured_time(
    verified_client, steward, import_job, settings, age, is_recent
):
    # Given proofs of various ages, with the default five minutes
    settings.REAUTH_MAX_AGE_SECONDS = 300
    client = verified_client(steward)
    make_stale(client, seconds=age)

    # When the row report is asked for
    response = client.get(f"/customers/imports/{import_job.pk}/report.csv")

    # Then it is served only while the proof is recent
    assert (response.status_code == 200) is is_recent


@pytest.mark.parametrize(
    ("role", "path"),
    [
        ("steward", "/customers/imports/{job}/report.csv"),
        ("steward", "/customers/export/?q=ann"),
        ("steward", "/privacy/audit/export/?action=auth."),
        ("administrator", "/customers/{customer}/erase/"),
    ],
    ids=["import-report", "customer-export", "audit-export", "erase-confirmation"],
)
def test_a_stale_session_is_sent_to_reauthenticate_and_nothing_is_disclosed(
    verified_client, steward, administrator, import_job, customer, role, path
):
    # Given a user whose last proof is older than REAUTH_MAX_AGE_SECONDS
    user = {"steward": steward, "administrator": administrator}[role]
    client = verified_client(user)
    make_stale(client)
    path = path.format(job=import_job.pk, customer=customer.pk)
    before = audited_actions()

    # When the user opens an export or the erase page
    response = client.get(path)

    # Then the re-authentication page is asked for, to come back to the same address
    assert response.status_code == 302
    assert response["Location"] == reauth_location(path)
    # ...and nothing was exported, audited or erased
    assert audited_actions() == before
    assert Customer.objects.filter(pk=customer.pk).exists()


# --- The re-authentication page -------------------------------------------------------------------


def test_the_page_asks_for_password_and_code(verified_client, steward):
    client = verified_client(steward)
    response = client.get(f"{REAUTH}?next=/privacy/audit/export/")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'name="password"' in page
    assert 'name="token"' in page
    assert 'value="/privacy/audit/export/"' in page


def test_the_right_password_and_code_lead_back_and_are_audited(verified_client, steward):
    # Given a steward with a stale session
    client = verified_client(steward)
    make_stale(client)

    # When she gives her password and a current code
    response = client.post(
        REAUTH,
        {"password": TEST_PASSWORD, "token": next_code(steward), "next": "/privacy/audit/export/"},
    )

    # Then she goes on to the export, which is now served
    assert response.status_code == 302
    assert response["Location"] == "/privacy/audit/export/"
    assert client.get("/privacy/audit/export/").status_code == 200
    assert audited_actions(steward)[-2:] == ["auth.reauth_ok", "audit.export"]


@pytest.mark.parametrize("kind", ["password", "code"])
def test_a_wrong_password_or_code_is_refused_and_audited(
    verified_client, steward, import_job, kind
):
    # Given a steward with a stale session
    client = verified_client(steward)
    make_stale(client)

    # When she gives a wrong password, or a wrong code
    password = "wrong password" if kind == "password" else TEST_PASSWORD
    token = wrong_code(steward) if kind == "code" else next_code(steward)
    response = client.post(REAUTH, {"password": password, "token": token, "next": "/"})

    # Then the page says so, the session stays stale and the failure is audited
    assert response.status_code == 200
    assert "The password or the code did not work" in response.content.decode()
    assert client.get("/customers/export/")["Location"].startswith(REAUTH)
    entry = AuditEntry.objects.get(action="auth.reauth_failed")
    assert (entry.actor, entry.metadata) == (steward, {"reason": kind, "failures": 1})
    # A wrong password counts towards the sign-in lockout like a failed sign-in
    failures = AccessAttempt.objects.filter(username=steward.username)
    assert [attempt.failures_since_start for attempt in failures] == (
        [1] if kind == "password" else []
    )


def test_an_empty_form_is_not_counted_as_an_attempt(verified_client, steward):
    client = verified_client(steward)
    response = client.post(REAUTH, {})
    assert response.status_code == 200
    assert not AuditEntry.objects.filter(action__startswith="auth.reauth").exists()


def test_five_wrong_passwords_lock_the_account_and_sign_out(verified_client, client, steward):
    # Given a signed-in steward whose session someone else is using
    verified_client(steward)

    # When five wrong passwords are given on the re-authentication page
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(
            REAUTH, {"password": "guess", "token": next_code(steward), "next": "/"}
        )

    # Then the last answer is the lockout page, the session is signed out
    assert response.status_code == 429
    assert client.get("/")["Location"].startswith("/accounts/login/")
    # ...even the right password does not sign in during the lockout
    again = client.post(
        "/accounts/login/", {"username": steward.username, "password": TEST_PASSWORD}
    )
    assert again.status_code == 429
    # ...and every step is audited
    actions = audited_actions()
    assert actions.count("auth.reauth_failed") == settings.AXES_FAILURE_LIMIT
    assert "auth.reauth_locked" in actions
    assert AuditEntry.objects.filter(action="auth.locked_out", object_id=str(steward.pk)).exists()


def test_five_wrong_codes_sign_out(verified_client, client, steward):
    # Given a signed-in steward
    verified_client(steward)

    # When five wrong codes are given with the right password
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(
            REAUTH, {"password": TEST_PASSWORD, "token": wrong_code(steward), "next": "/"}
        )

    # Then the session is signed out with a message, and the lockout is audited
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert client.get("/")["Location"].startswith("/accounts/login/")
    reasons = [
        entry.metadata["reason"] for entry in AuditEntry.objects.filter(action="auth.reauth_failed")
    ]
    assert reasons == ["code"] * settings.AXES_FAILURE_LIMIT
    assert AuditEntry.objects.filter(action="auth.reauth_locked", actor=steward).count() == 1
    # Signing in again is possible: the password was right every time
    signed_in = client.post(
        "/accounts/login/", {"username": steward.username, "password": TEST_PASSWORD}
    )
    assert signed_in.status_code == 302


def test_the_page_never_leads_to_another_site(verified_client, steward):
    client = verified_client(steward)
    response = client.post(
        f"{REAUTH}?next=https://evil.example/",
        {"password": TEST_PASSWORD, "token": next_code(steward)},
    )
    assert response["Location"] == "/"


def test_the_page_needs_a_verified_session(client, steward):
    TOTPDeviceFactory(user=steward)
    assert client.get(REAUTH)["Location"].startswith("/accounts/login/")
    client.post("/accounts/login/", {"username": steward.username, "password": TEST_PASSWORD})
    assert client.get(REAUTH)["Location"].startswith("/accounts/mfa/")


# --- Erasure in the staff UI ----------------------------------------------------------------------


def test_an_erasure_posted_with_a_stale_session_waits_for_a_new_confirmation(
    verified_client, administrator, customer
):
    # Given an administrator with a stale session
    client = verified_client(administrator)
    make_stale(client)
    erase = f"/customers/{customer.pk}/erase/"

    # When she posts the erasure
    response = client.post(erase)

    # Then nothing is erased and she is asked to re-authenticate
    assert response["Location"] == reauth_location(erase)
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert not AuditEntry.objects.filter(action="subject.erase").exists()

    # When she re-authenticates
    response = client.post(
        response["Location"], {"password": TEST_PASSWORD, "token": next_code(administrator)}
    )

    # Then she lands on the confirmation page, still without erasing
    assert response["Location"] == erase
    page = client.get(erase)
    assert page.status_code == 200
    assert f"Erase customer #{customer.pk}?" in page.content.decode()
    assert Customer.objects.filter(pk=customer.pk).exists()

    # When she confirms
    response = client.post(erase)

    # Then the person is erased through the erasure service
    assert response["Location"] == "/customers/"
    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert AuditEntry.objects.filter(action="subject.erase", actor=administrator).count() == 1


def test_the_erase_page_refuses_another_teams_customer(verified_client, administrator, team_b):
    other = CustomerFactory(owner_team=team_b)
    client = verified_client(administrator)
    assert client.get(f"/customers/{other.pk}/erase/").status_code == 404
    assert client.post(f"/customers/{other.pk}/erase/").status_code == 404
    assert Customer.objects.filter(pk=other.pk).exists()


# --- The admin's delete views and bulk delete -----------------------------------------------------


def test_admin_delete_with_a_stale_session_asks_first_and_deletes_nothing(
    verified_client, administrator, customer
):
    # Given an administrator with a stale session
    client = verified_client(administrator)
    make_stale(client)
    delete = f"/admin/customers/customer/{customer.pk}/delete/"

    # When she opens the delete page, or posts its confirmation
    opened = client.get(delete)
    posted = client.post(delete, {"post": "yes"})

    # Then both ask for re-authentication, back to the confirmation page, and nothing is erased
    assert opened["Location"] == posted["Location"] == reauth_location(delete)
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert not AuditEntry.objects.filter(action="subject.erase").exists()

    # When she re-authenticates, the confirmation page is shown again
    client.post(opened["Location"], {"password": TEST_PASSWORD, "token": next_code(administrator)})
    assert client.get(delete).status_code == 200
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_admin_bulk_delete_with_a_stale_session_asks_first_and_deletes_nothing(
    verified_client, administrator, customer
):
    # Given an administrator with a stale session
    client = verified_client(administrator)
    make_stale(client)

    # When she runs the bulk delete action, confirmation included
    response = client.post(
        "/admin/customers/customer/",
        {"action": "delete_selected", "_selected_action": [customer.pk], "post": "yes"},
    )

    # Then she is asked to re-authenticate, to come back to the list, and nothing is erased
    assert response["Location"] == reauth_location("/admin/customers/customer/")
    assert Customer.objects.filter(pk=customer.pk).exists()
    assert not AuditEntry.objects.filter(action="subject.erase").exists()


def test_admin_delete_without_the_permission_is_refused_without_asking(
    verified_client, steward, customer
):
    # Given a data steward (may change customers, not delete them) with a stale session
    client = verified_client(steward)
    make_stale(client)

    # When she opens the delete page
    response = client.get(f"/admin/customers/customer/{customer.pk}/delete/")

    # Then the admin refuses as before, without a re-authentication that would lead nowhere
    assert response.status_code == 403
    assert Customer.objects.filter(pk=customer.pk).exists()


# --- The API --------------------------------------------------------------------------------------


def test_the_api_is_not_reauthenticated(client, steward, import_job):
    # Given an integration's token (no session, no person to type a code)
    key = api_token_for(steward)

    # When it asks for the row report
    response = client.get(
        f"/api/v1/imports/{import_job.pk}/report/", HTTP_AUTHORIZATION=f"Token {key}"
    )

    # Then it is served: the token is the credential
    assert response.status_code == 200
