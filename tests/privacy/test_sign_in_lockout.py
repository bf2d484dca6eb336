"""Password guessing from rotating addresses stops at the account-wide limit
(privacy/core/lockout.py) without locking the account's owner out of their usual address."""

import pytest
from django.core.management import call_command

from privacy.models import AuditEntry
from tests.conftest import totp_now
from tests.factories import TEST_PASSWORD, TOTPDeviceFactory

HOME = "203.0.113.10"


def sign_in_password(client, user, address: str, password: str = TEST_PASSWORD):
    return client.post(
        "/accounts/login/",
        {"username": user.username, "password": password},
        REMOTE_ADDR=address,
    )


def guess_from_rotating_addresses(client, user, guesses: int) -> list[int]:
    """Wrong passwords, each from an address of its own; the status codes answered."""
    return [
        sign_in_password(client, user, f"198.51.100.{n + 1}", password="wrong guess").status_code
        for n in range(guesses)
    ]


@pytest.fixture
def device(steward):
    return TOTPDeviceFactory(user=steward)


@pytest.fixture
def signed_in_from_home(steward, device):
    """The owner completed a sign-in (password and code) from HOME before."""
    return AuditEntry.objects.create(actor=steward, action="auth.mfa_ok", ip_address=HOME)


def test_rotating_addresses_are_stopped_at_the_account_limit(client, steward, settings):
    # Given a guess from each of LOGIN_ACCOUNT_FAILURE_LIMIT addresses, none near its own limit
    statuses = guess_from_rotating_addresses(client, steward, settings.LOGIN_ACCOUNT_FAILURE_LIMIT)

    # Then the guesses are answered as wrong until the account-wide limit is reached
    assert statuses == [200] * (settings.LOGIN_ACCOUNT_FAILURE_LIMIT - 1) + [429]

    # When the right password then comes from yet another address
    response = sign_in_password(client, steward, "198.51.100.200")

    # Then it is refused like a wrong one: the attacker cannot tell, and reaches no code step
    assert response.status_code == 429
    assert b"Too many failed sign-in attempts" in response.content
    assert client.get("/")["Location"].startswith("/accounts/login/")
    assert AuditEntry.objects.filter(action="auth.locked_out", object_id=str(steward.pk)).exists()


def test_below_the_account_limit_a_new_address_still_signs_in(client, steward, device, settings):
    guess_from_rotating_addresses(client, steward, settings.LOGIN_ACCOUNT_FAILURE_LIMIT - 2)

    response = sign_in_password(client, steward, "198.51.100.200")

    assert response["Location"] == "/accounts/mfa/?next=%2F"


def test_the_owner_signs_in_from_a_usual_address_during_an_attack(
    client, steward, device, signed_in_from_home, settings
):
    # Given an attack that locked the account's password out of every new address
    guess_from_rotating_addresses(client, steward, settings.LOGIN_ACCOUNT_FAILURE_LIMIT + 5)
    assert sign_in_password(client, steward, "198.51.100.200").status_code == 429

    # When the owner signs in from the address they signed in from before
    response = sign_in_password(client, steward, HOME)

    # Then the password leads to the code step, and the code opens the staff UI
    assert response["Location"] == "/accounts/mfa/?next=%2F"
    response = client.post("/accounts/mfa/", {"token": totp_now(device)}, REMOTE_ADDR=HOME)
    assert response["Location"] == "/"
    assert client.get("/", REMOTE_ADDR=HOME).status_code == 200


def test_an_address_where_another_account_signed_in_is_not_usual(
    client, steward, marketer_a, settings
):
    AuditEntry.objects.create(actor=marketer_a, action="auth.mfa_ok", ip_address=HOME)
    guess_from_rotating_addresses(client, steward, settings.LOGIN_ACCOUNT_FAILURE_LIMIT)

    assert sign_in_password(client, steward, HOME).status_code == 429


def test_the_per_address_limit_still_applies_at_a_usual_address(
    client, steward, signed_in_from_home, settings
):
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        sign_in_password(client, steward, HOME, password="wrong guess")

    assert sign_in_password(client, steward, HOME).status_code == 429


def test_an_administrator_reset_lets_the_owner_in_from_anywhere(client, steward, device, settings):
    guess_from_rotating_addresses(client, steward, settings.LOGIN_ACCOUNT_FAILURE_LIMIT)
    assert sign_in_password(client, steward, "198.51.100.200").status_code == 429

    # When an administrator resets the account's failures once the attack has stopped
    call_command("axes_reset_username", steward.username)

    # Then a new address signs in again
    assert sign_in_password(client, steward, "198.51.100.200")["Location"] == (
        "/accounts/mfa/?next=%2F"
    )
