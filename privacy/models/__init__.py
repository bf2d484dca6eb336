"""Models of the privacy core, one module per area; import them from here."""

from privacy.models.consent import (
    ConsentChannel,
    ConsentEvent,
    ConsentPurpose,
    ConsentSource,
    ConsentStatus,
    LawfulBasis,
    PrivacyNotice,
)
from privacy.models.core import (
    AuditEntry,
    AuditEntryQuerySet,
    AuditLogIsAppendOnly,
    DataPermission,
    StaffProfile,
    Team,
)
from privacy.models.erasure import Suppression, SuppressionKind

__all__ = [
    "AuditEntry",
    "AuditEntryQuerySet",
    "AuditLogIsAppendOnly",
    "ConsentChannel",
    "ConsentEvent",
    "ConsentPurpose",
    "ConsentSource",
    "ConsentStatus",
    "DataPermission",
    "LawfulBasis",
    "PrivacyNotice",
    "StaffProfile",
    "Suppression",
    "SuppressionKind",
    "Team",
]
