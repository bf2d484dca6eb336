"""Re-authentication before sensitive staff actions: exports of personal data and erasures.

Signing in proves who sits at the keyboard once; a session left open on a shared screen must not
be enough to download customer data or erase a person. A protected view needs the password and a
current TOTP code given within the last ``REAUTH_MAX_AGE_SECONDS`` (default 300):

- ``@reauth_required`` on a function view sends a stale session to ``/accounts/reauth/?next=``
  (URL name ``reauth``), which brings the user back to the view's address;
- ``reauth_is_recent(request)`` and ``reauth_redirect(request)`` do the same for code that checks
  something else first (the admin's delete views check the delete permission before asking);
- ``reauth_stamp(request)`` records a proof and gives the session a new key. The sign-in's TOTP
  step (and the enrolment's confirmation) and the re-authentication page call it.

A POST that arrives with a stale session is not carried out: after re-authenticating, the user
lands on the GET page of the same address and confirms the action again. So a protected view
that acts on POST also answers GET with its confirmation page (as the customer erase view and
the admin's delete views do)::

    @require_http_methods(["GET", "POST"])
    @reauth_required
    def thing_erase_view(request, pk): ...

Put ``reauth_required`` below ``require_http_methods`` so a wrong method is still answered 405.

A step whose form is itself the confirmation (answering a data-subject request) uses
``reauth_replaying_post`` instead, so re-authenticating is the one confirmation the step asks
for: the stale POST's form data is kept in the session under a one-time key, the
re-authentication page shows what it will confirm, and coming back with that key runs the
view on the kept POST, with everything the user typed. The key is random, bound to the address
and the session, taken once, and lapses after ``REPLAY_MAX_AGE_SECONDS``; a POST passed the
CSRF check before it was kept.

Wrong passwords go through ``django.contrib.auth.authenticate``, so django-axes counts them with
the sign-in failures (per username and address) and refuses a locked-out user; wrong codes are
slowed down by django-otp's throttle. After ``AXES_FAILURE_LIMIT`` failed attempts in one session
the re-authentication page signs the user out.

The REST API is not re-authenticated. An API token is itself the credential, sent with every
call by a system (an integration, a script) that has nobody at hand to type a code; it does not
age with a screen left unattended, and it is revoked rather than re-proved.
"""

from __future__ import annotations

import functools
import secrets
import time
from collections.abc import Callable
from urllib.parse import urlencode

from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import authenticate
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.datastructures import MultiValueDict
from django_otp import match_token

from privacy.core.services.audit import audit_record

SESSION_KEY = "marketbase_reauth_at"
FAILURES_SESSION_KEY = "marketbase_reauth_failures"
REPLAY_SESSION_KEY = "marketbase_reauth_replay"
REPLAY_PARAMETER = "replay"
REPLAY_MAX_AGE_SECONDS = 900
# Kept POSTs per session and characters per kept POST: forms of a few fields and notes.
REPLAY_MAX_KEPT = 5
REPLAY_MAX_CHARACTERS = 20_000


def reauth_stamp(request: HttpRequest) -> None:
    """Record that the user proved password and code just now; failures start again from 0.

    The session also gets a new key, keeping its data: a proof raises what the session may do,
    so a key that was planted or seen before it (session fixation) is worth nothing after it.
    """
    request.session.cycle_key()
    request.session[SESSION_KEY] = time.time()
    request.session.pop(FAILURES_SESSION_KEY, None)


def reauth_is_recent(request: HttpRequest) -> bool:
    """Whether the session proved password and code within ``REAUTH_MAX_AGE_SECONDS``."""
    stamped = request.session.get(SESSION_KEY)
    if isinstance(stamped, bool) or not isinstance(stamped, int | float):
        return False
    return time.time() - stamped <= settings.REAUTH_MAX_AGE_SECONDS


def reauth_redirect(request: HttpRequest, next_url: str | None = None) -> HttpResponseRedirect:
    """Send the user to the re-authentication page, to come back to ``next_url``.

    By default the user comes back to this request's address, with GET: a POST is not repeated.
    """
    target = next_url or request.get_full_path()
    return redirect(f"{reverse('reauth')}?{urlencode({'next': target})}")


def reauth_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Decorate a function view that needs a recent password and code (see the module)."""

    @functools.wraps(view)
    def protected(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not reauth_is_recent(request):
            return reauth_redirect(request)
        return view(request, *args, **kwargs)

    return protected


def reauth_confirm(request: HttpRequest, *, password: str, token: str) -> bool:
    """Check the signed-in user's password and TOTP code; stamp the session if both are right.

    The password is checked first, and the code only after a right password, so a wrong
    password never uses up the code. Audited either way: ``auth.reauth_ok`` or
    ``auth.reauth_failed`` (with which of the two was wrong and the session's failure count).
    """
    user = request.user
    checked = authenticate(request, username=user.get_username(), password=password)
    if checked is None or checked.pk != user.pk:
        reason = "password"
    elif match_token(user, token) is None:
        reason = "code"
    else:
        reauth_stamp(request)
        if settings.AXES_RESET_ON_SUCCESS:
            # As a successful sign-in does: earlier typing mistakes no longer count.
            axes_reset(ip=getattr(request, "axes_ip_address", None), username=user.get_username())
        audit_record(action="auth.reauth_ok", actor=user)
        return True
    failures = reauth_failures(request) + 1
    request.session[FAILURES_SESSION_KEY] = failures
    audit_record(
        action="auth.reauth_failed",
        actor=user,
        metadata={"reason": reason, "failures": failures},
    )
    return False


def reauth_failures(request: HttpRequest) -> int:
    failures = request.session.get(FAILURES_SESSION_KEY, 0)
    return failures if isinstance(failures, int) else 0


def reauth_is_locked(request: HttpRequest) -> bool:
    """Whether this session failed too often, or django-axes has just locked the user out."""
    return (
        bool(getattr(request, "axes_locked_out", False))
        or reauth_failures(request) >= settings.AXES_FAILURE_LIMIT
    )


# --- Carrying a POST over the re-authentication ---------------------------------------------------


def _replays(request: HttpRequest) -> dict:
    kept = request.session.get(REPLAY_SESSION_KEY)
    if not isinstance(kept, dict):
        return {}
    now = time.time()
    return {
        key: entry
        for key, entry in kept.items()
        if isinstance(entry, dict)
        and isinstance(entry.get("at"), int | float)
        and now - entry["at"] <= REPLAY_MAX_AGE_SECONDS
    }


def reauth_keep_post(request: HttpRequest, *, summary: str = "") -> str | None:
    """Keep this POST's form data for after the re-authentication; its one-time key, or None
    when there is nothing that can be kept (files, or more than a form's worth of text)."""
    if request.FILES:
        return None
    data = [
        [name, value]
        for name, values in request.POST.lists()
        if name != "csrfmiddlewaretoken"
        for value in values
    ]
    if sum(len(name) + len(value) for name, value in data) > REPLAY_MAX_CHARACTERS:
        return None
    key = secrets.token_urlsafe(18)
    kept = _replays(request)
    kept[key] = {"path": request.path, "data": data, "at": time.time(), "summary": summary}
    request.session[REPLAY_SESSION_KEY] = dict(list(kept.items())[-REPLAY_MAX_KEPT:])
    return key


def reauth_kept_summary(request: HttpRequest, next_url: str) -> str:
    """What the kept POST ``next_url`` leads back to will do, for the re-authentication page."""
    key = QueryDict(next_url.partition("?")[2]).get(REPLAY_PARAMETER)
    entry = _replays(request).get(key or "")
    if entry is None or next_url.partition("?")[0] != entry.get("path"):
        return ""
    return str(entry.get("summary") or "")


def _kept_post_take(request: HttpRequest) -> QueryDict | None:
    key = request.GET.get(REPLAY_PARAMETER)
    kept = _replays(request)
    entry = kept.pop(key or "", None)
    if entry is None:
        return None
    request.session[REPLAY_SESSION_KEY] = kept
    if entry.get("path") != request.path:
        return None
    data = QueryDict(mutable=True)
    for name, value in entry.get("data") or ():
        data.appendlist(str(name), str(value))
    data._mutable = False
    return data


def reauth_replaying_post(
    summary: Callable[..., str] | None = None,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Like ``reauth_required``, but a POST from a stale session is carried out after the
    re-authentication, with its data, instead of asking to confirm it again (see the module).

    ``summary(request, *args, **kwargs)`` says what the POST will do; the re-authentication
    page shows it, so the user knows what they confirm.
    """

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def protected(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not reauth_is_recent(request):
                if request.method == "POST":
                    text = summary(request, *args, **kwargs) if summary else ""
                    key = reauth_keep_post(request, summary=text)
                    if key is not None:
                        target = f"{request.path}?{urlencode({REPLAY_PARAMETER: key})}"
                        return reauth_redirect(request, target)
                return reauth_redirect(request)
            if request.method == "GET" and REPLAY_PARAMETER in request.GET:
                data = _kept_post_take(request)
                if data is not None:
                    request.method = "POST"
                    request._post = data
                    request._files = MultiValueDict()
            return view(request, *args, **kwargs)

        return protected

    return decorate
