"""What the consent package registers, from ``PrivacyConfig.ready()``: the record of processing
of its models and the consent events' restriction for the app's database role
(``docs/registries.md``)."""

from __future__ import annotations

from privacy.core.db_roles import INSERT_AND_ERASE_ONLY, db_restriction_register
from privacy.core.processing import not_personal, personal, processing_register

PROCESSING = {
    "privacy.ConsentPurpose": not_personal(
        "id",
        "code",
        "name",
        "description",
        "channels",
        "requires_double_opt_in",
        "is_active",
        "created_at",
    ),
    "privacy.PrivacyNotice": not_personal(
        "id", "version", "language", "text", "text_sha256", "published_at"
    ),
    "privacy.ConsentEvent": {
        **not_personal("id", "owner_team"),
        # subject_key: a keyed hash of the email, so the proof still names the person after
        # an erasure; recorded_by: the staff member who entered it.
        **personal("identity", "consent_proof", "customer_id", "subject_key", "recorded_by"),
        **personal(
            "consent",
            "consent_proof",
            "purpose",
            "channel",
            "status",
            "lawful_basis",
            "source",
            "source_reference",
            "evidence",
            "notice",
            "occurred_at",
            "expires_at",
        ),
    },
}


def consent_register() -> None:
    processing_register(PROCESSING)
    # Consent events are append-only; erasure alone deletes them (the table's trigger).
    db_restriction_register("privacy.ConsentEvent", INSERT_AND_ERASE_ONLY)
