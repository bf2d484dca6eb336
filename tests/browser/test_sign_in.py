"""Signing in to the staff UI with a password and a TOTP code, in a real browser."""

import base64
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from customers.models import Customer
from privacy.core import roles
from privacy.models import AuditEntry, DataSubjectRequest
from tests.conftest import totp_now
from tests.factories import TEST_PASSWORD, TeamFactory, TOTPDeviceFactory, UserFactory


def _sign_in_with_password(page, base_url, user):
    page.goto(f"{base_url}/")
    expect(page).to_have_url(f"{base_url}/accounts/login/?next=%2F")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Continue").click()


def _enter_code(page, code, button):
    page.get_by_label("Six-digit code from your authenticator app").fill(code)
    page.get_by_role("button", name=button).click()


def _a_wrong_code(device):
    """A six-digit code the device accepts at no step near now."""
    near = {
        f"{totp(device.bin_key, device.step, device.t0, device.digits, drift):06d}"
        for drift in range(-3, 4)
    }
    return next(code for code in (f"{digit}" * 6 for digit in range(10)) if code not in near)


@pytest.mark.browser
def test_sign_in_with_password_and_totp_shows_dashboard_then_sign_out(
    transactional_db, live_server, page
):
    # Given an administrator with a confirmed authenticator, two teams, an active colleague and
    # a deactivated one
    user = UserFactory(roles=[roles.ADMINISTRATOR])
    device = TOTPDeviceFactory(user=user)
    TeamFactory.create_batch(2)
    UserFactory()
    UserFactory(is_active=False)
    base_url = live_server.url

    # When they sign in with their password and the code their app shows
    _sign_in_with_password(page, base_url, user)
    expect(page).to_have_url(f"{base_url}/accounts/mfa/?next=%2F")
    _enter_code(page, totp_now(device), "Verify")

    # Then they land on the dashboard, whose tiles show the real counts
    expect(page).to_have_url(f"{base_url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    recent = AuditEntry.objects.filter(occurred_at__gte=timezone.now() - timedelta(days=1))
    assert not DataSubjectRequest.objects.exists()
    # (the system's own counts, teams, staff and schedules, are for superusers)
    expected = {
        "customers": Customer.objects.count(),
        "open_requests": 0,
        "overdue_requests": 0,
        "audit_24h": recent.count(),
        "failed_logins_24h": recent.filter(
            action__in=["auth.login_failed", "auth.mfa_failed"]
        ).count(),
    }
    tiles = page.locator("[data-tile]")
    expect(tiles).to_have_count(len(expected))
    assert [tile.get_attribute("data-tile") for tile in tiles.all()] == list(expected)
    for key, count in expected.items():
        expect(page.locator(f"[data-tile={key}] .tile-value")).to_have_text(str(count))

    # When they sign out
    page.get_by_role("button", name="Sign out").click()

    # Then they are back at the login page, and the dashboard asks for a sign-in again
    expect(page).to_have_url(f"{base_url}/accounts/login/")
    expect(page.locator(".message")).to_have_text("You are signed out.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.goto(f"{base_url}/")
    expect(page).to_have_url(f"{base_url}/accounts/login/?next=%2F")
    expect(page.locator("[data-tile]")).to_have_count(0)


@pytest.mark.browser
def test_wrong_totp_code_is_refused_with_a_generic_message(transactional_db, live_server, page):
    # Given a staff user with a confirmed authenticator who typed the right password
    user = UserFactory(roles=[roles.MARKETER])
    device = TOTPDeviceFactory(user=user)
    base_url = live_server.url
    _sign_in_with_password(page, base_url, user)
    expect(page).to_have_url(f"{base_url}/accounts/mfa/?next=%2F")

    # When they enter a code the authenticator would not show
    _enter_code(page, _a_wrong_code(device), "Verify")

    # Then the verification page stays, with a message that reveals nothing about the code
    expect(page).to_have_url(f"{base_url}/accounts/mfa/?next=%2F")
    expect(page.get_by_role("heading", level=1)).to_have_text("Verification code")
    expect(page.get_by_role("alert")).to_have_text(
        "That code did not work. Wait for a new code and try again."
    )
    assert AuditEntry.objects.filter(actor=user, action="auth.mfa_failed").count() == 1
    assert not AuditEntry.objects.filter(actor=user, action="auth.mfa_ok").exists()

    # And the dashboard is not reachable: it sends them back to the code step
    page.goto(f"{base_url}/")
    expect(page).to_have_url(f"{base_url}/accounts/mfa/?next=%2F")
    expect(page.locator("[data-tile]")).to_have_count(0)
    expect(page.locator(".mainnav")).to_have_count(0)


@pytest.mark.browser
def test_first_sign_in_enrols_an_authenticator(transactional_db, live_server, page):
    # Given a staff user who has never set up an authenticator
    user = UserFactory(roles=[roles.ANALYST])
    assert not TOTPDevice.objects.filter(user=user).exists()
    base_url = live_server.url

    # When they sign in with their password
    _sign_in_with_password(page, base_url, user)

    # Then they are asked to enrol, with a QR code and the secret to type by hand
    expect(page).to_have_url(f"{base_url}/accounts/mfa/setup/?next=%2F")
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up your authenticator")
    expect(page.locator(".qr svg")).to_have_count(1)
    expect(page.locator(".qr svg")).to_be_visible()
    secret = page.locator("code.secret").inner_text()
    assert re.fullmatch(r"[A-Z2-7]{4}( [A-Z2-7]{4})*", secret), secret

    # When they type the code their app computes from that secret
    key = base64.b32decode(secret.replace(" ", ""))
    _enter_code(page, f"{totp(key, step=30, t0=0, digits=6):06d}", "Confirm")

    # Then they land on the dashboard, and the device is confirmed
    expect(page).to_have_url(f"{base_url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    expect(page.locator(".message.success")).to_have_text("Your authenticator app is set up.")
    device = TOTPDevice.objects.get(user=user)
    assert device.confirmed is True
    assert device.bin_key == key
