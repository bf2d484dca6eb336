"""API authentication classes, kept apart from the viewset base to avoid import cycles in DRF."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.authentication import SessionScheme
from rest_framework import authentication, exceptions


class TokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <key>`` with a ``privacy.ApiToken`` (an account may have several).

    The key is found by its digest; a revoked or expired token, or one of a deactivated account,
    is refused with a 401 like an unknown key (its code says which, for the audit log). A token
    that works notes when it was last used, once a minute at the most.
    """

    def authenticate_credentials(self, key):
        # Imported here: DRF imports this module while settings load, before the apps are ready.
        from privacy.core.selectors import api_token_for_key
        from privacy.core.services.accounts import api_token_mark_used

        token = api_token_for_key(key)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        now = timezone.now()
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(
                _("This token has been revoked."), code="token_revoked"
            )
        if token.is_expired(now):
            raise exceptions.AuthenticationFailed(
                _("This token has expired."), code="token_expired"
            )
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(
                _("User inactive or deleted."), code="user_inactive"
            )
        api_token_mark_used(token=token, now=now)
        return token.user, token


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
