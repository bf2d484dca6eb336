"""Security headers that Django's SecurityMiddleware does not set.

- ``Content-Security-Policy``: scripts, styles, fonts and connections from this origin only, no
  plugins, no framing, forms post only here. Templates therefore hold no inline ``<script>``,
  ``style=`` attribute or ``on…=`` handler; behaviour lives in ``static/js/marketbase.js``.
- ``Permissions-Policy``: the browser features a back office never needs are switched off.
- ``Cross-Origin-Resource-Policy: same-origin``: other sites cannot embed our responses.
- ``Cache-Control: no-store``: staff pages, the admin, every API answer and every download may
  hold personal data, so neither the browser nor a proxy keeps a copy (a shared computer's
  cache, the back button after signing out). Static files keep the caching WhiteNoise gives
  them, and a view that may be cached says so itself.

A view that needs something else sets the header itself; this middleware only fills in headers
that are missing. ``CONTENT_SECURITY_POLICY`` (directive → sources) replaces the default
policy, and ``CONTENT_SECURITY_POLICY_REPORT_ONLY = True`` sends it as
``Content-Security-Policy-Report-Only`` while a new policy is tried out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from django.conf import settings
from django.http import HttpRequest, HttpResponse

DEFAULT_CONTENT_SECURITY_POLICY: dict[str, tuple[str, ...]] = {
    "default-src": ("'self'",),
    "script-src": ("'self'",),
    "style-src": ("'self'",),
    "img-src": ("'self'", "data:"),
    "object-src": ("'none'",),
    "frame-ancestors": ("'none'",),
    "base-uri": ("'self'",),
    "form-action": ("'self'",),
}

# Features a marketing back office never uses; "()" allows them for no origin at all.
DEFAULT_PERMISSIONS_POLICY: dict[str, tuple[str, ...]] = {
    "accelerometer": (),
    "camera": (),
    "geolocation": (),
    "gyroscope": (),
    "magnetometer": (),
    "microphone": (),
    "payment": (),
    "usb": (),
}


def content_security_policy(policy: Mapping[str, Sequence[str]]) -> str:
    """``{"default-src": ["'self'"]}`` → ``"default-src 'self'"``; directives keep their order."""
    return "; ".join(" ".join((directive, *sources)) for directive, sources in policy.items())


def permissions_policy(policy: Mapping[str, Sequence[str]]) -> str:
    """``{"camera": []}`` → ``"camera=()"``."""
    return ", ".join(f"{feature}=({' '.join(origins)})" for feature, origins in policy.items())


class SecurityHeadersMiddleware:
    """Adds the content security policy, Permissions-Policy, CORP and ``Cache-Control`` to every
    response that does not set them itself."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", DEFAULT_CONTENT_SECURITY_POLICY)
        report_only = getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", False)
        self.headers = {
            (
                "Content-Security-Policy-Report-Only" if report_only else "Content-Security-Policy"
            ): content_security_policy(policy),
            "Permissions-Policy": permissions_policy(
                getattr(settings, "PERMISSIONS_POLICY", DEFAULT_PERMISSIONS_POLICY)
            ),
            "Cross-Origin-Resource-Policy": "same-origin",
            "Cache-Control": "no-store",
        }

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        for name, value in self.headers.items():
            response.headers.setdefault(name, value)
        return response
