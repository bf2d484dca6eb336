"""Failed authorisations and sign-in lockouts in the audit log.

Recorded as ``access.denied``: a signed-in user refused by the access layer (a ``NotFound`` for an
object that exists but is out of the user's reach, or for a page the user's role does not
include), by a ``PermissionDenied`` (the admin's permission checks), or by the API (403, and 404
from scoping); and the admin's "does not exist" answer for another team's object. Recorded as
``auth.token_failed``: an API call whose ``Authorization`` header does not authenticate (at most
``TOKEN_FAILURES_RECORDED_PER_MINUTE`` per address and minute, then one
``auth.token_failed_flood``). Recorded
as ``auth.locked_out``: django-axes locking a username out.

Not recorded, so the log does not fill with noise: anonymous visitors sent to the sign-in page,
API calls without any credentials, and plain 404s for things that do not exist.

Metadata names the method, the route (its URL name, or its pattern when it has none; never the
address, whose query string may hold personal values), the status answered and a reason
(``out_of_scope`` or ``permission``, or DRF's error code for a token). The refused object is the
entry's object when there is one.
"""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from rest_framework import exceptions

from privacy.core import context
from privacy.core.access import NotFound
from privacy.core.services.audit import audit_record

OUT_OF_SCOPE = "out_of_scope"
PERMISSION = "permission"


def route_of(request: HttpRequest) -> str:
    """The matched URL pattern's name (``api:customer-detail``), or its pattern when unnamed."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return ""
    return match.view_name if match.url_name else match.route


def access_denied_record(
    request: HttpRequest,
    *,
    status: int,
    reason: str,
    object_type: str = "",
    object_id: str = "",
) -> None:
    """Audit one refused request of a signed-in user."""
    audit_record(
        action="access.denied",
        actor=request.user,
        object_type=object_type,
        object_id=object_id,
        metadata={
            "method": request.method,
            "route": route_of(request),
            "status": status,
            "reason": reason,
        },
    )


def exception_record(request: HttpRequest, exception: Exception) -> None:
    """Audit a staff-UI or admin request refused by an exception; ignore everything else."""
    if not request.user.is_authenticated:
        return
    if isinstance(exception, NotFound) and exception.is_refusal:
        access_denied_record(
            request,
            status=404,
            reason=OUT_OF_SCOPE if exception.object_id else PERMISSION,
            object_type=exception.object_type,
            object_id=exception.object_id,
        )
    elif isinstance(exception, PermissionDenied):
        access_denied_record(request, status=403, reason=PERMISSION)


# Failed tokens are recorded before any throttle could answer, so one address guessing tokens
# would write one entry per guess: per address and minute, the first ones are recorded, then one
# ``auth.token_failed_flood`` entry says the rest of that minute is not.
TOKEN_FAILURES_RECORDED_PER_MINUTE = 30


def token_failure_record(*, metadata: dict[str, Any]) -> None:
    address = context.current().ip_address or "-"
    key = f"audit:token_failed:{address}:{int(time.time() // 60)}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        count = 1
    if count <= TOKEN_FAILURES_RECORDED_PER_MINUTE:
        audit_record(action="auth.token_failed", metadata=metadata)
    elif count == TOKEN_FAILURES_RECORDED_PER_MINUTE + 1:
        audit_record(
            action="auth.token_failed_flood",
            metadata={**metadata, "recorded_per_minute": TOKEN_FAILURES_RECORDED_PER_MINUTE},
        )


def api_refusal_record(exception: Exception, request, *, status: int) -> None:
    """Audit an API call answered 401, 403, or 404 from scoping (called by the error handler).

    ``request`` is DRF's request: its user is the token's user.
    """
    if isinstance(exception, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        # Without an Authorization header nobody presented a credential: nothing to record.
        if request.META.get("HTTP_AUTHORIZATION"):
            token_failure_record(
                metadata={
                    "method": request.method,
                    "route": route_of(request),
                    "status": status,
                    "reason": _code(exception),
                }
            )
        return
    is_scoped_out = isinstance(exception, NotFound) and exception.is_refusal
    is_forbidden = isinstance(exception, PermissionDenied | exceptions.PermissionDenied)
    # The user is read for refusals only: they come after authentication, so reading it cannot
    # start (and fail) authentication inside the error handler.
    if not (is_scoped_out or is_forbidden) or not request.user.is_authenticated:
        return
    if is_scoped_out:
        access_denied_record(
            request,
            status=status,
            reason=OUT_OF_SCOPE if exception.object_id else PERMISSION,
            object_type=exception.object_type,
            object_id=exception.object_id,
        )
    else:
        access_denied_record(request, status=status, reason=PERMISSION)


def locked_out_record(sender: Any, request=None, username: str | None = None, **kwargs) -> None:
    """Receiver of django-axes' ``user_locked_out``: audit the lockout.

    A signal receiver because axes is third-party and announces lockouts no other way. The
    attempt's author is unknown, so the locked-out account is the entry's object, not its actor;
    a username that matches no account is not stored (it may be anything someone typed).
    """
    user_model = get_user_model()
    user = (
        user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
        if username
        else None
    )
    audit_record(
        action="auth.locked_out",
        target=user,
        metadata={"known_user": user is not None, "route": route_of(request) if request else ""},
    )


def _code(exception: exceptions.APIException) -> str:
    codes = exception.get_codes()
    return codes if isinstance(codes, str) else "error"
