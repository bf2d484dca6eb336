"""Data-subject requests: intake, identity check, deadline, and the answer for each kind.

Every step is one service that runs in a transaction and writes an audit entry with the request
as its object (``request.create``, ``request.verify``, ``request.extend``, ``request.subjects``,
``request.fulfil``, ``request.package_ready``, ``request.package_download``, ``request.reject``,
``request.restriction_lift``, ``request.overdue_alert``), so the audit log is the request's
history. The audit entries hold ids, kinds and counts, never what the person wrote.

Deadline: one calendar month from the day of receipt (the same day number of the next month,
or that month's last day when it has no such day). It can be extended by at most two further
months, only with a reason, and only while the first month is still running.

The privacy core cannot know the customers table; the customers app registers a
``SubjectDirectory`` that finds a person's customers, and restricts or marks objections on them.
"""

from __future__ import annotations

import calendar
import datetime
import tempfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from privacy.core import roles
from privacy.core.services.audit import audit_record
from privacy.models import (
    OPEN_STATUSES,
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


class SubjectDirectory(Protocol):
    """What the customers app offers the privacy core about the people it holds."""

    def find(self, *, team: Team, email: str | None, phone: str | None) -> list[int]:
        """Customers of ``team`` with this email or phone (raw input; the directory normalises).

        Raises ``RequestError`` naming ``subject_email``/``subject_phone`` for a value that is
        not an email address or phone number."""

    def existing(self, *, team: Team, customer_ids: Iterable[int]) -> list[int]:
        """Which of ``customer_ids`` are active customers of ``team``."""

    def restrict(self, *, team: Team, customer_ids: list[int], restricted: bool) -> int:
        """Set or lift the processing restriction; returns the customers changed."""

    def object_to_marketing(self, *, team: Team, customer_ids: list[int]) -> int:
        """Mark an objection to direct marketing; returns the customers changed."""


_directory: SubjectDirectory | None = None


def register_subject_directory(directory: SubjectDirectory) -> None:
    """Called by the customers app in ``AppConfig.ready()``."""
    global _directory
    _directory = directory


def subject_directory() -> SubjectDirectory:
    if _directory is None:
        raise RuntimeError("No subject directory is registered (is the customers app installed?)")
    return _directory


# --- Deadlines ----------------------------------------------------------------------------------


def _add_months(day: datetime.date, months: int) -> datetime.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _day_of(moment: datetime.datetime) -> datetime.date:
    # Deadlines are counted in the installation's time zone (TIME_ZONE), never in the zone of
    # whoever happens to act, so every staff member sees the same due date.
    return timezone.localdate(moment, timezone.get_default_timezone())


def _today() -> datetime.date:
    return _day_of(timezone.now())


def request_due_on(received_at: datetime.datetime, *, extension_months: int = 0) -> datetime.date:
    """The answer is due one calendar month (plus any extension) from the day of receipt."""
    return _add_months(_day_of(received_at), 1 + extension_months)


def request_is_overdue(request: DataSubjectRequest, *, today: datetime.date | None = None) -> bool:
    return request.is_open and request.due_on < (today or _today())


# --- Intake -------------------------------------------------------------------------------------


def _audit(action: str, request: DataSubjectRequest, actor, **metadata) -> None:
    audit_record(
        action=action,
        actor=actor,
        target=request,
        metadata={"kind": request.kind, "status": request.status, **metadata},
    )


def _check_open(request: DataSubjectRequest) -> None:
    if not request.is_open:
        raise RequestError("status", _("This request is closed; nothing more can be done on it."))


def _clean_ids(customer_ids: Iterable[int] | None) -> list[int]:
    try:
        return sorted({int(pk) for pk in customer_ids or ()})
    except (TypeError, ValueError):
        raise RequestError("customer_ids", _("Customer numbers must be whole numbers.")) from None


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
    request = DataSubjectRequest.objects.create(
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
    _audit(
        "request.create",
        request,
        actor,
        channel=channel,
        customers_found=len(request.customer_ids),
        due_on=request.due_on.isoformat(),
    )
    return request


@transaction.atomic
def request_verify(
    *, request: DataSubjectRequest, method: str, actor: AbstractBaseUser, note: str = ""
) -> DataSubjectRequest:
    """Record how staff made sure the requester is the person the data is about."""
    request = _locked(request)
    _check_open(request)
    if request.status != RequestStatus.RECEIVED:
        raise RequestError("status", _("The identity was already verified."))
    if method not in VerificationMethod.values:
        raise RequestError("verification_method", _("Choose how the identity was verified."))
    if method == VerificationMethod.OTHER and not note.strip():
        raise RequestError("verification_note", _("Say how the identity was verified."))
    request.verification_method = method
    request.verification_note = note.strip()
    request.verified_at = timezone.now()
    request.verified_by = actor
    request.status = RequestStatus.VERIFIED
    request.save()
    _audit("request.verify", request, actor, method=method)
    return request


@transaction.atomic
def request_extend(
    *,
    request: DataSubjectRequest,
    months: int,
    reason: str,
    actor: AbstractBaseUser,
    today: datetime.date | None = None,
) -> DataSubjectRequest:
    """Extend the deadline by ``months`` (at most two in all), with a reason, in the first month."""
    request = _locked(request)
    _check_open(request)
    today = today or _today()
    if not reason.strip():
        raise RequestError("extension_reason", _("Give the reason for the extension."))
    if months < 1 or request.extension_months + months > MAX_EXTENSION_MONTHS:
        raise RequestError(
            "months", _("The deadline can be extended by two months at most in all.")
        )
    if today > request_due_on(request.received_at):
        raise RequestError(
            "months", _("An extension must be decided within one month of receiving the request.")
        )
    request.extension_months += months
    request.extension_reason = "\n".join(
        part for part in (request.extension_reason, reason.strip()) if part
    )
    request.extended_at = timezone.now()
    request.due_on = request_due_on(request.received_at, extension_months=request.extension_months)
    request.save()
    _audit(
        "request.extend",
        request,
        actor,
        months=months,
        extension_months=request.extension_months,
        due_on=request.due_on.isoformat(),
    )
    return request


@transaction.atomic
def request_subjects_set(
    *, request: DataSubjectRequest, customer_ids: Iterable[int], actor: AbstractBaseUser
) -> DataSubjectRequest:
    """Confirm which customers of the team the request concerns (staff may add or remove)."""
    request = _locked(request)
    _check_open(request)
    wanted = _clean_ids(customer_ids)
    known = subject_directory().existing(team=request.owner_team, customer_ids=wanted)
    if len(known) != len(wanted):
        raise RequestError("customer_ids", _("Some customer numbers are not of this team."))
    changed = wanted != sorted(request.customer_ids)
    # The identity was checked for the people the request named: other customers need the
    # check again before their data is handed out or destroyed.
    verification_reset = changed and request.status == RequestStatus.VERIFIED
    request.customer_ids = wanted
    if verification_reset:
        request.status = RequestStatus.RECEIVED
        request.verification_method = ""
        request.verification_note = ""
        request.verified_at = None
        request.verified_by = None
    request.save()
    _audit(
        "request.subjects",
        request,
        actor,
        customer_ids=wanted,
        verification_reset=verification_reset,
    )
    return request


def _locked(request: DataSubjectRequest) -> DataSubjectRequest:
    return DataSubjectRequest.objects.select_for_update().get(pk=request.pk)


# --- Answers ------------------------------------------------------------------------------------


def _complete(
    request: DataSubjectRequest, *, outcome: str, note: str, actor, **metadata
) -> DataSubjectRequest:
    request.status = RequestStatus.COMPLETED
    request.outcome = outcome
    request.outcome_note = note.strip()
    request.completed_at = timezone.now()
    request.progress = 100
    request.save()
    _audit("request.fulfil", request, actor, outcome=outcome, **metadata)
    return request


@transaction.atomic
def request_fulfil(
    *, request: DataSubjectRequest, actor: AbstractBaseUser | None, note: str = ""
) -> DataSubjectRequest:
    """Answer the request as its kind says.

    - no customer found: answered "no data held" (whatever the kind), no verification needed;
    - access: the package is built by a Celery job (status ``processing`` until it is ready);
    - erasure: the customers are erased through ``subject_erase`` and the request forgets the
      contact details it was given;
    - restriction: the customers are kept but left out of segments and campaigns;
    - objection: marketing consents are withdrawn and the customers marked as objecting;
    - rectification: staff have corrected the profile (each edit is audited); this records it.
    """
    request = _locked(request)
    _check_open(request)
    if request.status == RequestStatus.PROCESSING:
        raise RequestError("status", _("This request is already being processed."))
    team = request.owner_team
    customer_ids = subject_directory().existing(team=team, customer_ids=request.customer_ids)
    if not customer_ids:
        if request.kind == RequestKind.ERASURE:
            _forget_contact(request)
            note = ""
        return _complete(request, outcome=RequestOutcome.NO_DATA_HELD, note=note, actor=actor)
    if request.status != RequestStatus.VERIFIED:
        raise RequestError(
            "verification_method",
            _("Verify the person's identity before answering with their data."),
        )
    if request.kind == RequestKind.ACCESS:
        request.status = RequestStatus.PROCESSING
        request.progress = 0
        request.outcome_note = note.strip()
        request.save()
        _audit("request.package_start", request, actor, customer_ids=customer_ids)
        from privacy.tasks import request_package_build_task

        transaction.on_commit(lambda: request_package_build_task.delay(request.pk))
        return request
    if request.kind == RequestKind.ERASURE:
        from privacy.erasure.services.erasure import subject_erase

        report = subject_erase(
            customer_ids=customer_ids,
            team=team,
            actor=actor,
            reason="request",
            request_id=request.pk,
        )
        _forget_contact(request)
        # Staff notes may describe the person too: an erasure keeps none.
        return _complete(
            request,
            outcome=RequestOutcome.FULFILLED,
            note="",
            actor=actor,
            erased_customer_ids=report.customer_ids,
        )
    if request.kind == RequestKind.RESTRICTION:
        changed = subject_directory().restrict(
            team=team, customer_ids=customer_ids, restricted=True
        )
        return _complete(
            request, outcome=RequestOutcome.FULFILLED, note=note, actor=actor, restricted=changed
        )
    if request.kind == RequestKind.OBJECTION:
        changed = subject_directory().object_to_marketing(team=team, customer_ids=customer_ids)
        withdrawn = _withdraw_marketing_consents(team=team, customer_ids=customer_ids, actor=actor)
        return _complete(
            request,
            outcome=RequestOutcome.FULFILLED,
            note=note,
            actor=actor,
            objected=changed,
            consents_withdrawn=withdrawn,
        )
    if not note.strip():
        raise RequestError("outcome_note", _("Say what was corrected."))
    return _complete(request, outcome=RequestOutcome.FULFILLED, note=note, actor=actor)


def _forget_contact(request: DataSubjectRequest) -> None:
    # An erasure must not leave the person's details behind in the request that asked for it.
    request.subject_email = None
    request.subject_phone = None
    request.subject_name = None
    request.details = None
    request.verification_note = ""
    request.extension_reason = ""
    request.outcome_note = ""


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
    *, request: DataSubjectRequest, reason: str, actor: AbstractBaseUser
) -> DataSubjectRequest:
    """Refuse a request (identity not proven, manifestly unfounded), saying why."""
    request = _locked(request)
    _check_open(request)
    if not reason.strip():
        raise RequestError("outcome_note", _("Say why the request is refused."))
    request.status = RequestStatus.REJECTED
    request.outcome = RequestOutcome.REFUSED
    request.outcome_note = reason.strip()
    request.completed_at = timezone.now()
    request.save()
    _audit("request.reject", request, actor)
    return request


@transaction.atomic
def request_restriction_lift(
    *, request: DataSubjectRequest, actor: AbstractBaseUser
) -> DataSubjectRequest:
    """Lift the restriction a completed restriction request set (the person agreed, or the
    reason for it ended). Customers that another restriction still in force names stay
    restricted."""
    request = _locked(request)
    if request.kind != RequestKind.RESTRICTION or request.status != RequestStatus.COMPLETED:
        raise RequestError("kind", _("Only a completed restriction can be lifted."))
    if request.restriction_lifted_at is not None:
        raise RequestError("status", _("This restriction was already lifted."))
    team = request.owner_team
    in_force = {
        int(pk)
        for customer_ids in DataSubjectRequest.objects.filter(
            owner_team=team,
            kind=RequestKind.RESTRICTION,
            status=RequestStatus.COMPLETED,
            restriction_lifted_at__isnull=True,
        )
        .exclude(pk=request.pk)
        .values_list("customer_ids", flat=True)
        for pk in customer_ids
    }
    customers = subject_directory().existing(team=team, customer_ids=request.customer_ids)
    lifted = subject_directory().restrict(
        team=team,
        customer_ids=[pk for pk in customers if pk not in in_force],
        restricted=False,
    )
    request.restriction_lifted_at = timezone.now()
    request.save(update_fields=["restriction_lifted_at", "updated_at"])
    _audit(
        "request.restriction_lift",
        request,
        actor,
        lifted=lifted,
        kept_by_other_requests=len(set(customers) & in_force),
    )
    return request


# --- The access package -------------------------------------------------------------------------


def _package_days() -> int:
    return int(getattr(settings, "PRIVACY_PACKAGE_DAYS", DEFAULT_PACKAGE_DAYS))


def request_package_build(*, request_id: int) -> DataSubjectRequest | None:
    """Build the ZIP of everything held about the request's customers (the Celery job's work).

    Idempotent: a request that is not waiting for its package is left as it is, and a run
    that dies before the end leaves the request in ``processing`` for the next delivery.
    """
    from privacy.requests.package.writer import subject_package_write

    request = DataSubjectRequest.objects.filter(pk=request_id).first()
    if request is None or request.status != RequestStatus.PROCESSING:
        return request
    team = request.owner_team
    customer_ids = subject_directory().existing(team=team, customer_ids=request.customer_ids)
    with tempfile.TemporaryFile() as scratch:
        # Not wrapped in a transaction here: the package opens its own REPEATABLE READ one, so
        # every category is read from the same snapshot.
        summary = subject_package_write(
            team=team,
            customer_ids=customer_ids,
            fileobj=scratch,
            request_reference=f"request-{request.pk}",
        )
        size = scratch.tell()
        scratch.seek(0)
        name = default_storage.save(f"privacy/packages/{uuid.uuid4().hex}.zip", File(scratch))
    with transaction.atomic():
        request = _locked(request)
        if request.status != RequestStatus.PROCESSING:
            default_storage.delete(name)
            return request
        if subject_directory().existing(team=team, customer_ids=request.customer_ids) != (
            customer_ids
        ):
            # Someone was erased (or merged away) while the package was being written: it may
            # hold data that no longer exists. Throw it away and build it again.
            default_storage.delete(name)
            _audit("request.package_rebuild", request, None)
            from privacy.tasks import request_package_build_task

            transaction.on_commit(lambda: request_package_build_task.delay(request.pk))
            return request
        request.package.name = name
        request.package_size = size
        request.package_expires_at = timezone.now() + datetime.timedelta(days=_package_days())
        counts = dict(getattr(summary, "counts", {}) or {})
        outcome = RequestOutcome.FULFILLED if customer_ids else RequestOutcome.NO_DATA_HELD
        _complete(
            request,
            outcome=outcome,
            note=request.outcome_note,
            actor=None,
            customer_ids=customer_ids,
            rows=counts,
            bytes=size,
        )
        _audit("request.package_ready", request, None, bytes=size)
    return request


@transaction.atomic
def request_package_fail(*, request_id: int, error: str) -> DataSubjectRequest | None:
    """The package job gave up: the request goes back to ``verified`` so staff can answer it
    again (or refuse it), with the error's class in the audit log."""
    request = DataSubjectRequest.objects.select_for_update().filter(pk=request_id).first()
    if request is None or request.status != RequestStatus.PROCESSING:
        return request
    request.status = RequestStatus.VERIFIED
    request.progress = 0
    request.save()
    _audit("request.package_failed", request, None, error=error[:100])
    return request


def request_package_open(*, request: DataSubjectRequest, actor: AbstractBaseUser) -> File:
    """Open the request's package for download, if its link has not expired; audited."""
    if not request.package or request.package_expires_at is None:
        raise RequestError("package", _("This request has no package to download."))
    if request.package_expires_at <= timezone.now():
        _audit("request.package_download_refused", request, actor, reason="expired")
        raise RequestError("package", _("The download link has expired; build a new package."))
    handle = request.package.open("rb")
    _audit("request.package_download", request, actor, bytes=request.package_size)
    return handle


# --- Overdue alerts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertSummary:
    teams: int
    requests: int
    emails: int


def _alert_days() -> int:
    return int(getattr(settings, "PRIVACY_ALERT_DAYS_BEFORE", DEFAULT_ALERT_DAYS_BEFORE))


def _stewards(team: Team) -> list[str]:
    user_model = get_user_model()
    return sorted(
        set(
            user_model.objects.filter(groups=team.group, is_active=True)
            .filter(
                Q(groups__name__in=[roles.DATA_STEWARD, roles.ADMINISTRATOR]) | Q(is_superuser=True)
            )
            .exclude(email="")
            .values_list("email", flat=True)
        )
    )


def requests_overdue_alert(*, today: datetime.date | None = None) -> AlertSummary:
    """Tell each team's data stewards, once a day, about open requests that are overdue or due
    within ``PRIVACY_ALERT_DAYS_BEFORE`` days. The email names request numbers, kinds and due
    dates only. Run by the beat schedule every morning; a second run on the same day sends
    nothing."""
    today = today or _today()
    horizon = today + datetime.timedelta(days=_alert_days())
    due = (
        DataSubjectRequest.objects.filter(status__in=OPEN_STATUSES, due_on__lte=horizon)
        .filter(Q(last_overdue_alert_on__isnull=True) | Q(last_overdue_alert_on__lt=today))
        .order_by("owner_team_id", "due_on", "pk")
    )
    teams = sorted(set(due.values_list("owner_team_id", flat=True)))
    by_team: dict[int, list[DataSubjectRequest]] = {}
    emails = 0
    for team_id in teams:
        with transaction.atomic():
            # Locked and skipped when locked: two overlapping runs never mail the same request.
            requests = list(
                due.filter(owner_team_id=team_id)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("owner_team__group")
            )
            if not requests:
                continue
            by_team[team_id] = requests
            team = requests[0].owner_team
            recipients = _stewards(team)
            overdue = [request for request in requests if request.due_on < today]
            if recipients:
                send_mail(
                    subject=_("%(count)s privacy requests need an answer soon")
                    % {"count": len(requests)},
                    message=_alert_text(requests, today=today),
                    from_email=None,
                    recipient_list=recipients,
                )
                emails += 1
            DataSubjectRequest.objects.filter(pk__in=[r.pk for r in requests]).update(
                last_overdue_alert_on=today
            )
            audit_record(
                action="request.overdue_alert",
                target=team,
                metadata={
                    "request_ids": [request.pk for request in requests],
                    "overdue": len(overdue),
                    "recipients": len(recipients),
                },
            )
    return AlertSummary(teams=len(by_team), requests=sum(map(len, by_team.values())), emails=emails)


def _alert_text(requests: list[DataSubjectRequest], *, today: datetime.date) -> str:
    lines = [_("These privacy requests are overdue or due soon:"), ""]
    for request in requests:
        state = _("OVERDUE") if request.due_on < today else _("due")
        lines.append(
            f"#{request.pk}  {request.get_kind_display()}  {state} {request.due_on.isoformat()}"
        )
    base = getattr(settings, "PUBLIC_BASE_URL", "")
    if base:
        lines += ["", base.rstrip("/") + reverse("request-list")]
    return "\n".join(lines)


# --- Erasure ------------------------------------------------------------------------------------

_REQUESTS_TABLE = DataSubjectRequest._meta.db_table
_REQUESTS_OF_SUBJECTS = (
    f'SELECT id, package FROM "{_REQUESTS_TABLE}" '  # noqa: S608
    "WHERE owner_team_id = %s AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(customer_ids) "
    "AS subject(id) WHERE subject.id::bigint = ANY(%s::bigint[])) FOR UPDATE"
)
_REQUESTS_FORGET = (
    f'UPDATE "{_REQUESTS_TABLE}" SET subject_email = NULL, subject_phone = NULL, '  # noqa: S608
    "subject_name = NULL, details = NULL, verification_note = '', extension_reason = '', "
    "outcome_note = '', "
    "package = '', package_size = NULL, package_expires_at = NULL, updated_at = now() "
    "WHERE id = ANY(%s::bigint[])"
)


def requests_erase(*, team: Team, customer_ids: list[int]) -> dict[str, int]:
    """The privacy core's eraser for requests (registered in ``PrivacyConfig.ready()``).

    Every request of ``team`` about an erased customer forgets the contact details and words it
    was given, and its access package (a ZIP of the person's data) is deleted after commit. The
    requests themselves stay, with kinds, dates and steps, to show how each was handled.
    """
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(_REQUESTS_OF_SUBJECTS, [team.pk, list(customer_ids)])
        found = cursor.fetchall()
        if not found:
            return {"privacy.data_subject_request": 0, "privacy.access_package": 0}
        cursor.execute(_REQUESTS_FORGET, [[pk for pk, _package in found]])
    packages = [package for _pk, package in found if package]

    def delete_packages() -> None:
        for name in packages:
            default_storage.delete(name)

    transaction.on_commit(delete_packages)
    return {"privacy.data_subject_request": len(found), "privacy.access_package": len(packages)}
