"""Request context, the staff-UI login + MFA gate, and the user's time zone."""

from __future__ import annotations

import functools
import re
import uuid
import zoneinfo
from urllib.parse import urlencode

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.shortcuts import redirect
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone

from privacy.core import context, refusals
from privacy.core.selectors import user_has_confirmed_device

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def client_ip(request) -> str | None:
    """The client address as the last trusted proxy saw it (``TRUSTED_PROXY_COUNT`` hops)."""
    hops = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if hops and forwarded:
        addresses = [part.strip() for part in forwarded.split(",") if part.strip()]
        if len(addresses) >= hops:
            return addresses[-hops]
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    """Gives every request an id (kept from ``X-Request-ID`` when well formed) and its address."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = context.activate(
            context.RequestContext(request_id=request.request_id, ip_address=client_ip(request))
        )
        try:
            response = self.get_response(request)
        finally:
            context.deactivate(token)
        response["X-Request-ID"] = request.request_id
        return response


# Areas that are not staff pages: static files (served before this middleware; a missing one is
# a 404) and the API, which authenticates by itself (tokens, or sessions that passed MFA) and
# answers its own 404s. Every other page a person reaches before signing in is marked by its view
# (``public_page``).
_OWN_RULES_PREFIXES = ("/static/", "/api/")
PUBLIC_PAGE = "public_page"


def public_page(view):
    """Mark a view (a function, or a class-based view's class) as open to visitors who have not
    signed in: sign-in itself, and pages opened from emails whose signed token is the authority.

    ``StaffAccessMiddleware`` reads the mark from the view the address resolves to, so a page is
    public by what it is, never by where it is mounted. A function is wrapped, not changed, so
    marking a view of another package (Django's ``set_language``) marks only this route.
    """
    if isinstance(view, type):
        setattr(view, PUBLIC_PAGE, True)
        return view

    @functools.wraps(view)
    def public(*args, **kwargs):
        return view(*args, **kwargs)

    if iscoroutinefunction(view):
        markcoroutinefunction(public)
    setattr(public, PUBLIC_PAGE, True)
    return public


def _is_public_page(request) -> bool:
    try:
        match = resolve(request.path_info, getattr(request, "urlconf", None))
    except Resolver404:
        return False
    view_class = getattr(match.func, "view_class", None)
    return bool(getattr(match.func, PUBLIC_PAGE, False) or getattr(view_class, PUBLIC_PAGE, False))


_MFA_PREFIXES = ("/accounts/mfa/", "/accounts/logout/")


class StaffAccessMiddleware:
    """Every staff page and the admin need a signed-in user who passed the TOTP check.

    Enforced here rather than per view, so a new view cannot forget it: only views marked
    ``public_page`` are open, and an address that resolves to no view is not.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if (
            path.startswith(_OWN_RULES_PREFIXES)
            or path in getattr(settings, "PUBLIC_PATHS", ())
            or _is_public_page(request)
        ):
            return self.get_response(request)
        user = request.user
        if not user.is_authenticated:
            return redirect(f"{reverse('login')}?{urlencode({'next': request.get_full_path()})}")
        if path.startswith(_MFA_PREFIXES):
            return self.get_response(request)
        if not user.is_verified():
            target = "mfa-verify" if user_has_confirmed_device(user) else "mfa-setup"
            return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")
        return self.get_response(request)


class RefusalAuditMiddleware:
    """Audits staff-UI and admin requests of signed-in users that the access checks refused.

    The views raise ``NotFound`` or ``PermissionDenied``; this records the refusal (see
    ``privacy.core.refusals``) and lets Django answer 404 or 403 as usual. The API audits its own
    refusals in its error handler.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        refusals.exception_record(request, exception)


class UserTimezoneMiddleware:
    """Shows times in the signed-in user's time zone; they are stored in UTC."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        zone_name = None
        if request.user.is_authenticated:
            profile = getattr(request.user, "staff_profile", None)
            zone_name = profile.time_zone if profile else None
        try:
            timezone.activate(zoneinfo.ZoneInfo(zone_name)) if zone_name else timezone.deactivate()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        return self.get_response(request)
