"""Re-authentication for browser sessions that use the API (see ``privacy.core.reauth``).

API tokens are not re-authenticated: the token is the credential of a system. A staff member's
browser session calling the API is another matter: the same stale screen that the staff UI
would send to ``/accounts/reauth/`` must not erase or export through the API instead. Views
call ``reauth_check_for_session(request)`` before such an action.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.request import Request

from privacy.core.reauth import reauth_is_recent
from privacy.core.rest.authentication import VerifiedSessionAuthentication


class ReauthenticationRequired(exceptions.PermissionDenied):
    default_code = "reauthentication_required"


def reauth_check_for_session(request: Request) -> None:
    """Refuse (403, code ``reauthentication_required``) a session whose proof is stale."""
    if not isinstance(request.successful_authenticator, VerifiedSessionAuthentication):
        return
    if reauth_is_recent(request._request):
        return
    raise ReauthenticationRequired(
        _("Confirm your password and code again at %(url)s, then retry.")
        % {"url": reverse("reauth")}
    )
