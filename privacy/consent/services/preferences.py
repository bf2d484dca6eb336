"""Writes of the public preference centre: a person's own choices and one-click unsubscribe."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from privacy.consent.selectors import consent_state
from privacy.consent.services.links import InvalidLink, preference_customer
from privacy.consent.services.records import (
    active_purpose_get,
    channel_check,
    choice_check,
    consent_record,
)
from privacy.models import (
    ConsentEvent,
    ConsentPurpose,
    ConsentSource,
    ConsentStatus,
    PrivacyNotice,
)

# --- Preference centre --------------------------------------------------------------------------

_PERSON_STATUSES = {ConsentStatus.GRANTED, ConsentStatus.WITHDRAWN}


@transaction.atomic
def preferences_apply(
    *,
    token: str,
    changes: Mapping[tuple[str, str], str],
    evidence: Mapping[str, Any] | None,
    notice: PrivacyNotice | None = None,
) -> list[ConsentEvent]:
    """Apply a person's choices from the preference centre: ``{(purpose code, channel):
    "granted" | "withdrawn"}``. Records only what changes the current state, each as its own
    event with source ``preference_centre``. Raises ``InvalidLink`` for a bad token and
    ``ConsentError`` for a purpose, channel or status that cannot be chosen."""
    customer = preference_customer(token=token, for_update=True)
    for (purpose_code, channel), status in changes.items():
        channel_check(active_purpose_get(purpose_code), channel)
        choice_check("status", status, ConsentStatus, allowed=_PERSON_STATUSES)
    current = {(row["purpose_code"], row["channel"]): row for row in consent_state(customer)}
    events = []
    for (purpose_code, channel), status in changes.items():
        is_granted = current[(purpose_code, channel)]["is_granted"]
        if (status == ConsentStatus.GRANTED) == is_granted:
            continue
        events.append(
            consent_record(
                customer=customer,
                purpose_code=purpose_code,
                channel=channel,
                status=status,
                source=ConsentSource.PREFERENCE_CENTRE,
                evidence=evidence,
                notice=notice,
            )
        )
    return events


@transaction.atomic
def preferences_unsubscribe(
    *, token: str, purpose_code: str, evidence: Mapping[str, Any] | None
) -> list[ConsentEvent]:
    """One-click unsubscribe: withdraw ``purpose_code`` on each of its channels (source
    ``unsubscribe``). Idempotent: a purpose already withdrawn or denied records nothing.
    An unknown purpose is an ``InvalidLink`` like a bad token."""
    customer = preference_customer(token=token, for_update=True)
    purpose = ConsentPurpose.objects.filter(code=purpose_code, is_active=True).first()
    if purpose is None:
        raise InvalidLink
    current = {
        row["channel"]: row["status"]
        for row in consent_state(customer)
        if row["purpose_code"] == purpose.code
    }
    return [
        consent_record(
            customer=customer,
            purpose_code=purpose.code,
            channel=channel,
            status=ConsentStatus.WITHDRAWN,
            source=ConsentSource.UNSUBSCRIBE,
            evidence=evidence,
        )
        for channel in purpose.channels
        if current.get(channel) not in {ConsentStatus.WITHDRAWN, ConsentStatus.DENIED}
    ]
