"""The admin asks for a recent password and code before changing a retention policy, as the
staff page does (privacy/retention/views.py): a shorter period can erase many customers."""

from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from privacy.core.reauth import SESSION_KEY
from privacy.models import AuditEntry, RetentionPolicy
from privacy.retention.services import retention_policies_ensure
from tests.factories import TEST_PASSWORD


def make_stale(client) -> None:
    session = client.session
    session[SESSION_KEY] = 0
    session.save()


def next_code(user) -> str:
    """The code of the next 30-second step: the sign-in used this step's, accepted once only."""
    device = TOTPDevice.objects.get(user=user)
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=1)
    return f"{code:06d}"


@pytest.fixture
def policy(db) -> RetentionPolicy:
    retention_policies_ensure()
    policy = RetentionPolicy.objects.order_by("pk").first()
    RetentionPolicy.objects.filter(pk=policy.pk).update(retain_days=365, is_active=True)
    policy.refresh_from_db()
    return policy


def change_url(policy: RetentionPolicy) -> str:
    return reverse("admin:privacy_retentionpolicy_change", args=[policy.pk])


def test_a_change_posted_with_a_stale_session_asks_first_and_saves_nothing(
    verified_client, steward, policy
):
    # Given a data steward whose last proof of password and code is stale
    client = verified_client(steward)
    make_stale(client)
    url = change_url(policy)

    # When she opens the change form, and posts a shorter period
    opened = client.get(url)
    posted = client.post(url, {"retain_days": "30", "is_active": "on"})

    # Then the form is shown, but the change goes to re-authentication, back to the form (GET)
    assert opened.status_code == 200
    assert posted.status_code == 302
    assert posted["Location"] == f"{reverse('reauth')}?{urlencode({'next': url})}"
    # And nothing was saved or audited as a change
    policy.refresh_from_db()
    assert (policy.retain_days, policy.is_active) == (365, True)
    assert not AuditEntry.objects.filter(action="retention.policy_change").exists()

    # When she re-authenticates
    back = client.post(posted["Location"], {"password": TEST_PASSWORD, "token": next_code(steward)})

    # Then she lands on the change form, where the change must be confirmed again
    assert back.status_code == 302
    assert back["Location"] == url
    policy.refresh_from_db()
    assert policy.retain_days == 365

    # When she posts it again, now with a recent proof
    saved = client.post(url, {"retain_days": "30", "is_active": "on"})

    # Then it is saved through the service, and audited once
    assert saved.status_code == 302
    policy.refresh_from_db()
    assert (policy.retain_days, policy.is_active) == (30, True)
    entry = AuditEntry.objects.get(action="retention.policy_change")
    assert entry.metadata["after"] == {"retain_days": 30, "is_active": True}


def test_a_change_posted_with_a_recent_proof_is_saved_without_asking(
    verified_client, steward, policy
):
    client = verified_client(steward)  # signing in with the code is a recent proof

    response = client.post(change_url(policy), {"retain_days": "90"})

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:privacy_retentionpolicy_changelist")
    policy.refresh_from_db()
    assert (policy.retain_days, policy.is_active) == (90, False)


def test_a_user_who_may_not_change_policies_is_refused_without_being_asked(
    verified_client, marketer_a, policy
):
    client = verified_client(marketer_a)
    make_stale(client)

    response = client.post(change_url(policy), {"retain_days": "1", "is_active": "on"})

    assert response.status_code == 403
    policy.refresh_from_db()
    assert (policy.retain_days, policy.is_active) == (365, True)
    assert not AuditEntry.objects.filter(action="retention.policy_change").exists()


def test_the_admin_refuses_an_audit_policy_below_a_year(make_user, team_a, verified_client):
    from privacy.core import roles
    from privacy.models import RetentionPolicy
    from privacy.retention.services import retention_policies_ensure

    retention_policies_ensure()
    policy = RetentionPolicy.objects.get(category="audit_entries")
    client = verified_client(make_user(roles.ADMINISTRATOR, team_a))

    response = client.post(
        f"/admin/privacy/retentionpolicy/{policy.pk}/change/",
        {"retain_days": "30", "is_active": "on"},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["retain_days"]
    policy.refresh_from_db()
    assert policy.retain_days == 1825
