"""A proof of the second factor gives the session a new key: a key planted or seen before the
proof (session fixation) opens nothing after it (privacy.core.reauth.reauth_stamp)."""

from django.conf import settings
from django.test import Client

from tests.conftest import totp_now
from tests.factories import TEST_PASSWORD, TOTPDeviceFactory
from tests.privacy.test_reauth import make_stale, next_code


def session_key(client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def client_with_session(key: str) -> Client:
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = key
    return client


def test_the_code_step_gives_the_session_a_new_key(client, steward):
    # Given a session that passed the password step
    device = TOTPDeviceFactory(user=steward)
    client.post("/accounts/login/", {"username": steward.username, "password": TEST_PASSWORD})
    before = session_key(client)

    # When the code is accepted
    response = client.post("/accounts/mfa/", {"token": totp_now(device)})
    assert response["Location"] == "/"

    # Then the session goes on under a new key, and the old key opens nothing
    assert session_key(client) != before
    assert client.get("/").status_code == 200
    assert client_with_session(before).get("/")["Location"].startswith("/accounts/login/")


def test_the_enrolment_code_gives_the_session_a_new_key(client, steward):
    client.post("/accounts/login/", {"username": steward.username, "password": TEST_PASSWORD})
    client.get("/accounts/mfa/setup/")
    before = session_key(client)

    device = steward.totpdevice_set.get(confirmed=False)
    assert client.post("/accounts/mfa/setup/", {"token": totp_now(device)})["Location"] == "/"

    assert session_key(client) != before
    assert client_with_session(before).get("/")["Location"].startswith("/accounts/login/")


def test_re_authentication_gives_the_session_a_new_key(verified_client, steward):
    client = verified_client(steward)
    make_stale(client)
    before = session_key(client)

    response = client.post(
        "/accounts/reauth/?next=/privacy/audit/",
        {"password": TEST_PASSWORD, "token": next_code(steward)},
    )

    assert response["Location"] == "/privacy/audit/"
    assert session_key(client) != before
    assert client.get("/privacy/audit/").status_code == 200
    assert client_with_session(before).get("/")["Location"].startswith("/accounts/login/")
