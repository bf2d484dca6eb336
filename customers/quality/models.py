"""The daily data-quality snapshot of a team: counts only, never a customer or a value."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from privacy.models import Team


class DataQualitySnapshot(models.Model):
    """One team's data-quality counts on one day (``customers.quality``), kept for trends.

    ``fields`` holds the per-field counts: ``{"country": {"filled": 90, "valid": 88}}``
    (``valid`` is ``None`` for fields without a validity check). The totals beside it sum them
    over the measured fields, so that trends over several teams are one ``SUM`` per day.
    """

    owner_team = models.ForeignKey(
        Team, on_delete=models.CASCADE, related_name="+", verbose_name=_("team")
    )
    taken_on = models.DateField(_("day"))
    taken_at = models.DateTimeField(_("taken at"))
    customer_count = models.PositiveIntegerField(_("customers"))
    field_count = models.PositiveSmallIntegerField(_("fields measured"))
    filled_count = models.PositiveIntegerField(_("filled values"))
    checked_count = models.PositiveIntegerField(_("filled values with a validity check"))
    valid_count = models.PositiveIntegerField(_("valid values"))
    duplicate_count = models.PositiveIntegerField(_("customers in open duplicate candidates"))
    consented_count = models.PositiveIntegerField(_("customers with a current consent grant"))
    average_age_days = models.FloatField(_("mean days since last update"), null=True)
    fields = models.JSONField(_("counts per field"), default=dict)

    class Meta:
        ordering = ["-taken_on", "owner_team"]
        verbose_name = _("data-quality snapshot")
        verbose_name_plural = _("data-quality snapshots")
        constraints = [
            models.UniqueConstraint(
                fields=["owner_team", "taken_on"], name="data_quality_snapshot_team_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.owner_team_id} {self.taken_on}"
