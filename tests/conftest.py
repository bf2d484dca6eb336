import pytest
from django_otp.oath import totp
from rest_framework.test import APIClient

from privacy.consent.services.records import consent_purposes_ensure
from privacy.core import roles
from tests.factories import (
    TEST_PASSWORD,
    TeamFactory,
    TOTPDeviceFactory,
    UserFactory,
    api_token_for,
)

pytest_plugins = ["tests.workers"]


@pytest.fixture(autouse=True)
def _consent_purposes_exist(request):
    """Put back the consent purposes a data migration made, which a flush removes.

    Transactional tests flush the database after them. The flush's ``post_migrate`` signal
    brings the roles and their permissions back through what ``PrivacyConfig.ready()``
    connects (no test syncs them itself, so that wiring stays under test); data migrations do
    not run again, so their purposes are recreated here.
    """
    names = set(request.fixturenames)
    if not names & {
        "db",
        "transactional_db",
        "live_server",
    } and not request.node.get_closest_marker("django_db"):
        return
    transactional = bool(names & {"transactional_db", "live_server"})
    request.getfixturevalue("transactional_db" if transactional else "db")
    consent_purposes_ensure()


def totp_now(device) -> str:
    """The code the user's authenticator app shows right now."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


@pytest.fixture
def team_a(db):
    return TeamFactory(group__name="Team A")


@pytest.fixture
def team_b(db):
    return TeamFactory(group__name="Team B")


@pytest.fixture
def make_user(db):
    """``make_user(role, *teams)`` creates a staff user with that role in those teams."""

    def make(role: str | None = None, *teams, **fields):
        return UserFactory(roles=[role] if role else [], teams=list(teams), **fields)

    return make


@pytest.fixture
def marketer_a(make_user, team_a):
    return make_user(roles.MARKETER, team_a)


@pytest.fixture
def steward(make_user, team_a):
    return make_user(roles.DATA_STEWARD, team_a)


@pytest.fixture
def verified_client(client):
    """``verified_client(user)``: a test client signed in with password and TOTP."""

    def sign_in(user):
        device = TOTPDeviceFactory(user=user)
        response = client.post(
            "/accounts/login/", {"username": user.username, "password": TEST_PASSWORD}
        )
        assert response.status_code == 302, response.content
        response = client.post("/accounts/mfa/", {"token": totp_now(device)})
        assert response.status_code == 302, response.content
        return client

    return sign_in


@pytest.fixture
def token_client():
    """``token_client(user)``: an API client that authenticates as the user with a token."""

    def client_for(user) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
        return client

    return client_for
