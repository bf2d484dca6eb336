"""Reads of the privacy core: the audit log, second factors, staff accounts and API tokens."""

from __future__ import annotations

import hmac

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.db.models import Prefetch, Q, QuerySet
from django_otp import devices_for_user

from privacy.core import roles
from privacy.core.access import scope_queryset, teams_for_user
from privacy.models import ApiToken, AuditEntry, api_key_digest


def audit_entries_for_user(user: AbstractBaseUser | AnonymousUser) -> QuerySet[AuditEntry]:
    """Audit entries the user may read: a data steward her teams' entries, an administrator
    every entry (see ``AuditEntry``)."""
    return scope_queryset(user, AuditEntry.objects.all()).select_related("actor")


def user_has_confirmed_device(user: AbstractBaseUser) -> bool:
    """Whether the user has finished enrolling a second factor."""
    return any(True for _device in devices_for_user(user, confirmed=True))


# Longer than any key we make (43 characters) or made (40): no need to hash a megabyte.
MAX_KEY_LENGTH = 128


def api_token_for_key(key: str) -> ApiToken | None:
    """The token whose key this is, with its account; None when there is none.

    Looked up by the key's digest, so the index search learns nothing of the key; the digest is
    compared again in constant time.
    """
    if not key or len(key) > MAX_KEY_LENGTH:
        return None
    digest = api_key_digest(key)
    token = ApiToken.objects.select_related("user").filter(digest=digest).first()
    if token is None or not hmac.compare_digest(token.digest, digest):
        return None
    return token


def account_prefetches(user: AbstractBaseUser | AnonymousUser) -> list[Prefetch]:
    """What lists of accounts show, fetched with them: ``shown_team_groups`` (the groups of the
    account's teams that ``user`` may see) and ``role_groups``."""
    return [
        Prefetch(
            "groups",
            queryset=Group.objects.filter(team__in=teams_for_user(user)).order_by("name"),
            to_attr="shown_team_groups",
        ),
        Prefetch(
            "groups",
            queryset=Group.objects.filter(name__in=roles.ROLE_PERMISSIONS).order_by("name"),
            to_attr="role_groups",
        ),
    ]


def token_holders_for_user(user: AbstractBaseUser | AnonymousUser) -> QuerySet[AbstractBaseUser]:
    """Active accounts the user may make API tokens for: their own and those they manage."""
    accounts = get_user_model()._default_manager.filter(is_active=True)
    manageable = scope_queryset(user, accounts, action="change")
    if user.is_active and user.is_superuser:
        return manageable
    return accounts.filter(Q(pk=user.pk) | Q(pk__in=manageable.values("pk")))


def api_tokens_for_user(
    user: AbstractBaseUser | AnonymousUser, *, action: str = "view"
) -> QuerySet[ApiToken]:
    """API tokens the user may ``action``: their own, and those of the accounts they manage."""
    return scope_queryset(
        user, ApiToken.objects.select_related("user", "created_by"), action=action
    )
