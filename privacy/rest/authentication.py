"""API authentication classes, kept apart from the viewset base to avoid import cycles in DRF."""

from drf_spectacular.authentication import SessionScheme
from rest_framework import authentication


class TokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <key>``: one token per user or integration account."""


class VerifiedSessionAuthentication(authentication.SessionAuthentication):
    """Browser sessions count only after the TOTP step, as in the staff UI."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, auth = result
        if not getattr(request._request.user, "is_verified", lambda: False)():
            return None
        return user, auth


class VerifiedSessionScheme(SessionScheme):
    """Document the TOTP-verified session like DRF's session cookie (``cookieAuth``)."""

    target_class = VerifiedSessionAuthentication
