"""Reads of the home dashboard. Every figure starts from what the user may see (the access
layer) and is one ``GROUP BY`` or one aggregate, whatever the number of customers."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Exists, Q, QuerySet, Sum
from django.db.models.functions import TruncDate, TruncMonth
from django.utils import timezone

from customers.models import Customer, ImportJob, ImportStatus
from customers.quality.selectors import current_grants, without_jit
from customers.selectors import customers_for_user
from privacy.core.access import permission_name, scope_queryset
from privacy.models import OPEN_STATUSES, ConsentPurpose, DataSubjectRequest

MONTHS = 12
TOP_COUNTRIES = 10
IMPORT_DAYS = 30
RFM_SCORES = range(1, 6)


@dataclass
class CustomerFigures:
    """The customer charts of one user; ``total`` is 0 when the user sees no customer."""

    total: int = 0
    by_lifecycle: list[tuple[str, int]] = field(default_factory=list)
    by_month: list[tuple[datetime.date, int, int]] = field(default_factory=list)
    by_source: list[tuple[str, int]] = field(default_factory=list)
    by_country: list[tuple[str, int]] = field(default_factory=list)
    other_countries: int = 0
    rfm: dict[tuple[int, int], tuple[int, Decimal]] = field(default_factory=dict)
    consent: list[tuple[ConsentPurpose, str, int]] = field(default_factory=list)


def _counts(customers: QuerySet[Customer], column: str) -> list[tuple[str, int]]:
    rows = (
        customers.order_by().values(column).annotate(count=Count("pk")).order_by("-count", column)
    )
    return [(row[column], row["count"]) for row in rows]


def customers_by_month(
    customers: QuerySet[Customer], *, months: int = MONTHS
) -> list[tuple[datetime.date, int, int]]:
    """(month, customers that arrived in it, customers by its end) for the last ``months``
    months with arrivals, in the current time zone."""
    rows = (
        customers.order_by()
        .annotate(month=TruncMonth("created_at", tzinfo=timezone.get_current_timezone()))
        .values("month")
        .annotate(count=Count("pk"))
        .order_by("month")
    )
    running, points = 0, []
    for row in rows:
        running += row["count"]
        points.append((row["month"].date(), row["count"], running))
    return points[-months:]


def rfm_grid(customers: QuerySet[Customer]) -> dict[tuple[int, int], tuple[int, Decimal]]:
    """(recency score, frequency score) → (customers, their total spend)."""
    rows = (
        customers.order_by()
        .filter(rfm_recency__isnull=False, rfm_frequency__isnull=False)
        .values("rfm_recency", "rfm_frequency")
        .annotate(count=Count("pk"), revenue=Sum("total_spend"))
    )
    return {
        (row["rfm_recency"], row["rfm_frequency"]): (row["count"], row["revenue"] or Decimal(0))
        for row in rows
    }


def consent_coverage(
    customers: QuerySet[Customer], *, now: datetime.datetime
) -> list[tuple[ConsentPurpose, str, int]]:
    """(purpose, channel, customers whose current consent there is a grant) for every channel of
    every active purpose: one query for the purposes, one aggregate for every cell."""
    purposes = list(ConsentPurpose.objects.filter(is_active=True).order_by("code"))
    cells = [(purpose, channel) for purpose in purposes for channel in purpose.channels]
    if not cells:
        return []
    grants = current_grants(now=now)
    counts = customers.order_by().aggregate(
        **{
            f"cell_{index}": Count(
                "pk", filter=Q(Exists(grants.filter(purpose_id=purpose.pk, channel=channel)))
            )
            for index, (purpose, channel) in enumerate(cells)
        }
    )
    return [
        (purpose, channel, counts[f"cell_{index}"])
        for index, (purpose, channel) in enumerate(cells)
    ]


def customer_figures(
    user: AbstractBaseUser, *, now: datetime.datetime | None = None
) -> CustomerFigures:
    """The customer charts of the dashboard over the customers ``user`` may see."""
    now = now or timezone.now()
    customers = customers_for_user(user)
    with without_jit():
        by_lifecycle = _counts(customers, "lifecycle_status")
        total = sum(count for _status, count in by_lifecycle)
        if not total:
            return CustomerFigures()
        countries = _counts(customers, "country")
        return CustomerFigures(
            total=total,
            by_lifecycle=by_lifecycle,
            by_month=customers_by_month(customers),
            by_source=_counts(customers, "source_channel"),
            by_country=countries[:TOP_COUNTRIES],
            other_countries=sum(count for _country, count in countries[TOP_COUNTRIES:]),
            rfm=rfm_grid(customers),
            consent=consent_coverage(customers, now=now),
        )


def imports_recent(
    user: AbstractBaseUser, *, now: datetime.datetime | None = None, days: int = IMPORT_DAYS
) -> list[dict[str, Any]]:
    """Per day of the last ``days`` days, the user's imports (dry runs left out): jobs by
    status and rows by outcome."""
    now = now or timezone.now()
    jobs = scope_queryset(
        user,
        ImportJob.objects.filter(
            created_at__gte=now - datetime.timedelta(days=days), is_dry_run=False
        ),
    )
    rows = (
        jobs.order_by()
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(
            jobs=Count("pk"),
            succeeded=Count("pk", filter=Q(status=ImportStatus.SUCCEEDED)),
            failed=Count("pk", filter=Q(status=ImportStatus.FAILED)),
            created=Sum("created_count"),
            updated=Sum("updated_count"),
            merged=Sum("merged_count"),
            unchanged=Sum("unchanged_count"),
            rejected=Sum("rejected_count"),
        )
        .order_by("day")
    )
    return list(rows)


def can_see_requests(user: AbstractBaseUser) -> bool:
    return user.has_perm(permission_name(DataSubjectRequest, "view"))


def requests_by_due_date(
    user: AbstractBaseUser, *, today: datetime.date | None = None
) -> dict[str, int]:
    """The open data-subject requests the user may see: overdue, due within a week, within a
    month, later (one aggregate)."""
    today = today or timezone.localdate()
    week, month = today + datetime.timedelta(days=7), today + datetime.timedelta(days=30)
    requests = scope_queryset(user, DataSubjectRequest.objects.filter(status__in=OPEN_STATUSES))
    return requests.order_by().aggregate(
        overdue=Count("pk", filter=Q(due_on__lt=today)),
        week=Count("pk", filter=Q(due_on__gte=today, due_on__lte=week)),
        month=Count("pk", filter=Q(due_on__gt=week, due_on__lte=month)),
        later=Count("pk", filter=Q(due_on__gt=month)),
    )
