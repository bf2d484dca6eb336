"""Models of the privacy core, one module per area; import them from here."""

from privacy.models.accounts import ApiToken, api_key_digest
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
from privacy.models.erasure import (
    ErasureNotification,
    ErasureWebhook,
    NotificationStatus,
    Suppression,
    SuppressionKind,
)
from privacy.models.requests import (
    AWAITING_ANSWER_STATUSES,
    OPEN_STATUSES,
    AnswerChannel,
    DataSubjectRequest,
    RequestChannel,
    RequestKind,
    RequestOutcome,
    RequestStatus,
    VerificationMethod,
)
from privacy.models.retention import RetentionCategory, RetentionPolicy

__all__ = [
    "AWAITING_ANSWER_STATUSES",
    "OPEN_STATUSES",
    "AnswerChannel",
    "ApiToken",
    "AuditEntry",
    "AuditEntryQuerySet",
    "AuditLogIsAppendOnly",
    "ConsentChannel",
    "ConsentEvent",
    "ConsentPurpose",
    "ConsentSource",
    "ConsentStatus",
    "DataPermission",
    "DataSubjectRequest",
    "ErasureNotification",
    "ErasureWebhook",
    "LawfulBasis",
    "NotificationStatus",
    "PrivacyNotice",
    "RequestChannel",
    "RequestKind",
    "RequestOutcome",
    "RequestStatus",
    "RetentionCategory",
    "RetentionPolicy",
    "StaffProfile",
    "Suppression",
    "SuppressionKind",
    "Team",
    "VerificationMethod",
    "api_key_digest",
]
