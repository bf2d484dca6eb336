"""What the retention package registers, from ``PrivacyConfig.ready()``: the record of
processing of its model and the purgers of the privacy app's own categories, audit entries and
access packages (``docs/registries.md``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from privacy.core.labels import AUDIT_ACTION, RETENTION_TABLE, labels_register
from privacy.core.processing import not_personal, processing_register
from privacy.models import RetentionCategory
from privacy.retention.services import (
    AUDIT_ENTRY_LABEL,
    PACKAGE_LABEL,
    AccessPackagePurger,
    AuditEntryPurger,
    register_purger,
)

PROCESSING = {
    "privacy.RetentionPolicy": not_personal(
        "id",
        "category",
        "retain_days",
        "is_active",
        "last_run_at",
        "last_run_counts",
        "updated_at",
    ),
}


AUDIT_ACTIONS = {
    "retention.policy_change": _("Retention policy changed"),
    "retention.preview": _("Retention dry run"),
    "retention.purge": _("Retention purge"),
    "retention.run_request": _("Retention purge requested"),
}

# What the retention package's own purgers count, by table (``last_run_counts``).
RETENTION_TABLES = {
    AUDIT_ENTRY_LABEL: _("Audit entries"),
    PACKAGE_LABEL: _("Access packages"),
}


def retention_register() -> None:
    processing_register(PROCESSING)
    register_purger(RetentionCategory.AUDIT_ENTRIES, AuditEntryPurger())
    register_purger(RetentionCategory.EXPORT_PACKAGES, AccessPackagePurger())
    labels_register(AUDIT_ACTION, AUDIT_ACTIONS)
    labels_register(RETENTION_TABLE, RETENTION_TABLES)
