"""Writes of data quality: the nightly snapshot of every team's figures."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from customers.models import Customer
from customers.quality.models import DataQualitySnapshot
from customers.quality.selectors import quality_figures
from privacy.core.services.audit import audit_record

# What a second run on the same day replaces: everything but the row's key.
_COUNTS = [
    field.name
    for field in DataQualitySnapshot._meta.concrete_fields
    if field.name not in {"id", "owner_team", "taken_on"}
]


@transaction.atomic
def data_quality_snapshot_take(*, now: datetime.datetime | None = None) -> int:
    """Keep today's data-quality figures of every team with customers; return how many teams.

    One grouped query computes them, one statement stores them. Idempotent within a day: a
    second run replaces that day's rows with the figures of the moment. Writes one
    ``customers.data_quality_snapshot`` audit entry in the same transaction.
    """
    now = now or timezone.now()
    taken_on = timezone.localdate(now)
    figures = quality_figures(Customer.objects.active(), now=now)
    DataQualitySnapshot.objects.bulk_create(
        [
            DataQualitySnapshot(
                owner_team_id=team.team_id,
                taken_on=taken_on,
                taken_at=now,
                customer_count=team.customer_count,
                field_count=team.field_count,
                filled_count=team.filled_count,
                checked_count=team.checked_count,
                valid_count=team.valid_count,
                duplicate_count=team.duplicate_count,
                consented_count=team.consented_count,
                average_age_days=team.average_age_days,
                fields=team.fields,
            )
            for team in figures
        ],
        update_conflicts=True,
        unique_fields=["owner_team", "taken_on"],
        update_fields=_COUNTS,
    )
    audit_record(
        action="customers.data_quality_snapshot",
        object_type=DataQualitySnapshot._meta.label_lower,
        metadata={"taken_on": taken_on.isoformat(), "teams": len(figures)},
    )
    return len(figures)
