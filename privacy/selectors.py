"""Reads of the privacy core."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet
from django_otp import devices_for_user

from privacy.access import scope_queryset
from privacy.models import AuditEntry


def audit_entries_for_user(user: AbstractBaseUser | AnonymousUser) -> QuerySet[AuditEntry]:
    """Audit entries the user may read: a data steward her teams' entries, an administrator
    every entry (see ``AuditEntry``)."""
    return scope_queryset(user, AuditEntry.objects.all()).select_related("actor")


def user_has_confirmed_device(user: AbstractBaseUser) -> bool:
    """Whether the user has finished enrolling a second factor."""
    return any(True for _device in devices_for_user(user, confirmed=True))
