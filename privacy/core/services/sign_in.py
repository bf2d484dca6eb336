"""Writes of signing in: TOTP enrolment and the purge of expired sessions."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from privacy.core.services.audit import audit_record


def totp_device_start(*, user: AbstractBaseUser) -> TOTPDevice:
    """Return the user's unconfirmed TOTP device, creating one with a fresh secret if needed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


@transaction.atomic
def totp_device_confirm(*, device: TOTPDevice, token: str) -> bool:
    """Confirm an enrolment when the code from the user's app matches; audit either way."""
    verified = device.verify_token(token)
    if verified:
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=device.user).exclude(pk=device.pk).delete()
    audit_record(
        action="mfa.enrol" if verified else "mfa.enrol_failed", actor=device.user, target=device
    )
    return verified


@transaction.atomic
def sessions_purge_expired() -> int:
    """Delete expired sessions in one statement and audit how many went."""
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    deleted, _detail = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    if deleted:
        audit_record(action="sessions.purge_expired", metadata={"count": deleted})
    return deleted
