"""Every page works under the content security policy: no violation in a real browser."""

import base64
import re

import pytest
from django_otp.oath import totp
from playwright.sync_api import expect

from customers.models import Customer, ImportJob, ImportStatus, MergeRecord
from customers.services.merge import customer_merge
from privacy.consent.services.links import preference_token
from privacy.core import roles
from privacy.models import ConsentPurpose
from tests.customers.factories import CustomerFactory
from tests.factories import TEST_PASSWORD, TeamFactory, UserFactory


def _watch_console(page) -> list[str]:
    """Console messages and page errors that mention a security policy."""
    messages: list[str] = []
    page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: messages.append(f"pageerror: {error}"))
    return messages


def _violations(messages: list[str]) -> list[str]:
    return [
        message
        for message in messages
        if "Content Security Policy" in message
        or "Content-Security-Policy" in message
        or "Permissions-Policy" in message
        or message.startswith("pageerror")
    ]


@pytest.mark.browser
def test_pages_run_without_content_security_policy_violations(transactional_db, live_server, page):
    # Given an administrator of team A without an authenticator yet, a customer with an undoable
    # merge, and an import that has finished
    team = TeamFactory(group__name="Team A")
    user = UserFactory(roles=[roles.ADMINISTRATOR], teams=[team], is_superuser=True)
    survivor = CustomerFactory(owner_team=team, given_name="Ann")
    other = CustomerFactory(owner_team=team, given_name="Ann")
    customer_merge(survivor=survivor, merged=other, reason="staff")
    third = CustomerFactory(owner_team=team, given_name="Bea")
    ConsentPurpose.objects.create(code="newsletter", name="Newsletter", channels=["email"])
    job = ImportJob.objects.create(
        owner_team=team,
        created_by=user,
        file="imports/csp.csv",
        original_filename="csp.csv",
        status=ImportStatus.SUCCEEDED,
        total_rows=4,
        processed_rows=4,
        created_count=4,
    )
    base_url = live_server.url
    messages = _watch_console(page)

    def visit(path: str) -> None:
        response = page.goto(f"{base_url}{path}")
        assert "script-src 'self'" in response.headers.get("content-security-policy", ""), path
        page.wait_for_load_state("networkidle")

    # When they open the login page and sign in, enrolling an authenticator
    visit("/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/accounts/mfa/setup/"))
    page.wait_for_load_state("networkidle")
    secret = page.locator("code.secret").inner_text().replace(" ", "")
    code = f"{totp(base64.b32decode(secret), step=30, t0=0, digits=6):06d}"
    page.get_by_label("Six-digit code from your authenticator app").fill(code)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")

    # And they open the staff pages, the admin and the API documentation
    for path in (
        "/customers/",
        f"/customers/{survivor.pk}/",
        "/customers/duplicates/",
        "/customers/quality/",
        "/customers/imports/",
        f"/customers/imports/{job.pk}/",
        "/customers/imports/new/",
        "/privacy/audit/",
        "/accounts/preferences/",
        "/admin/",
        "/admin/customers/customer/",
        f"/admin/customers/customer/{survivor.pk}/change/",
    ):
        visit(path)
    visit("/api/docs/")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()

    # And the public preference centre a customer opens from an email
    visit(f"/preferences/{preference_token(survivor)}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your communication preferences")

    # Then the import's progress bar is full without an inline style
    visit(f"/customers/imports/{job.pk}/")
    expect(page.locator("progress.progress")).to_have_attribute("value", "100")

    # And the merge form asks first (a script from this origin, not an inline handler):
    # dismissing the question sends nothing
    visit(f"/customers/{survivor.pk}/")
    questions: list[str] = []

    def dismiss(dialog) -> None:
        questions.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_label("Merge another customer into this one").fill(str(third.pk))
    page.get_by_role("button", name="Merge", exact=True).click()
    expect(page).to_have_url(f"{base_url}/customers/{survivor.pk}/")
    assert questions == [
        "Merge that customer into this one? Its identities, events and purchases move here."
    ]
    assert Customer.objects.get(pk=third.pk).merged_into_id is None
    assert MergeRecord.objects.filter(survivor=survivor).count() == 1

    # And choosing a language switches it at once (no "Switch" button is needed)
    visit("/")
    page.locator("#language-select").select_option("zh-hans")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")

    # And no page logged a policy violation or a script error
    assert _violations(messages) == [], "\n".join(messages)
