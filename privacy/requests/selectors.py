"""Reads of data-subject requests: the queue, its counts, a request's steps and what comes next.

Every list starts from the access layer. ``is_overdue`` is an annotation computed in SQL, so the
queue can be filtered and counted on it; it means the same as
``lifecycle.request_is_overdue``: not answered yet and past its due date (recording the answer,
``answered_at``, stops the clock; a package ready but not sent does not).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet
from django.utils import timezone

from privacy.core.access import scope_queryset
from privacy.core.subjects import subject_directory
from privacy.models import (
    AWAITING_ANSWER_STATUSES,
    OPEN_STATUSES,
    AuditEntry,
    DataSubjectRequest,
    RequestKind,
    RequestStatus,
    Team,
)
from privacy.requests.services.lifecycle import (
    MAX_EXTENSION_MONTHS,
    RESTRICTION_IN_FORCE_STATUSES,
    request_due_on,
)

REQUEST_OBJECT_TYPE = DataSubjectRequest._meta.label_lower
# Reads of the person's details are audited against the request too, but they are not steps.
READ_ACTIONS = ("request.view_personal_data",)


def _overdue_condition(today: datetime.date) -> Q:
    return Q(answered_at__isnull=True, status__in=OPEN_STATUSES, due_on__lt=today)


def requests_with_overdue(
    queryset: QuerySet[DataSubjectRequest] | None = None, *, today: datetime.date | None = None
) -> QuerySet[DataSubjectRequest]:
    """Requests with ``is_overdue`` annotated and the rows every page shows joined in."""
    queryset = DataSubjectRequest.objects.all() if queryset is None else queryset
    condition = _overdue_condition(today or timezone.localdate())
    return queryset.select_related(
        "owner_team__group", "created_by", "verified_by", "answered_by"
    ).annotate(is_overdue=ExpressionWrapper(condition, output_field=BooleanField()))


def requests_for_user(
    user: AbstractBaseUser | AnonymousUser,
    *,
    action: str = "view",
    today: datetime.date | None = None,
) -> QuerySet[DataSubjectRequest]:
    """The requests ``user`` may ``action``, with ``is_overdue``, soonest due first."""
    scoped = scope_queryset(user, DataSubjectRequest.objects.all(), action=action)
    return requests_with_overdue(scoped, today=today).order_by("due_on", "pk")


def requests_queue(
    user: AbstractBaseUser | AnonymousUser,
    *,
    status: str = "open",
    kind: str = "",
    is_overdue_only: bool = False,
    today: datetime.date | None = None,
) -> QuerySet[DataSubjectRequest]:
    """The queue as filtered: ``status`` is a status, ``open`` (any open one) or ``all``."""
    requests = requests_for_user(user, today=today)
    if status == "open":
        requests = requests.filter(status__in=OPEN_STATUSES)
    elif status != "all":
        requests = requests.filter(status=status)
    if kind:
        requests = requests.filter(kind=kind)
    if is_overdue_only:
        requests = requests.filter(is_overdue=True)
    return requests


@dataclass(frozen=True)
class QueueCounts:
    open: int
    overdue: int


def request_counts(
    user: AbstractBaseUser | AnonymousUser, *, today: datetime.date | None = None
) -> QueueCounts:
    """How many of the user's requests are open, and how many of those are overdue (one query)."""
    today = today or timezone.localdate()
    counts = scope_queryset(user, DataSubjectRequest.objects.all()).aggregate(
        open=Count("pk", filter=Q(status__in=OPEN_STATUSES)),
        overdue=Count("pk", filter=_overdue_condition(today)),
    )
    return QueueCounts(open=counts["open"], overdue=counts["overdue"])


def request_steps(subject_request: DataSubjectRequest) -> QuerySet[AuditEntry]:
    """The request's history: its audit entries, and the erasure it caused, oldest first.

    The erasure is audited against the team (``subject.erase``) and names the request in its
    metadata; the team's object index finds it without scanning the log.
    """
    own = Q(object_type=REQUEST_OBJECT_TYPE, object_id=str(subject_request.pk)) & ~Q(
        action__in=READ_ACTIONS
    )
    erasure = Q(
        action="subject.erase",
        object_type=Team._meta.label_lower,
        object_id=str(subject_request.owner_team_id),
        metadata__data_subject_request=subject_request.pk,
    )
    return (
        AuditEntry.objects.filter(own | erasure)
        .select_related("actor")
        .order_by("occurred_at", "pk")
    )


def request_existing_customers(subject_request: DataSubjectRequest) -> list[int]:
    """Which of the request's customers still exist (an erasure or a merge removes them)."""
    return subject_directory().existing(
        team=subject_request.owner_team, customer_ids=subject_request.customer_ids
    )


@dataclass(frozen=True)
class NextSteps:
    """The steps the services would accept now, so pages offer only those."""

    verify: bool
    extend: bool
    subjects: bool
    fulfil: bool
    answer: bool
    reject: bool
    lift_restriction: bool
    download: bool
    months_left: int


def request_next_steps(
    subject_request: DataSubjectRequest,
    *,
    existing_customer_ids: list[int],
    now: datetime.datetime | None = None,
) -> NextSteps:
    """What can be done next on ``subject_request``, by the rules the services enforce."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    is_waiting = subject_request.status in (RequestStatus.RECEIVED, RequestStatus.VERIFIED)
    months_left = MAX_EXTENSION_MONTHS - subject_request.extension_months
    in_first_month = today <= request_due_on(subject_request.received_at)
    has_package = bool(subject_request.package) and subject_request.package_expires_at is not None
    return NextSteps(
        verify=subject_request.status == RequestStatus.RECEIVED,
        extend=subject_request.is_open and months_left > 0 and in_first_month,
        subjects=is_waiting,
        # Every answer, "no data held" included, waits for the identity check.
        fulfil=subject_request.status == RequestStatus.VERIFIED,
        # Carried out, the answer waits to be sent and recorded.
        answer=subject_request.status in AWAITING_ANSWER_STATUSES,
        reject=is_waiting,
        lift_restriction=subject_request.kind == RequestKind.RESTRICTION
        and subject_request.status in RESTRICTION_IN_FORCE_STATUSES
        and subject_request.restriction_lifted_at is None,
        download=has_package and subject_request.package_expires_at > now,
        months_left=max(months_left, 0),
    )
