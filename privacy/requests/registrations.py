"""What the requests package registers, from ``PrivacyConfig.ready()``: the record of processing
of its model and its eraser, which forgets an erased person's requests (``docs/registries.md``)."""

from __future__ import annotations

from privacy.core.processing import not_personal, personal, processing_register
from privacy.erasure.services.erasure import register_eraser
from privacy.requests.services.eraser import requests_erase

PROCESSING = {
    "privacy.DataSubjectRequest": {
        **not_personal(
            "id",
            "owner_team",
            "kind",
            "status",
            "channel",
            "due_on",
            "extension_months",
            "extended_at",
            "verification_method",
            "outcome",
            "answer_channel",
            "progress",
            "last_overdue_alert_on",
            "created_at",
            "updated_at",
        ),
        **personal("contact", "request_record", "subject_email", "subject_phone"),
        **personal(
            "identity",
            "request_record",
            "subject_name",
            "customer_ids",
            "verified_by",
            "answered_by",
            "created_by",
            # staff notes and the person's own words may say anything about them
            "details",
            "verification_note",
            "extension_reason",
            "outcome_note",
            "answer_note",
        ),
        **personal(
            "technical",
            "request_record",
            "received_at",
            "verified_at",
            "completed_at",
            "answered_at",
            "restriction_lifted_at",
        ),
        **personal("identity", "export_package_7d", "package"),
        **personal("technical", "export_package_7d", "package_size", "package_expires_at"),
    },
}


def requests_register() -> None:
    processing_register(PROCESSING)
    # Requests about an erased person forget their contact details and access packages.
    register_eraser("privacy.requests", requests_erase)
