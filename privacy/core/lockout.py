"""Which failed sign-ins lock a password out: django-axes' ``AXES_LOCKOUT_PARAMETERS``.

Two limits, both counted by django-axes over the cool-off window (``LOGIN_LOCKOUT_MINUTES``):

- **per account and address**: ``LOGIN_FAILURE_LIMIT`` (5) failures for one username from one
  address lock that pair out. This is the limit a person mistyping their password meets;
- **per account, across addresses**: once an account has ``LOGIN_ACCOUNT_FAILURE_LIMIT`` (20)
  failures in the window, whatever addresses they came from, its password is refused from
  every address that has never completed a sign-in to it (password and TOTP code:
  ``auth.mfa_ok``, ``mfa.enrol`` or ``auth.reauth_ok`` in the audit log). Someone who rotates
  addresses to get round the first limit is stopped after 20 guesses in the window; the
  person whose account it is still signs in from their usual office or home address.

Why not simply lock the account after 20 failures everywhere: anybody who knows a username
could then keep its owner out indefinitely with a few wrong passwords a quarter of an hour.
Addresses that proved both factors before are the one thing such an attacker does not control.

The cost: during an attack the owner cannot sign in from a new address (travelling, a new
network); they sign in from a usual one, or an administrator resets the account's failures
(``manage.py axes_reset_username <name>``) once the attack has stopped.

django-axes applies one failure limit to every parameter set and locks when any set reaches
it; returning the account-wide set (``"username"``) only when its count already exceeds the
higher limit is how the second limit is expressed with axes' own lockout, response and
``user_locked_out`` signal (audited as ``auth.locked_out``).
"""

from __future__ import annotations

from typing import Any

from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt, AccessBase
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Sum
from django.http import HttpRequest
from django.utils import timezone

from privacy.models import AuditEntry

PER_ADDRESS = ["username", "ip_address"]
ACROSS_ADDRESSES = "username"
# Audit actions that record a completed sign-in (or a proof as strong) from an address.
SIGNED_IN_ACTIONS = ("auth.mfa_ok", "mfa.enrol", "auth.reauth_ok")


def sign_in_failures_across_addresses(*, username: str, request: HttpRequest) -> int:
    """Failed sign-ins to ``username`` within the cool-off window, from any address."""
    since = (getattr(request, "axes_attempt_time", None) or timezone.now()) - get_cool_off(request)
    total = AccessAttempt.objects.filter(username=username, attempt_time__gte=since).aggregate(
        total=Sum("failures_since_start")
    )["total"]
    return total or 0


def address_has_signed_in(*, username: str, ip_address: str | None) -> bool:
    """Whether the account of ``username`` ever completed a sign-in from ``ip_address``."""
    if not ip_address:
        return False
    user_model = get_user_model()
    account = user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username})
    return AuditEntry.objects.filter(
        actor_id__in=account.values("pk"), action__in=SIGNED_IN_ACTIONS, ip_address=ip_address
    ).exists()


def lockout_parameters(
    request_or_attempt: HttpRequest | AccessBase, credentials: dict[str, Any] | None = None
) -> list[Any]:
    """``AXES_LOCKOUT_PARAMETERS``: the per-address pair, and the whole account once it is under
    attack from addresses that never signed in to it (see the module)."""
    if isinstance(request_or_attempt, AccessBase):
        # django-axes' cache handler asks with a stored attempt; the database handler does not.
        return [PER_ADDRESS]
    request = request_or_attempt
    username = get_client_username(request, credentials)
    if not username:
        return [PER_ADDRESS]
    if sign_in_failures_across_addresses(
        username=username, request=request
    ) >= settings.LOGIN_ACCOUNT_FAILURE_LIMIT and not address_has_signed_in(
        username=username, ip_address=getattr(request, "axes_ip_address", None)
    ):
        return [PER_ADDRESS, ACROSS_ADDRESSES]
    return [PER_ADDRESS]
