"""Reads of data quality: the figures of a set of customers, and the kept snapshots."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import (
    Avg,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.utils import timezone

from customers.models import Customer, DuplicateCandidate, DuplicateStatus
from customers.quality.models import DataQualitySnapshot
from customers.quality.rules import QUALITY_FIELDS
from customers.selectors import customers_for_user
from privacy.core.access import scope_queryset, teams_for_user
from privacy.models import ConsentEvent, ConsentStatus

HISTORY_DAYS = 90


@contextmanager
def without_jit() -> Iterator[None]:
    """A transaction whose queries PostgreSQL runs without JIT compilation.

    The figures are wide aggregates (a ``COUNT … FILTER`` per field, correlated ``EXISTS``)
    whose estimated cost sets off JIT compilation, which then costs more than it saves: at
    100,000 customers compiling took 60% of the figures' time (``bench/bench_data_quality.py``).
    ``SET LOCAL`` ends with the transaction, so a pooled connection is left as it was.
    """
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
        yield


def current_grants(*, now: datetime.datetime) -> QuerySet[ConsentEvent]:
    """Grants that are a customer's current consent (the latest event of its purpose and
    channel, not expired) for an active purpose; correlated on ``OuterRef("pk")``."""
    later = ConsentEvent.objects.filter(
        customer_id=OuterRef("customer_id"),
        purpose_id=OuterRef("purpose_id"),
        channel=OuterRef("channel"),
    ).filter(
        Q(occurred_at__gt=OuterRef("occurred_at"))
        | Q(occurred_at=OuterRef("occurred_at"), id__gt=OuterRef("id"))
    )
    return ConsentEvent.objects.filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now),
        ~Exists(later),
        customer_id=OuterRef("pk"),
        status=ConsentStatus.GRANTED,
        purpose__is_active=True,
    )


def in_open_duplicate() -> Q:
    """Customers in an open duplicate candidate whose two customers are both still active."""
    open_pairs = DuplicateCandidate.objects.filter(
        status=DuplicateStatus.OPEN,
        first__merged_into__isnull=True,
        second__merged_into__isnull=True,
    )
    return Q(Exists(open_pairs.filter(first=OuterRef("pk")))) | Q(
        Exists(open_pairs.filter(second=OuterRef("pk")))
    )


@dataclass
class TeamFigures:
    """The data-quality counts of one team's customers (of those given)."""

    team_id: int
    team_name: str
    customer_count: int
    duplicate_count: int
    consented_count: int
    average_age_days: float | None
    fields: dict[str, dict[str, int | None]] = field(default_factory=dict)

    @property
    def field_count(self) -> int:
        return len(self.fields)

    @property
    def filled_count(self) -> int:
        return sum(counts["filled"] or 0 for counts in self.fields.values())

    @property
    def checked_count(self) -> int:
        return sum(
            counts["filled"] or 0 for counts in self.fields.values() if counts["valid"] is not None
        )

    @property
    def valid_count(self) -> int:
        return sum(counts["valid"] or 0 for counts in self.fields.values())


def quality_figures(
    customers: QuerySet[Customer], *, now: datetime.datetime | None = None
) -> list[TeamFigures]:
    """The data-quality counts of ``customers`` per owning team, in one grouped query."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    aggregates: dict[str, Any] = {
        "customer_count": Count("pk"),
        "duplicate_count": Count("pk", filter=in_open_duplicate()),
        "consented_count": Count("pk", filter=Q(Exists(current_grants(now=now)))),
        "average_age": Avg(
            ExpressionWrapper(Value(now) - F("updated_at"), output_field=DurationField())
        ),
    }
    for measured in QUALITY_FIELDS:
        aggregates[f"filled_{measured.key}"] = Count("pk", filter=measured.filled())
        if measured.validity is not None:
            aggregates[f"valid_{measured.key}"] = Count("pk", filter=measured.valid(today))
    with without_jit():
        rows = list(
            customers.order_by()
            .values("owner_team_id", "owner_team__group__name")
            .annotate(**aggregates)
            .order_by("owner_team__group__name")
        )
    return [
        TeamFigures(
            team_id=row["owner_team_id"],
            team_name=row["owner_team__group__name"],
            customer_count=row["customer_count"],
            duplicate_count=row["duplicate_count"],
            consented_count=row["consented_count"],
            average_age_days=(
                None if row["average_age"] is None else row["average_age"].total_seconds() / 86400
            ),
            fields={
                measured.key: {
                    "filled": row[f"filled_{measured.key}"],
                    "valid": row.get(f"valid_{measured.key}"),
                }
                for measured in QUALITY_FIELDS
            },
        )
        for row in rows
    ]


def quality_figures_for_user(
    user: AbstractBaseUser, *, now: datetime.datetime | None = None
) -> list[TeamFigures]:
    """Today's figures of each team of the user (every team for a superuser); customers of
    other teams granted one by one are left out, as a team's figures would be partial."""
    customers = customers_for_user(user).filter(owner_team__in=teams_for_user(user).values("pk"))
    return quality_figures(customers, now=now)


def snapshots_for_user(user: AbstractBaseUser) -> QuerySet[DataQualitySnapshot]:
    return scope_queryset(user, DataQualitySnapshot.objects.all())


def quality_history_for_user(
    user: AbstractBaseUser, *, today: datetime.date | None = None, days: int = HISTORY_DAYS
) -> list[dict[str, Any]]:
    """One point a day over the snapshots of the teams the user may see, the last ``days``
    days: each measure as a share (0 to 1) of the summed counts, freshness in days."""
    today = today or timezone.localdate()
    rows = (
        snapshots_for_user(user)
        .filter(taken_on__gt=today - datetime.timedelta(days=days))
        .order_by()
        .values("taken_on")
        .annotate(
            customers=Sum("customer_count"),
            slots=Sum(F("customer_count") * F("field_count")),
            filled=Sum("filled_count"),
            checked=Sum("checked_count"),
            valid=Sum("valid_count"),
            duplicates=Sum("duplicate_count"),
            consented=Sum("consented_count"),
            age_total=Sum(F("average_age_days") * F("customer_count"), output_field=FloatField()),
            aged=Sum("customer_count", filter=Q(average_age_days__isnull=False)),
        )
        .order_by("taken_on")
    )
    return [
        {
            "day": row["taken_on"],
            "completeness": share(row["filled"], row["slots"]),
            "validity": share(row["valid"], row["checked"]),
            "uniqueness": share(row["customers"] - row["duplicates"], row["customers"]),
            "consent_coverage": share(row["consented"], row["customers"]),
            "freshness_days": (round(row["age_total"] / row["aged"], 1) if row["aged"] else None),
        }
        for row in rows
    ]


def share(part: int | None, whole: int | None) -> float | None:
    """``part / whole`` rounded to four places, or ``None`` when there is no whole."""
    if not whole:
        return None
    return round((part or 0) / whole, 4)
