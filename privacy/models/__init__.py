"""Models of the privacy core, one module per area; import them from here."""

from privacy.models.core import (
    AuditEntry,
    AuditEntryQuerySet,
    AuditLogIsAppendOnly,
    DataPermission,
    StaffProfile,
    Team,
)

__all__ = [
    "AuditEntry",
    "AuditEntryQuerySet",
    "AuditLogIsAppendOnly",
    "DataPermission",
    "StaffProfile",
    "Team",
]
