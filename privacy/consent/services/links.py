"""The signed links sent to people: the preference centre, one-click unsubscribe, double opt-in.

Links carry a ``TimestampSigner`` token instead of a login: the double opt-in link (salt
``marketbase.double-opt-in``, valid 7 days, bound to the address it was sent to) and the
preference-centre link (salt ``marketbase.preferences``, valid ``PREFERENCE_LINK_MAX_AGE_DAYS``
days, 180 by default; 0 means no expiry). A link that is forged, expired or points at someone
no longer here raises ``InvalidLink``, and callers show the same answer for all three so a link
never reveals whether a person exists.
"""

from __future__ import annotations

import datetime
from typing import Any
from urllib.parse import urljoin

from django.conf import settings
from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from privacy.consent.selectors import ConsentSubject
from privacy.consent.services.records import MAX_MERGE_HOPS
from privacy.core.crypto import blind_index
from privacy.core.subjects import Subject, subject_directory
from privacy.models import (
    ConsentChannel,
    ConsentPurpose,
)

DOUBLE_OPT_IN_SALT = "marketbase.double-opt-in"
DOUBLE_OPT_IN_MAX_AGE = datetime.timedelta(days=7)
PREFERENCES_SALT = "marketbase.preferences"
DEFAULT_PREFERENCE_LINK_MAX_AGE_DAYS = 180


class InvalidLink(Exception):
    """A signed link that is forged, expired, or whose person or purpose is gone.

    Deliberately one exception without detail: the answer must not tell them apart.
    """


# --- Signed links -------------------------------------------------------------------------------


def public_url_build(path: str, base_url: str | None) -> str:
    base = getattr(settings, "PUBLIC_BASE_URL", "") or base_url or ""
    if not base:
        raise ImproperlyConfigured(
            "Set PUBLIC_BASE_URL to the address people open links from emails on."
        )
    return urljoin(base.rstrip("/") + "/", path.lstrip("/"))


def _preference_max_age() -> datetime.timedelta | None:
    days = getattr(settings, "PREFERENCE_LINK_MAX_AGE_DAYS", DEFAULT_PREFERENCE_LINK_MAX_AGE_DAYS)
    return datetime.timedelta(days=days) if days else None


def _customer_by_id(customer_id: Any, *, for_update: bool = False) -> Subject:
    """The customer a link was made for, or the profile it was merged into."""
    if not isinstance(customer_id, int):
        raise InvalidLink
    directory = subject_directory()
    for _hop in range(MAX_MERGE_HOPS):
        customer = directory.get(customer_id, for_update=for_update)
        if customer is None:
            raise InvalidLink
        if customer.merged_into_id is None:
            return customer
        customer_id = customer.merged_into_id
    raise InvalidLink


def _unsign(token: str, *, salt: str, max_age: datetime.timedelta | None) -> dict[str, Any]:
    try:
        payload = signing.TimestampSigner(salt=salt).unsign_object(token, max_age=max_age)
    except (signing.BadSignature, ValueError, TypeError) as error:
        raise InvalidLink from error
    if not isinstance(payload, dict):
        raise InvalidLink
    return payload


def preference_token(customer: ConsentSubject) -> str:
    """The signed token of the customer's preference-centre link (no login needed)."""
    return signing.TimestampSigner(salt=PREFERENCES_SALT).sign_object({"c": customer.pk})


def preference_customer(*, token: str, for_update: bool = False):
    """The customer a preference-centre token was made for; ``InvalidLink`` otherwise."""
    payload = _unsign(token, salt=PREFERENCES_SALT, max_age=_preference_max_age())
    return _customer_by_id(payload.get("c"), for_update=for_update)


def preference_url(customer: ConsentSubject, *, base_url: str | None = None) -> str:
    """The absolute preference-centre link for emails."""
    path = reverse("consent-preferences", kwargs={"token": preference_token(customer)})
    return public_url_build(path, base_url)


def unsubscribe_url(
    customer: ConsentSubject, purpose_code: str, *, base_url: str | None = None
) -> str:
    """The absolute one-click unsubscribe link (for ``List-Unsubscribe`` headers, RFC 8058)."""
    path = reverse(
        "consent-unsubscribe",
        kwargs={"token": preference_token(customer), "purpose_code": purpose_code},
    )
    return public_url_build(path, base_url)


# --- Double opt-in ------------------------------------------------------------------------------


def _email_fingerprint(email: str) -> str:
    # Binds the link to the address it was sent to, without putting the address in the link.
    return blind_index(email, purpose="email")[:16]


def double_opt_in_token(customer: ConsentSubject, purpose_code: str) -> str:
    """The signed token of a double opt-in link, bound to the customer's current address."""
    return signing.TimestampSigner(salt=DOUBLE_OPT_IN_SALT).sign_object(
        {"c": customer.pk, "p": purpose_code, "e": _email_fingerprint(customer.email or "")}
    )


def double_opt_in_subject(*, token: str, for_update: bool = False):
    """The customer and purpose a double opt-in token confirms; ``InvalidLink`` when the token
    is forged or older than 7 days, the person is gone, or their address has changed since."""
    payload = _unsign(token, salt=DOUBLE_OPT_IN_SALT, max_age=DOUBLE_OPT_IN_MAX_AGE)
    customer = _customer_by_id(payload.get("c"), for_update=for_update)
    if not customer.email or _email_fingerprint(customer.email) != payload.get("e"):
        raise InvalidLink
    purpose = ConsentPurpose.objects.filter(code=payload.get("p"), is_active=True).first()
    if purpose is None or ConsentChannel.EMAIL not in purpose.channels:
        raise InvalidLink
    return customer, purpose
