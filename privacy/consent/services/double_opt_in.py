"""Double opt-in: the confirmation email and the grant its link confirms."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from privacy.consent.selectors import ConsentSubject
from privacy.consent.services.links import (
    double_opt_in_subject,
    double_opt_in_token,
    preference_url,
    public_url_build,
)
from privacy.consent.services.records import ConsentError, User, active_purpose_get, consent_record
from privacy.core.services.audit import audit_record
from privacy.models import (
    ConsentChannel,
    ConsentEvent,
    ConsentSource,
    ConsentStatus,
    PrivacyNotice,
)


def _language_of(customer: ConsentSubject) -> str:
    language = getattr(customer, "language", "") or settings.LANGUAGE_CODE
    try:
        return translation.get_supported_language_variant(language)
    except LookupError:
        return settings.LANGUAGE_CODE


def double_opt_in_send(
    *,
    customer: ConsentSubject,
    purpose_code: str,
    actor: User | None = None,
    base_url: str | None = None,
) -> str:
    """Email the customer a link to confirm ``purpose_code`` (valid 7 days) and audit it.

    The link is absolute: ``PUBLIC_BASE_URL``, else ``base_url`` (the request's address).
    Returns the signed token. Raises ``ConsentError`` when the purpose is not asked by email
    or the customer has no email address.
    """
    purpose = active_purpose_get(purpose_code)
    if ConsentChannel.EMAIL not in purpose.channels:
        raise ConsentError(
            "purpose", _("The purpose “%(code)s” is not asked by email.") % {"code": purpose.code}
        )
    if not customer.email:
        raise ConsentError("customer", _("This customer has no email address."))
    token = double_opt_in_token(customer, purpose.code)
    link = public_url_build(reverse("consent-confirm", kwargs={"token": token}), base_url)
    preferences = preference_url(customer, base_url=base_url)
    with translation.override(_language_of(customer)):
        subject = _("Please confirm: %(purpose)s") % {"purpose": purpose.display_name}
        body = _(
            "Hello,\n\n"
            "please confirm that you want to receive %(purpose)s at this address by opening "
            "this link:\n\n%(link)s\n\n"
            "The link is valid for 7 days. If you did not ask for this, ignore this message and "
            "nothing will change.\n\n"
            "Manage all your choices: %(preferences)s\n"
        ) % {"purpose": purpose.display_name, "link": link, "preferences": preferences}
    send_mail(subject, body, None, [customer.email])
    with transaction.atomic():
        audit_record(
            action="consent.double_opt_in_sent",
            actor=actor,
            object_type="customers.customer",
            object_id=customer.pk,
            metadata={"purpose": purpose.code, "channel": ConsentChannel.EMAIL},
        )
    return token


@transaction.atomic
def double_opt_in_confirm(
    *,
    token: str,
    evidence: Mapping[str, Any] | None,
    notice: PrivacyNotice | None = None,
) -> ConsentEvent:
    """Record the grant a double opt-in link confirms (source ``double_opt_in``).

    Using the same link again returns the event it recorded: a link opened twice, or after the
    person withdrew, never grants a second time.
    """
    customer, purpose = double_opt_in_subject(token=token, for_update=True)
    reference = "double_opt_in:" + hashlib.sha256(token.encode()).hexdigest()[:32]
    recorded = ConsentEvent.objects.filter(
        customer_id=customer.pk, purpose=purpose, source_reference=reference
    ).first()
    if recorded is not None:
        return recorded
    return consent_record(
        customer=customer,
        purpose_code=purpose.code,
        channel=ConsentChannel.EMAIL,
        status=ConsentStatus.GRANTED,
        source=ConsentSource.DOUBLE_OPT_IN,
        evidence=evidence,
        notice=notice,
        source_reference=reference,
    )
