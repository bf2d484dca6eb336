"""Writes of consent: append-only events, privacy-notice versions, double opt-in, and the
signed links of the public preference centre.

Every change of consent is a new ``ConsentEvent`` (the database refuses UPDATE and DELETE); the
current state is derived by ``privacy.consent.selectors``. Each service writes its audit entry
in the same transaction, with codes and ids only, never personal values.

Links sent to people carry a ``TimestampSigner`` token instead of a login: the double opt-in
link (salt ``marketbase.double-opt-in``, valid 7 days, bound to the address it was sent to) and
the preference-centre link (salt ``marketbase.preferences``, valid
``PREFERENCE_LINK_MAX_AGE_DAYS`` days, 180 by default; 0 means no expiry). A link that is
forged, expired or points at someone no longer here raises ``InvalidLink``, and callers show
the same answer for all three so a link never reveals whether a person exists.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urljoin

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from privacy.consent.selectors import ConsentSubject, consent_state, consents_latest, subject_model
from privacy.core.crypto import blind_index
from privacy.core.services.audit import audit_record
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

DOUBLE_OPT_IN_SALT = "marketbase.double-opt-in"
DOUBLE_OPT_IN_MAX_AGE = datetime.timedelta(days=7)
PREFERENCES_SALT = "marketbase.preferences"
DEFAULT_PREFERENCE_LINK_MAX_AGE_DAYS = 180
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
_MAX_MERGE_HOPS = 10

User = AbstractBaseUser | AnonymousUser


class ConsentError(ValueError):
    """Consent input that cannot be recorded; ``field`` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class InvalidLink(Exception):
    """A signed link that is forged, expired, or whose person or purpose is gone.

    Deliberately one exception without detail: the answer must not tell them apart.
    """


@dataclass(frozen=True)
class BulkResult:
    """What ``consents_record_bulk`` did with the statuses it was given."""

    recorded: int
    unchanged: int
    kept_withdrawn: int


# --- Validation ---------------------------------------------------------------------------------


def _active_purpose(purpose_code: str) -> ConsentPurpose:
    purpose = ConsentPurpose.objects.filter(code=purpose_code, is_active=True).first()
    if purpose is None:
        raise ConsentError(
            "purpose", _("Unknown consent purpose “%(code)s”.") % {"code": purpose_code}
        )
    return purpose


def _check_choice(field: str, value: str, choices: type, allowed: set[str] | None = None) -> None:
    values = set(allowed if allowed is not None else choices.values)
    if value not in values:
        raise ConsentError(
            field,
            _("“%(value)s” is not one of: %(choices)s.")
            % {"value": value, "choices": ", ".join(sorted(values))},
        )


def _check_channel(purpose: ConsentPurpose, channel: str) -> None:
    _check_choice("channel", channel, ConsentChannel)
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


def _subject_key(customer: ConsentSubject) -> str:
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
    purpose = _active_purpose(purpose_code)
    _check_channel(purpose, channel)
    _check_choice("status", status, ConsentStatus)
    _check_choice("source", source, ConsentSource)
    _check_choice("lawful_basis", lawful_basis, LawfulBasis)
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
        subject_key=_subject_key(customer),
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
    purpose = _active_purpose(purpose_code)
    _check_channel(purpose, channel)
    for status in set(statuses.values()):
        _check_choice("status", status, ConsentStatus)
    _check_choice("source", source, ConsentSource)
    _check_choice("lawful_basis", lawful_basis, LawfulBasis)
    cleaned_evidence = _clean_evidence(evidence)
    if not statuses:
        return BulkResult(recorded=0, unchanged=0, kept_withdrawn=0)
    emails = dict(
        subject_model()
        .objects.filter(pk__in=list(statuses), owner_team=team)
        .values_list("pk", "email")
    )
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


# --- Privacy notices ----------------------------------------------------------------------------

_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")


@transaction.atomic
def notice_publish(*, version: str, language: str, text: str, actor: User | None) -> PrivacyNotice:
    """Publish a privacy-notice version with the SHA-256 of its text.

    Publishing the same version and language again with the same text returns the published
    notice; with another text it is refused (``ConsentError`` on ``version``): a version shown
    to people never changes, a new text needs a new version.
    """
    version, language = version.strip(), language.strip().lower()
    if not version:
        raise ConsentError("version", _("A version is required."))
    if not _LANGUAGE_CODE.match(language):
        raise ConsentError("language", _("Use a language code such as “en” or “zh-hans”."))
    if not text.strip():
        raise ConsentError("text", _("The notice needs its text."))
    digest = PrivacyNotice.hash_text(text)
    published = PrivacyNotice.objects.filter(version=version, language=language).first()
    if published is None:
        try:
            with transaction.atomic():
                notice = PrivacyNotice.objects.create(
                    version=version,
                    language=language,
                    text=text,
                    text_sha256=digest,
                    published_at=timezone.now(),
                )
        except IntegrityError:
            # Published by someone else a moment ago; compare with theirs below.
            published = PrivacyNotice.objects.get(version=version, language=language)
        else:
            audit_record(
                action="privacy_notice.publish",
                actor=actor,
                target=notice,
                metadata={"version": version, "language": language, "sha256": digest},
            )
            return notice
    if published.text_sha256 != digest:
        raise ConsentError(
            "version",
            _(
                "Version %(version)s (%(language)s) is published and cannot change; publish a new "
                "version."
            )
            % {"version": version, "language": language},
        )
    return published


# --- Signed links -------------------------------------------------------------------------------


def _public_url(path: str, base_url: str | None) -> str:
    base = getattr(settings, "PUBLIC_BASE_URL", "") or base_url or ""
    if not base:
        raise ImproperlyConfigured(
            "Set PUBLIC_BASE_URL to the address people open links from emails on."
        )
    return urljoin(base.rstrip("/") + "/", path.lstrip("/"))


def _preference_max_age() -> datetime.timedelta | None:
    days = getattr(settings, "PREFERENCE_LINK_MAX_AGE_DAYS", DEFAULT_PREFERENCE_LINK_MAX_AGE_DAYS)
    return datetime.timedelta(days=days) if days else None


def _customer_by_id(customer_id: Any, *, for_update: bool = False):
    """The customer a link was made for, or the profile it was merged into."""
    if not isinstance(customer_id, int):
        raise InvalidLink
    manager = subject_model().objects
    for _hop in range(_MAX_MERGE_HOPS):
        queryset = manager.select_for_update() if for_update else manager.all()
        customer = queryset.filter(pk=customer_id).first()
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
    return _public_url(path, base_url)


def unsubscribe_url(
    customer: ConsentSubject, purpose_code: str, *, base_url: str | None = None
) -> str:
    """The absolute one-click unsubscribe link (for ``List-Unsubscribe`` headers, RFC 8058)."""
    path = reverse(
        "consent-unsubscribe",
        kwargs={"token": preference_token(customer), "purpose_code": purpose_code},
    )
    return _public_url(path, base_url)


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
        _check_channel(_active_purpose(purpose_code), channel)
        _check_choice("status", status, ConsentStatus, allowed=_PERSON_STATUSES)
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


# --- Double opt-in ------------------------------------------------------------------------------


def _email_fingerprint(email: str) -> str:
    # Binds the link to the address it was sent to, without putting the address in the link.
    return blind_index(email, purpose="email")[:16]


def _language_of(customer: ConsentSubject) -> str:
    language = getattr(customer, "language", "") or settings.LANGUAGE_CODE
    try:
        return translation.get_supported_language_variant(language)
    except LookupError:
        return settings.LANGUAGE_CODE


def double_opt_in_token(customer: ConsentSubject, purpose_code: str) -> str:
    """The signed token of a double opt-in link, bound to the customer's current address."""
    return signing.TimestampSigner(salt=DOUBLE_OPT_IN_SALT).sign_object(
        {"c": customer.pk, "p": purpose_code, "e": _email_fingerprint(customer.email or "")}
    )


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
    purpose = _active_purpose(purpose_code)
    if ConsentChannel.EMAIL not in purpose.channels:
        raise ConsentError(
            "purpose", _("The purpose “%(code)s” is not asked by email.") % {"code": purpose.code}
        )
    if not customer.email:
        raise ConsentError("customer", _("This customer has no email address."))
    token = double_opt_in_token(customer, purpose.code)
    link = _public_url(reverse("consent-confirm", kwargs={"token": token}), base_url)
    preferences = preference_url(customer, base_url=base_url)
    with translation.override(_language_of(customer)):
        subject = _("Please confirm: %(purpose)s") % {"purpose": purpose.name}
        body = _(
            "Hello,\n\n"
            "please confirm that you want to receive %(purpose)s at this address by opening "
            "this link:\n\n%(link)s\n\n"
            "The link is valid for 7 days. If you did not ask for this, ignore this message and "
            "nothing will change.\n\n"
            "Manage all your choices: %(preferences)s\n"
        ) % {"purpose": purpose.name, "link": link, "preferences": preferences}
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


# --- Merges of customer profiles ----------------------------------------------------------------


def _latest_per_purpose(customer_ids: list[int]) -> list[ConsentEvent]:
    return list(
        ConsentEvent.objects.filter(customer_id__in=customer_ids)
        .order_by("customer_id", "purpose_id", "channel", "-occurred_at", "-id")
        .distinct("customer_id", "purpose_id", "channel")
    )


def _copy_event(
    event: ConsentEvent, *, to: ConsentSubject, reference: str, **changes
) -> ConsentEvent:
    fields = {
        "owner_team_id": to.owner_team_id,
        "customer_id": to.pk,
        "subject_key": _subject_key(to),
        "purpose_id": event.purpose_id,
        "channel": event.channel,
        "status": event.status,
        "lawful_basis": event.lawful_basis,
        "source": event.source,
        "source_reference": reference[:128],
        "evidence": {**event.evidence, "copied_from_event": event.pk},
        "notice_id": event.notice_id,
        "occurred_at": event.occurred_at,
        "expires_at": event.expires_at,
    }
    return ConsentEvent(**{**fields, **changes})


def _supersedes(candidate: ConsentEvent, current: ConsentEvent | None) -> bool:
    """Whether ``candidate`` is the later decision; at the same instant, a refusal wins."""
    if current is None or candidate.occurred_at != current.occurred_at:
        return current is None or candidate.occurred_at > current.occurred_at
    return current.status == ConsentStatus.GRANTED and candidate.status != ConsentStatus.GRANTED


@transaction.atomic
def consents_merge(*, survivor: ConsentSubject, merged: ConsentSubject) -> list[int]:
    """Carry consent over when ``merged`` is folded into ``survivor``.

    Events cannot move (they are append-only), so for each purpose and channel where the
    merged profile's latest decision is newer than the survivor's, a copy of it (with its
    original time, and ``copied_from_event`` in its evidence) is appended to the survivor: the
    person's latest decision on either profile is the survivor's state, withdrawals included.
    Returns the ids of the copies.
    """
    latest: dict[int, dict[tuple[int, str], ConsentEvent]] = {survivor.pk: {}, merged.pk: {}}
    for event in _latest_per_purpose([survivor.pk, merged.pk]):
        latest[event.customer_id][(event.purpose_id, event.channel)] = event
    copies = [
        _copy_event(event, to=survivor, reference=f"merge:{merged.pk}")
        for key, event in latest[merged.pk].items()
        if _supersedes(event, latest[survivor.pk].get(key))
    ]
    ConsentEvent.objects.bulk_create(copies)
    if copies:
        audit_record(
            action="consent.merge",
            object_type="customers.customer",
            object_id=survivor.pk,
            metadata={"merged_customer": merged.pk, "copied": len(copies)},
        )
    return [event.pk for event in copies]


@transaction.atomic
def consents_merge_undo(
    *, survivor: ConsentSubject, merged: ConsentSubject, copied_ids: list[int]
) -> list[int]:
    """Undo ``consents_merge`` when a merge is undone (the profiles were two people).

    Where a copied decision is still the survivor's latest, the survivor's own latest decision
    before it is appended again (now); where it had none and the copy was a grant, a withdrawal
    is appended, so one person's consent never stays with another. The merged profile kept its
    own events. Returns the ids of the appended events.
    """
    if not copied_ids:
        return []
    copied = set(copied_ids)
    current = {
        (event.purpose_id, event.channel): event for event in _latest_per_purpose([survivor.pk])
    }
    own = {}
    for event in (
        ConsentEvent.objects.filter(customer_id=survivor.pk)
        .exclude(pk__in=copied)
        .order_by("purpose_id", "channel", "-occurred_at", "-id")
        .distinct("purpose_id", "channel")
    ):
        own[(event.purpose_id, event.channel)] = event
    now = timezone.now()
    reference = f"merge_undo:{merged.pk}"
    restored = []
    for key, event in current.items():
        if event.pk not in copied:
            continue
        if key in own:
            restored.append(
                _copy_event(own[key], to=survivor, reference=reference, occurred_at=now)
            )
        elif event.status == ConsentStatus.GRANTED:
            restored.append(
                _copy_event(
                    event,
                    to=survivor,
                    reference=reference,
                    status=ConsentStatus.WITHDRAWN,
                    source=ConsentSource.STAFF,
                    evidence={"merge_undone": merged.pk},
                    notice_id=None,
                    occurred_at=now,
                    expires_at=None,
                )
            )
    ConsentEvent.objects.bulk_create(restored)
    audit_record(
        action="consent.merge_undo",
        object_type="customers.customer",
        object_id=survivor.pk,
        metadata={"merged_customer": merged.pk, "restored": len(restored)},
    )
    return [event.pk for event in restored]


def consent_merge_hook(survivor: ConsentSubject, merged: ConsentSubject) -> dict[str, list[int]]:
    """For ``customers.services.merge.register_merge_hook``."""
    return {"consent_event": consents_merge(survivor=survivor, merged=merged)}


def consent_merge_undo_hook(
    survivor: ConsentSubject, merged: ConsentSubject, moved: dict[str, list[int]]
) -> None:
    """For ``customers.services.merge.register_merge_hook``."""
    consents_merge_undo(survivor=survivor, merged=merged, copied_ids=moved.get("consent_event", []))
