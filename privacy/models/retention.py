"""Retention policies: how long each category of data is kept before the purge job removes it."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RetentionCategory(models.TextChoices):
    EVENTS = "events", _("Behaviour events")
    INACTIVE_CUSTOMERS = "inactive_customers", _("Inactive customers")
    IMPORT_FILES = "import_files", _("Import files and row reports")
    EXPORT_PACKAGES = "export_packages", _("Access packages")
    AUDIT_ENTRIES = "audit_entries", _("Audit entries")


class RetentionPolicy(models.Model):
    """One category's retention period; the nightly purge removes what is older."""

    category = models.CharField(
        _("data category"), max_length=32, choices=RetentionCategory.choices, unique=True
    )
    retain_days = models.PositiveIntegerField(_("keep for (days)"))
    is_active = models.BooleanField(_("purge automatically"), default=True)
    last_run_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Rows removed by the last run, per table: {"customers.event": 1200}.
    last_run_counts = models.JSONField(default=dict, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("retention policy")
        verbose_name_plural = _("retention policies")
        ordering = ["category"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(retain_days__gte=1), name="retention_at_least_one_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()}: {self.retain_days} days"
