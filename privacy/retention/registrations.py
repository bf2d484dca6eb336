"""What the retention package registers, from ``PrivacyConfig.ready()``: the record of
processing of its model and the purgers of the privacy app's own categories, audit entries and
access packages (``docs/registries.md``)."""

from __future__ import annotations

from privacy.core.processing import not_personal, processing_register
from privacy.models import RetentionCategory
from privacy.retention.services import AccessPackagePurger, AuditEntryPurger, register_purger

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


def retention_register() -> None:
    processing_register(PROCESSING)
    register_purger(RetentionCategory.AUDIT_ENTRIES, AuditEntryPurger())
    register_purger(RetentionCategory.EXPORT_PACKAGES, AccessPackagePurger())
