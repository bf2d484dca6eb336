import pytest
from django.conf import settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from privacy.models import AuditEntry
from tests.conftest import totp_now
from tests.factories import TEST_PASSWORD, TOTPDeviceFactory


@pytest.fixture
def enrolled(steward):
    return TOTPDeviceFactory(user=steward)


def sign_in_password(client, user, password=TEST_PASSWORD, **extra):
    return client.post(
        "/accounts/login/", {"username": user.username, "password": password}, **extra
    )


@pytest.mark.parametrize("path", ["/", "/admin/", "/privacy/audit/", "/customers/"])
def test_anonymous_visitors_are_sent_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_password_alone_does_not_open_the_staff_ui_or_admin(client, steward, enrolled):
    response = sign_in_password(client, steward)
    assert response["Location"] == "/accounts/mfa/?next=%2F"
    for path in ["/", "/admin/", "/privacy/audit/"]:
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/mfa/?next=")


def test_password_and_totp_open_the_dashboard(client, steward, enrolled):
    sign_in_password(client, steward)
    response = client.post("/accounts/mfa/?next=/privacy/audit/", {"token": totp_now(enrolled)})
    assert response["Location"] == "/privacy/audit/"
    assert client.get("/").status_code == 200
    assert client.get("/admin/").status_code == 200
    actions = list(
        AuditEntry.objects.filter(actor=steward).order_by("id").values_list("action", flat=True)
    )
    assert actions == ["auth.password_ok", "auth.mfa_ok"]


def test_wrong_password_gets_a_generic_message(client, steward):
    response = sign_in_password(client, steward, password="wrong password")
    assert response.status_code == 200
    assert b"Your username and password did not match" in response.content
    unknown = client.post("/accounts/login/", {"username": "nobody", "password": "x"})
    assert b"Your username and password did not match" in unknown.content
    assert AuditEntry.objects.filter(action="auth.login_failed").count() == 2


def test_wrong_totp_code_is_refused(client, steward, enrolled):
    sign_in_password(client, steward)
    wrong = f"{(int(totp_now(enrolled)) + 1) % 1_000_000:06d}"
    response = client.post("/accounts/mfa/", {"token": wrong})
    assert response.status_code == 200
    assert b"That code did not work" in response.content
    assert client.get("/")["Location"].startswith("/accounts/mfa/")
    assert AuditEntry.objects.filter(action="auth.mfa_failed", actor=steward).count() == 1


def test_repeated_failures_lock_the_account_even_with_the_right_password(client, steward):
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in_password(client, steward, password="wrong password")
    response = sign_in_password(client, steward)
    assert response.status_code == 429
    assert b"Too many failed sign-in attempts" in response.content
    assert client.get("/")["Location"].startswith("/accounts/login/")


def test_first_sign_in_enrols_an_authenticator(client, steward):
    response = sign_in_password(client, steward)
    assert response["Location"] == "/accounts/mfa/setup/?next=%2F"
    page = client.get("/accounts/mfa/setup/")
    assert b"<svg" in page.content
    device = TOTPDevice.objects.get(user=steward, confirmed=False)
    response = client.post("/accounts/mfa/setup/", {"token": totp_now(device)})
    assert response["Location"] == "/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/").status_code == 200


def test_an_enrolled_user_cannot_add_a_device_with_the_password_alone(client, steward, enrolled):
    sign_in_password(client, steward)
    response = client.get("/accounts/mfa/setup/")
    assert response["Location"].startswith("/accounts/mfa/?next=")
    assert TOTPDevice.objects.filter(user=steward).count() == 1


def test_sessions_expire_after_idle_time(verified_client, steward):
    client = verified_client(steward)
    client.get("/")
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
    assert settings.SESSION_SAVE_EVERY_REQUEST  # each request pushes the expiry forward
    session = client.session
    session.set_expiry(-1)
    session.save()
    assert client.get("/")["Location"].startswith("/accounts/login/")


def test_sign_out_needs_post_and_ends_the_session(verified_client, steward):
    client = verified_client(steward)
    assert client.get("/accounts/logout/").status_code == 405
    response = client.post("/accounts/logout/")
    assert response["Location"] == "/accounts/login/"
    assert client.get("/")["Location"].startswith("/accounts/login/")


def test_open_redirects_are_refused(client, steward, enrolled):
    sign_in_password(client, steward)
    response = client.post(
        "/accounts/mfa/?next=https://evil.example/", {"token": totp_now(enrolled)}
    )
    assert response["Location"] == "/"
