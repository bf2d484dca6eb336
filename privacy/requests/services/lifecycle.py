"""Data-subject requests: intake, identity check, deadline, and the answer for each kind.

Every step is one service that runs in a transaction and writes an audit entry with the request
as its object (``request.create``, ``request.verify``, ``request.extend``, ``request.subjects``,
``request.fulfil``, ``request.package_ready``, ``request.package_download``, ``request.answer``,
``request.reject``, ``request.restriction_lift``, ``request.overdue_alert``), so the audit log is
the request's history. The audit entries hold ids, kinds and counts, never what the person wrote.

Carrying a request out and answering it are two steps. ``request_fulfil`` does what the kind
asks (the worker builds an access package: ``package_ready``; an erasure, restriction,
objection or rectification is done at once: ``carried_out``); nothing has reached the person
yet, so the request stays open and its deadline runs on. ``request_answer_record`` records how
and when staff sent the answer (email, post, the portal...): only that closes the request
(``completed``, "Answered") and stops the clock (``answered_at``).

Deadline: one calendar month from the day of receipt (the same day number of the next month,
or that month's last day when it has no such day). It can be extended by at most two further
months, only with a reason, and only while the first month is still running.

People are found through the ``SubjectDirectory`` the customers app registers
(``privacy.core.subjects``); access packages are built by
``privacy.requests.services.package``.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from privacy.core.services.audit import audit_record
from privacy.core.subjects import subject_directory
from privacy.models import (
    AWAITING_ANSWER_STATUSES,
    AnswerChannel,
    ConsentPurpose,
    ConsentSource,
    ConsentStatus,
    DataSubjectRequest,
    RequestChannel,
    RequestKind,
    RequestOutcome,
    RequestStatus,
    Team,
    VerificationMethod,
)

DEFAULT_PACKAGE_DAYS = 7
DEFAULT_ALERT_DAYS_BEFORE = 3
MAX_EXTENSION_MONTHS = 2
# Older receipts are typing mistakes (and year 1 does not survive a round trip to PostgreSQL).
MAX_RECEIVED_AGE_DAYS = 366


class RequestError(ValueError):
    """A step that cannot be taken; ``field`` names the input at fault (for a 400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# --- Deadlines ----------------------------------------------------------------------------------


def _add_months(day: datetime.date, months: int) -> datetime.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _day_of(moment: datetime.datetime) -> datetime.date:
    # Deadlines are counted in the installation's time zone (TIME_ZONE), never in the zone of
    # whoever happens to act, so every staff member sees the same due date.
    return timezone.localdate(moment, timezone.get_default_timezone())


def local_today() -> datetime.date:
    return _day_of(timezone.now())


def request_due_on(received_at: datetime.datetime, *, extension_months: int = 0) -> datetime.date:
    """The answer is due one calendar month (plus any extension) from the day of receipt."""
    return _add_months(_day_of(received_at), 1 + extension_months)


def request_is_overdue(
    subject_request: DataSubjectRequest, *, today: datetime.date | None = None
) -> bool:
    """Still unanswered and past its due date: the clock stops when the answer is sent."""
    return (
        subject_request.answered_at is None
        and subject_request.is_open
        and subject_request.due_on < (today or local_today())
    )


# --- Intake -------------------------------------------------------------------------------------


def request_audit(action: str, subject_request: DataSubjectRequest, actor, **metadata) -> None:
    audit_record(
        action=action,
        actor=actor,
        target=subject_request,
        metadata={"kind": subject_request.kind, "status": subject_request.status, **metadata},
    )


def _check_open(subject_request: DataSubjectRequest) -> None:
    if not subject_request.is_open:
        raise RequestError("status", _("This request is closed; nothing more can be done on it."))


def _check_not_carried_out(subject_request: DataSubjectRequest) -> None:
    if subject_request.status in AWAITING_ANSWER_STATUSES:
        raise RequestError(
            "status",
            _("This request is carried out; what is left is to record the answer sent."),
        )


def _clean_ids(customer_ids: Iterable[int] | None) -> list[int]:
    try:
        return sorted({int(pk) for pk in customer_ids or ()})
    except (TypeError, ValueError):
        raise RequestError("customer_ids", _("Customer numbers must be whole numbers.")) from None


# What a request says as it arrives, by the names ``request_create`` takes them: the staff form,
# the admin and the API pass these from their validated input (``intake_fields``).
INTAKE_FIELDS = (
    "kind",
    "channel",
    "received_at",
    "subject_email",
    "subject_phone",
    "subject_name",
    "details",
    "customer_ids",
)


def intake_fields(data: dict) -> dict:
    """The ``request_create`` arguments found in validated input (absent optional ones left out)."""
    return {name: data[name] for name in INTAKE_FIELDS if name in data}


@transaction.atomic
def request_create(
    *,
    team: Team,
    kind: str,
    channel: str,
    actor: AbstractBaseUser | None,
    received_at: datetime.datetime | None = None,
    subject_email: str = "",
    subject_phone: str = "",
    subject_name: str = "",
    details: str = "",
    customer_ids: Iterable[int] | None = None,
) -> DataSubjectRequest:
    """Record a request as received and find the customers it concerns.

    The person is found by the email and phone they gave (and by customer numbers staff already
    know). Finding nobody is not an error: the request is recorded and will be answered "no data
    held". Raises ``RequestError`` naming the field at fault.
    """
    if kind not in RequestKind.values:
        raise RequestError("kind", _("Choose what the person asks for."))
    if channel not in RequestChannel.values:
        raise RequestError("channel", _("Choose how the request was received."))
    now = timezone.now()
    received_at = received_at or now
    if received_at > now + datetime.timedelta(minutes=5):
        raise RequestError("received_at", _("A request cannot be received in the future."))
    if received_at < now - datetime.timedelta(days=MAX_RECEIVED_AGE_DAYS):
        raise RequestError(
            "received_at", _("A request received more than a year ago cannot be entered.")
        )
    subject_email, subject_phone = subject_email.strip(), subject_phone.strip()
    given_ids = _clean_ids(customer_ids)
    if not (subject_email or subject_phone or given_ids):
        raise RequestError(
            "subject_email", _("Give the person's email or phone, or their customer number.")
        )
    directory = subject_directory()
    if given_ids:
        known = directory.existing(team=team, customer_ids=given_ids)
        if len(known) != len(given_ids):
            raise RequestError("customer_ids", _("Some customer numbers are not of this team."))
    found = directory.find(team=team, email=subject_email or None, phone=subject_phone or None)
    subject_request = DataSubjectRequest.objects.create(
        owner_team=team,
        kind=kind,
        channel=channel,
        received_at=received_at,
        due_on=request_due_on(received_at),
        subject_email=subject_email or None,
        subject_phone=subject_phone or None,
        subject_name=subject_name.strip() or None,
        details=details.strip() or None,
        customer_ids=sorted(set(found) | set(given_ids)),
        created_by=actor,
    )
    request_audit(
        "request.create",
        subject_request,
        actor,
        channel=channel,
        customers_found=len(subject_request.customer_ids),
        due_on=subject_request.due_on.isoformat(),
    )
    return subject_request


@transaction.atomic
def request_verify(
    *, subject_request: DataSubjectRequest, method: str, actor: AbstractBaseUser, note: str = ""
) -> DataSubjectRequest:
    """Record how staff made sure the requester is the person the data is about."""
    subject_request = request_locked(subject_request)
    _check_open(subject_request)
    if subject_request.status != RequestStatus.RECEIVED:
        raise RequestError("status", _("The identity was already verified."))
    if method not in VerificationMethod.values:
        raise RequestError("verification_method", _("Choose how the identity was verified."))
    if method == VerificationMethod.OTHER and not note.strip():
        raise RequestError("verification_note", _("Say how the identity was verified."))
    subject_request.verification_method = method
    subject_request.verification_note = note.strip()
    subject_request.verified_at = timezone.now()
    subject_request.verified_by = actor
    subject_request.status = RequestStatus.VERIFIED
    subject_request.save()
    request_audit("request.verify", subject_request, actor, method=method)
    return subject_request


@transaction.atomic
def request_extend(
    *,
    subject_request: DataSubjectRequest,
    months: int,
    reason: str,
    actor: AbstractBaseUser,
    today: datetime.date | None = None,
) -> DataSubjectRequest:
    """Extend the deadline by ``months`` (at most two in all), with a reason, in the first month."""
    subject_request = request_locked(subject_request)
    _check_open(subject_request)
    today = today or local_today()
    if not reason.strip():
        raise RequestError("extension_reason", _("Give the reason for the extension."))
    if months < 1 or subject_request.extension_months + months > MAX_EXTENSION_MONTHS:
        raise RequestError(
            "months", _("The deadline can be extended by two months at most in all.")
        )
    if today > request_due_on(subject_request.received_at):
        raise RequestError(
            "months", _("An extension must be decided within one month of receiving the request.")
        )
    subject_request.extension_months += months
    subject_request.extension_reason = "\n".join(
        part for part in (subject_request.extension_reason, reason.strip()) if part
    )
    subject_request.extended_at = timezone.now()
    subject_request.due_on = request_due_on(
        subject_request.received_at, extension_months=subject_request.extension_months
    )
    subject_request.save()
    request_audit(
        "request.extend",
        subject_request,
        actor,
        months=months,
        extension_months=subject_request.extension_months,
        due_on=subject_request.due_on.isoformat(),
    )
    return subject_request


@transaction.atomic
def request_subjects_set(
    *, subject_request: DataSubjectRequest, customer_ids: Iterable[int], actor: AbstractBaseUser
) -> DataSubjectRequest:
    """Confirm which customers of the team the request concerns (staff may add or remove)."""
    subject_request = request_locked(subject_request)
    _check_open(subject_request)
    _check_not_carried_out(subject_request)
    wanted = _clean_ids(customer_ids)
    known = subject_directory().existing(team=subject_request.owner_team, customer_ids=wanted)
    if len(known) != len(wanted):
        raise RequestError("customer_ids", _("Some customer numbers are not of this team."))
    changed = wanted != sorted(subject_request.customer_ids)
    # The identity was checked for the people the request named: other customers need the
    # check again before their data is handed out or destroyed.
    verification_reset = changed and subject_request.status == RequestStatus.VERIFIED
    subject_request.customer_ids = wanted
    if verification_reset:
        subject_request.status = RequestStatus.RECEIVED
        subject_request.verification_method = ""
        subject_request.verification_note = ""
        subject_request.verified_at = None
        subject_request.verified_by = None
    subject_request.save()
    request_audit(
        "request.subjects",
        subject_request,
        actor,
        customer_ids=wanted,
        verification_reset=verification_reset,
    )
    return subject_request


def request_locked(subject_request: DataSubjectRequest) -> DataSubjectRequest:
    return DataSubjectRequest.objects.select_for_update().get(pk=subject_request.pk)


# --- Answers ------------------------------------------------------------------------------------


def request_carry_out(
    subject_request: DataSubjectRequest,
    *,
    outcome: str,
    note: str,
    actor,
    status: str = RequestStatus.CARRIED_OUT,
    audit_action: str = "request.fulfil",
    **metadata,
) -> DataSubjectRequest:
    """Record the request's action as done: its answer is still to be sent and recorded
    (``request_answer_record``), so the request stays open."""
    subject_request.status = status
    subject_request.outcome = outcome
    subject_request.outcome_note = note.strip()
    subject_request.completed_at = timezone.now()
    subject_request.progress = 100
    subject_request.save()
    request_audit(audit_action, subject_request, actor, outcome=outcome, **metadata)
    return subject_request


@transaction.atomic
def request_fulfil(
    *, subject_request: DataSubjectRequest, actor: AbstractBaseUser | None, note: str = ""
) -> DataSubjectRequest:
    """Answer the request as its kind says.

    Nothing is sent to the person here: the request waits in ``package_ready`` or
    ``carried_out`` until staff record the answer they sent (``request_answer_record``).

    - every answer needs the identity verified first (``request_verify``), "no data held"
      included: answered to anybody, it would tell whether a person is a customer;
    - no customer found: answered "no data held" (whatever the kind);
    - access: the package is built by a Celery job (status ``processing`` until it is ready,
      then ``package_ready``);
    - erasure: the customers are erased through ``subject_erase`` and the request forgets the
      contact details it was given;
    - restriction: the customers are kept but left out of segments and campaigns;
    - objection: marketing consents are withdrawn and the customers marked as objecting;
    - rectification: staff have corrected the profile (each edit is audited); this records it.
    """
    subject_request = request_locked(subject_request)
    _check_open(subject_request)
    if subject_request.status == RequestStatus.PROCESSING:
        raise RequestError("status", _("This request is already being processed."))
    _check_not_carried_out(subject_request)
    team = subject_request.owner_team
    customer_ids = subject_directory().existing(
        team=team, customer_ids=subject_request.customer_ids
    )
    if subject_request.status != RequestStatus.VERIFIED:
        # "No data held" is an answer too: given to someone who has not proven who they are,
        # it tells them whether a person is a customer.
        raise RequestError(
            "verification_method",
            _("Verify the person's identity before answering the request."),
        )
    if not customer_ids:
        if subject_request.kind == RequestKind.ERASURE:
            _forget_contact(subject_request)
            note = ""
        outcome = RequestOutcome.NO_DATA_HELD
        return request_carry_out(subject_request, outcome=outcome, note=note, actor=actor)
    if subject_request.kind == RequestKind.ACCESS:
        subject_request.status = RequestStatus.PROCESSING
        subject_request.progress = 0
        subject_request.outcome_note = note.strip()
        subject_request.save()
        request_audit("request.package_start", subject_request, actor, customer_ids=customer_ids)
        from privacy.requests.tasks import request_package_build_task

        transaction.on_commit(lambda: request_package_build_task.delay(subject_request.pk))
        return subject_request
    if subject_request.kind == RequestKind.ERASURE:
        from privacy.erasure.services.erasure import subject_erase

        report = subject_erase(
            customer_ids=customer_ids,
            team=team,
            actor=actor,
            reason="request",
            request_id=subject_request.pk,
        )
        _forget_contact(subject_request)
        # Staff notes may describe the person too: an erasure keeps none.
        return request_carry_out(
            subject_request,
            outcome=RequestOutcome.FULFILLED,
            note="",
            actor=actor,
            erased_customer_ids=report.customer_ids,
        )
    if subject_request.kind == RequestKind.RESTRICTION:
        changed = subject_directory().restrict(
            team=team, customer_ids=customer_ids, restricted=True
        )
        return request_carry_out(
            subject_request,
            outcome=RequestOutcome.FULFILLED,
            note=note,
            actor=actor,
            restricted=changed,
        )
    if subject_request.kind == RequestKind.OBJECTION:
        changed = subject_directory().object_to_marketing(team=team, customer_ids=customer_ids)
        withdrawn = _withdraw_marketing_consents(team=team, customer_ids=customer_ids, actor=actor)
        return request_carry_out(
            subject_request,
            outcome=RequestOutcome.FULFILLED,
            note=note,
            actor=actor,
            objected=changed,
            consents_withdrawn=withdrawn,
        )
    if not note.strip():
        raise RequestError("outcome_note", _("Say what was corrected."))
    return request_carry_out(
        subject_request, outcome=RequestOutcome.FULFILLED, note=note, actor=actor
    )


# How far a recorded sending time may lie ahead of the server's clock (a watch running fast).
ANSWER_CLOCK_SKEW = datetime.timedelta(minutes=5)


@transaction.atomic
def request_answer_record(
    *,
    subject_request: DataSubjectRequest,
    channel: str,
    actor: AbstractBaseUser,
    sent_at: datetime.datetime | None = None,
    note: str = "",
) -> DataSubjectRequest:
    """Record that the answer of a carried-out request reached the person: how (``channel``),
    when (``sent_at``, now when left out) and a note. This closes the request ("Answered") and
    stops its deadline's clock (``answered_at``); an overdue request stops being overdue.

    An erasure keeps no notes about the person, so its answer takes none.
    """
    subject_request = request_locked(subject_request)
    if subject_request.status not in AWAITING_ANSWER_STATUSES:
        if subject_request.status == RequestStatus.COMPLETED:
            raise RequestError("status", _("The answer to this request is already recorded."))
        raise RequestError(
            "status",
            _("Carry the request out first; then record how the answer was sent."),
        )
    if channel not in AnswerChannel.values:
        raise RequestError("answer_channel", _("Choose how the answer was sent."))
    now = timezone.now()
    sent_at = sent_at or now
    if sent_at > now + ANSWER_CLOCK_SKEW:
        raise RequestError("answered_at", _("An answer cannot be sent in the future."))
    # Forms give minutes: an answer sent in the same minute as the action was done is fine.
    carried_out_at = (subject_request.completed_at or subject_request.received_at).replace(
        second=0, microsecond=0
    )
    if sent_at < carried_out_at:
        raise RequestError(
            "answered_at", _("The answer cannot have been sent before the request was carried out.")
        )
    if subject_request.kind == RequestKind.ERASURE and note.strip():
        raise RequestError(
            "answer_note", _("An erasure keeps no notes about the person: leave the note empty.")
        )
    subject_request.status = RequestStatus.COMPLETED
    subject_request.answered_at = sent_at
    subject_request.answer_channel = channel
    subject_request.answer_note = note.strip()
    subject_request.answered_by = actor
    subject_request.save()
    request_audit(
        "request.answer",
        subject_request,
        actor,
        channel=channel,
        answered_at=sent_at.isoformat(),
        was_overdue=subject_request.due_on < _day_of(sent_at),
    )
    return subject_request


def _forget_contact(subject_request: DataSubjectRequest) -> None:
    # An erasure must not leave the person's details behind in the request that asked for it.
    subject_request.subject_email = None
    subject_request.subject_phone = None
    subject_request.subject_name = None
    subject_request.details = None
    subject_request.verification_note = ""
    subject_request.extension_reason = ""
    subject_request.outcome_note = ""


def _withdraw_marketing_consents(*, team: Team, customer_ids: list[int], actor) -> int:
    from privacy.consent.services.records import consents_record_bulk

    withdrawn = 0
    for purpose in ConsentPurpose.objects.filter(is_active=True).order_by("code"):
        for channel in purpose.channels:
            result = consents_record_bulk(
                team=team,
                purpose_code=purpose.code,
                channel=channel,
                statuses=dict.fromkeys(customer_ids, ConsentStatus.WITHDRAWN),
                source=ConsentSource.STAFF,
                source_reference="objection request",
                actor=actor,
            )
            withdrawn += result.recorded
    return withdrawn


@transaction.atomic
def request_reject(
    *, subject_request: DataSubjectRequest, reason: str, actor: AbstractBaseUser
) -> DataSubjectRequest:
    """Refuse a request (identity not proven, manifestly unfounded), saying why."""
    subject_request = request_locked(subject_request)
    _check_open(subject_request)
    _check_not_carried_out(subject_request)
    if not reason.strip():
        raise RequestError("outcome_note", _("Say why the request is refused."))
    subject_request.status = RequestStatus.REJECTED
    subject_request.outcome = RequestOutcome.REFUSED
    subject_request.outcome_note = reason.strip()
    subject_request.completed_at = timezone.now()
    subject_request.save()
    request_audit("request.reject", subject_request, actor)
    return subject_request


# A restriction is in force from the moment it is carried out, answered or not.
RESTRICTION_IN_FORCE_STATUSES = (RequestStatus.CARRIED_OUT, RequestStatus.COMPLETED)


@transaction.atomic
def request_restriction_lift(
    *, subject_request: DataSubjectRequest, actor: AbstractBaseUser
) -> DataSubjectRequest:
    """Lift the restriction a completed restriction request set (the person agreed, or the
    reason for it ended). Customers that another restriction still in force names stay
    restricted."""
    subject_request = request_locked(subject_request)
    if (
        subject_request.kind != RequestKind.RESTRICTION
        or subject_request.status not in RESTRICTION_IN_FORCE_STATUSES
    ):
        raise RequestError("kind", _("Only a completed restriction can be lifted."))
    if subject_request.restriction_lifted_at is not None:
        raise RequestError("status", _("This restriction was already lifted."))
    team = subject_request.owner_team
    in_force = {
        int(pk)
        for customer_ids in DataSubjectRequest.objects.filter(
            owner_team=team,
            kind=RequestKind.RESTRICTION,
            status__in=RESTRICTION_IN_FORCE_STATUSES,
            restriction_lifted_at__isnull=True,
        )
        .exclude(pk=subject_request.pk)
        .values_list("customer_ids", flat=True)
        for pk in customer_ids
    }
    customers = subject_directory().existing(team=team, customer_ids=subject_request.customer_ids)
    lifted = subject_directory().restrict(
        team=team,
        customer_ids=[pk for pk in customers if pk not in in_force],
        restricted=False,
    )
    subject_request.restriction_lifted_at = timezone.now()
    subject_request.save(update_fields=["restriction_lifted_at", "updated_at"])
    request_audit(
        "request.restriction_lift",
        subject_request,
        actor,
        lifted=lifted,
        kept_by_other_requests=len(set(customers) & in_force),
    )
    return subject_request
