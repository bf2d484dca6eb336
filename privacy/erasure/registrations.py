"""What the erasure package registers, from ``PrivacyConfig.ready()``: the record of processing
of its models, the suppression list's restriction for the app's database role, and the blind
indexes an erasure keeps on purpose, which the privacy scan reports as kept
(``docs/registries.md``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from privacy.core.db_roles import APPEND_ONLY, db_restriction_register
from privacy.core.labels import AUDIT_ACTION, labels_register
from privacy.core.processing import not_personal, personal, processing_register
from privacy.core.scan import scan_kept_register

PROCESSING = {
    "privacy.Suppression": {
        **not_personal("id", "owner_team"),
        "lookup_key": ("identity", "suppression_permanent"),
        **personal("technical", "suppression_permanent", "kind", "reason", "request_id"),
        "created_at": ("technical", "suppression_permanent"),
    },
    "privacy.ErasureWebhook": not_personal(
        "id", "owner_team", "name", "url", "channel", "secret", "is_active", "created_at"
    ),
    "privacy.ErasureNotification": {
        **not_personal(
            "id",
            "webhook",
            "erasure_reference",
            "status",
            "attempts",
            "response_status",
            "last_error",
            "created_at",
            "delivered_at",
        ),
        # customer numbers and external ids until delivered
        **personal("identity", "webhook_log", "payload", "request_id"),
    },
}


AUDIT_ACTIONS = {
    "subject.erase": _("Person erased"),
    "erasure.notification_delivered": _("Erasure notice delivered"),
    "erasure.notification_failed": _("Erasure notice failed"),
    "erasure.notification_retry": _("Erasure notice sent again"),
    "erasure_webhook.create": _("Erasure webhook added"),
    "erasure_webhook.update": _("Erasure webhook changed"),
}


def erasure_register() -> None:
    processing_register(PROCESSING)
    db_restriction_register("privacy.Suppression", APPEND_ONLY)
    scan_kept_register(
        "privacy.Suppression", "lookup_key", reason="suppression list: blocks re-collection"
    )
    scan_kept_register(
        "privacy.ConsentEvent",
        "subject_key",
        reason="consent proof kept (ERASURE_KEEP_CONSENT_PROOF)",
        setting="ERASURE_KEEP_CONSENT_PROOF",
    )
    labels_register(AUDIT_ACTION, AUDIT_ACTIONS)
