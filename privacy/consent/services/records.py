"""Writes of consent records: purposes, one consent, a batch of consents.

Every change of consent is a new ``ConsentEvent`` (the database refuses UPDATE and DELETE); the
current state is derived by ``privacy.consent.selectors``. Each service writes its audit entry
in the same transaction, with codes and ids only, never personal values.
"""

from __future__ import annotations

import datetime
import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from privacy.consent.selectors import ConsentSubject, consents_latest
from privacy.core.crypto import blind_index
from privacy.core.services.audit import audit_record
from privacy.core.subjects import subject_directory
from privacy.models import (
    ConsentChannel,
    ConsentEvent,
    ConsentPurpose,
    ConsentSource,
    ConsentStatus,
    LawfulBasis,
    PrivacyNotice,
    Team,
)

# Evidence is proof (address, browser, form), not a document store.
MAX_EVIDENCE_BYTES = 4096
# What evidence may hold: how and where the choice was made, never who made it (the event names
# the customer already). Field → the JSON type of its value (null is allowed too).
EVIDENCE_FIELDS: dict[str, type] = {
    "ip_address": str,  # the person's address when choosing
    "user_agent": str,  # their browser
    "form": str,  # the form, campaign or channel where they chose
    "page": str,  # the page's address
    "language": str,  # the language the choice was offered in
    "notice_version": str,  # the privacy-notice version shown, when not given as a notice id
    "consent_text": str,  # the wording they agreed to
    "confirmation_id": str,  # the double opt-in confirmation that proved the address
    "import_job": int,  # the import that brought the choice
    "file": str,  # that import's file name
}
# Contact details inside an evidence value (a page address with ?email=…, a user agent someone
# wrote an address into) are replaced with this.
REMOVED = "[removed]"
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+\d(?:[\s().-]?\d){6,14}")
# How many merges a link follows from the customer it was made for to the surviving profile.
MAX_MERGE_HOPS = 10

User = AbstractBaseUser | AnonymousUser


class ConsentError(ValueError):
    """Consent input that cannot be recorded; ``field`` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class BulkResult:
    """What ``consents_record_bulk`` did with the statuses it was given."""

    recorded: int
    unchanged: int
    kept_withdrawn: int


# --- Validation ---------------------------------------------------------------------------------


def active_purpose_get(purpose_code: str) -> ConsentPurpose:
    purpose = ConsentPurpose.objects.filter(code=purpose_code, is_active=True).first()
    if purpose is None:
        raise ConsentError(
            "purpose", _("Unknown consent purpose “%(code)s”.") % {"code": purpose_code}
        )
    return purpose


def choice_check(field: str, value: str, choices: type, allowed: set[str] | None = None) -> None:
    values = set(allowed if allowed is not None else choices.values)
    if value not in values:
        raise ConsentError(
            field,
            _("“%(value)s” is not one of: %(choices)s.")
            % {"value": value, "choices": ", ".join(sorted(values))},
        )


def channel_check(purpose: ConsentPurpose, channel: str) -> None:
    choice_check("channel", channel, ConsentChannel)
    if channel not in purpose.channels:
        raise ConsentError(
            "channel",
            _("The purpose “%(code)s” is asked on: %(channels)s.")
            % {"code": purpose.code, "channels": ", ".join(purpose.channels)},
        )


def _without_contact_details(text: str) -> str:
    """The text with every email address and international phone number replaced, also where
    they are percent-encoded (``?email=ann%40example.com``)."""
    decoded = unquote(text)
    if decoded != text and (_EMAIL.search(decoded) or _PHONE.search(decoded)):
        text = decoded
    return _PHONE.sub(REMOVED, _EMAIL.sub(REMOVED, text))


def _clean_evidence(evidence: Mapping[str, Any] | None) -> dict[str, Any]:
    """Evidence as stored: only ``EVIDENCE_FIELDS``, each of its type, contact details removed.

    A field that is not one of them, or of the wrong type, is refused (``ConsentError`` naming
    ``evidence.<field>``): evidence proves how a choice was made and must not become a second
    copy of the person's email or phone, which the encrypted customer record holds.
    """
    if evidence is None:
        return {}
    if not isinstance(evidence, Mapping):
        raise ConsentError("evidence", _("Evidence must be an object."))
    cleaned: dict[str, Any] = {}
    for name, value in evidence.items():
        expected = EVIDENCE_FIELDS.get(name)
        if expected is None:
            raise ConsentError(
                f"evidence.{name}",
                _("Not an evidence field. Evidence may hold: %(fields)s.")
                % {"fields": ", ".join(EVIDENCE_FIELDS)},
            )
        if value is not None and type(value) is not expected:
            raise ConsentError(
                f"evidence.{name}",
                _("A text.") if expected is str else _("A whole number."),
            )
        if isinstance(value, str):
            if "\x00" in value:
                raise ConsentError(f"evidence.{name}", _("Null characters are not allowed."))
            value = _without_contact_details(value)
        cleaned[name] = value
    if len(json.dumps(cleaned).encode()) > MAX_EVIDENCE_BYTES:
        raise ConsentError(
            "evidence", _("Evidence is limited to %(size)d bytes.") % {"size": MAX_EVIDENCE_BYTES}
        )
    return cleaned


def customer_subject_key(customer: ConsentSubject) -> str:
    return blind_index(customer.email, purpose="email") if customer.email else ""


def _recorder(actor: User | None) -> AbstractBaseUser | None:
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


# --- Purposes -----------------------------------------------------------------------------------

# The purposes the consent migration creates: (code, name, channels, needs double opt-in).
DEFAULT_PURPOSES = (
    ("email_marketing", "Email marketing", ["email"], True),
    ("sms_marketing", "SMS marketing", ["sms"], False),
    ("wechat_marketing", "WeChat marketing", ["wechat"], False),
    ("profiling", "Profiling and personalisation", ["any"], False),
    ("third_party_sharing", "Sharing with partners", ["any"], False),
)


def consent_purposes_ensure() -> int:
    """Create the default purposes that are missing (never changes existing ones); returns how
    many were created. For tests that flush the database, and fresh demo data."""
    existing = set(ConsentPurpose.objects.values_list("code", flat=True))
    missing = [
        ConsentPurpose(code=code, name=name, channels=channels, requires_double_opt_in=double)
        for code, name, channels, double in DEFAULT_PURPOSES
        if code not in existing
    ]
    ConsentPurpose.objects.bulk_create(missing, ignore_conflicts=True)
    return len(missing)


# --- Recording ----------------------------------------------------------------------------------


@transaction.atomic
def consent_record(
    *,
    customer: ConsentSubject,
    purpose_code: str,
    channel: str,
    status: str,
    source: str,
    lawful_basis: str = LawfulBasis.CONSENT,
    actor: User | None = None,
    evidence: Mapping[str, Any] | None = None,
    notice: PrivacyNotice | None = None,
    source_reference: str = "",
    expires_at: datetime.datetime | None = None,
) -> ConsentEvent:
    """Append one consent event for ``customer`` and audit it (``consent.record``).

    The purpose must be active and asked on ``channel``. ``evidence`` is the proof of how the
    choice was made (address, user agent, form); ``notice`` the privacy-notice version shown.
    Only a grant can expire. Raises ``ConsentError`` naming the field at fault.
    """
    purpose = active_purpose_get(purpose_code)
    channel_check(purpose, channel)
    choice_check("status", status, ConsentStatus)
    choice_check("source", source, ConsentSource)
    choice_check("lawful_basis", lawful_basis, LawfulBasis)
    if len(source_reference) > ConsentEvent._meta.get_field("source_reference").max_length:
        raise ConsentError("source_reference", _("The source reference is too long."))
    now = timezone.now()
    if expires_at is not None:
        if status != ConsentStatus.GRANTED:
            raise ConsentError("expires_at", _("Only a granted consent can expire."))
        if expires_at <= now:
            raise ConsentError("expires_at", _("The expiry must be in the future."))
    event = ConsentEvent.objects.create(
        owner_team_id=customer.owner_team_id,
        customer_id=customer.pk,
        subject_key=customer_subject_key(customer),
        purpose=purpose,
        channel=channel,
        status=status,
        lawful_basis=lawful_basis,
        source=source,
        source_reference=source_reference,
        evidence=_clean_evidence(evidence),
        notice=notice,
        recorded_by=_recorder(actor),
        occurred_at=now,
        expires_at=expires_at,
    )
    audit_record(
        action="consent.record",
        actor=actor,
        target=event,
        metadata={
            "customer_id": customer.pk,
            "purpose": purpose.code,
            "channel": channel,
            "status": status,
            "source": source,
            "notice": notice.version if notice else None,
        },
    )
    return event


def _effective_status(
    status: str, expires_at: datetime.datetime | None, now: datetime.datetime
) -> str | None:
    """An expired grant counts as no decision: granting again is a change."""
    if status == ConsentStatus.GRANTED and expires_at is not None and expires_at <= now:
        return None
    return status


@transaction.atomic
def consents_record_bulk(
    *,
    team: Team,
    purpose_code: str,
    channel: str,
    statuses: Mapping[int, str],
    source: str,
    source_reference: str = "",
    lawful_basis: str = LawfulBasis.CONSENT,
    actor: User | None = None,
    evidence: Mapping[str, Any] | None = None,
    notice: PrivacyNotice | None = None,
    regrant_withdrawn: bool = False,
) -> BulkResult:
    """Record one purpose on one channel for many customers of ``team`` (``{customer id:
    status}``), set-based: one read of the customers, one of their current state, one
    ``bulk_create`` and one audit entry (``consent.record_bulk``) whatever the number.

    A status equal to the current one (or a denial of what is withdrawn) records nothing, so
    importing a file again adds no events. A grant does not replace a withdrawal unless
    ``regrant_withdrawn``: a stale file saying "opted in" must not undo a person's own
    unsubscribe.
    """
    purpose = active_purpose_get(purpose_code)
    channel_check(purpose, channel)
    for status in set(statuses.values()):
        choice_check("status", status, ConsentStatus)
    choice_check("source", source, ConsentSource)
    choice_check("lawful_basis", lawful_basis, LawfulBasis)
    cleaned_evidence = _clean_evidence(evidence)
    if not statuses:
        return BulkResult(recorded=0, unchanged=0, kept_withdrawn=0)
    emails = subject_directory().emails(team=team, customer_ids=list(statuses))
    if len(emails) != len(statuses):
        raise ConsentError("customer", _("Some customers do not belong to this team."))
    now = timezone.now()
    current = {
        customer_id: _effective_status(status, expires_at, now)
        for customer_id, status, expires_at in consents_latest(
            list(statuses), purpose=purpose, channel=channel
        ).values_list("customer_id", "status", "expires_at")
    }
    recorder = _recorder(actor)
    events = []
    unchanged = kept_withdrawn = 0
    for customer_id, status in statuses.items():
        was = current.get(customer_id)
        if was == status or (status == ConsentStatus.DENIED and was == ConsentStatus.WITHDRAWN):
            unchanged += 1
            continue
        if (
            was == ConsentStatus.WITHDRAWN
            and status == ConsentStatus.GRANTED
            and not regrant_withdrawn
        ):
            kept_withdrawn += 1
            continue
        email = emails[customer_id]
        events.append(
            ConsentEvent(
                owner_team=team,
                customer_id=customer_id,
                subject_key=blind_index(email, purpose="email") if email else "",
                purpose=purpose,
                channel=channel,
                status=status,
                lawful_basis=lawful_basis,
                source=source,
                source_reference=source_reference,
                evidence=cleaned_evidence,
                notice=notice,
                recorded_by=recorder,
                occurred_at=now,
            )
        )
    ConsentEvent.objects.bulk_create(events, batch_size=1000)
    audit_record(
        action="consent.record_bulk",
        actor=actor,
        target=team,
        metadata={
            "purpose": purpose.code,
            "channel": channel,
            "source": source,
            "source_reference": source_reference,
            "recorded": dict(Counter(event.status for event in events)),
            "unchanged": unchanged,
            "kept_withdrawn": kept_withdrawn,
        },
    )
    return BulkResult(recorded=len(events), unchanged=unchanged, kept_withdrawn=kept_withdrawn)
