"""What the consent package registers, from ``PrivacyConfig.ready()``: the record of processing
of its models and the consent events' restriction for the app's database role
(``docs/registries.md``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from privacy.core.db_roles import INSERT_AND_ERASE_ONLY, db_restriction_register
from privacy.core.labels import AUDIT_ACTION, CONSENT_PURPOSE, CONSENT_SOURCE, labels_register
from privacy.core.pages import object_page_register
from privacy.core.processing import not_personal, personal, processing_register
from privacy.models import PrivacyNotice

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


AUDIT_ACTIONS = {
    "consent.record": _("Consent recorded"),
    "consent.record_bulk": _("Consents recorded in bulk"),
    "consent.double_opt_in_sent": _("Confirmation email sent"),
    "consent.merge": _("Consents moved by a merge"),
    "consent.merge_undo": _("Consents moved back by an undone merge"),
    "privacy_notice.publish": _("Privacy notice published"),
}

# The purposes every installation starts with (migration 0003); a purpose added later is shown
# by the name it was given.
CONSENT_PURPOSES = {
    "email_marketing": _("Email marketing"),
    "sms_marketing": _("SMS marketing"),
    "wechat_marketing": _("WeChat marketing"),
    "profiling": _("Profiling and personalisation"),
    "third_party_sharing": _("Sharing with partners"),
}

# What a consent's source reference (``import:2``, ``merge:…``) starts with.
CONSENT_SOURCES = {
    "import": _("Import"),
    "merge": _("Merge"),
    "merge_undo": _("Undone merge"),
    "double_opt_in": _("Double opt-in link"),
    "objection request": _("Objection request"),
}


def consent_register() -> None:
    processing_register(PROCESSING)
    # Consent events are append-only; erasure alone deletes them (the table's trigger).
    db_restriction_register("privacy.ConsentEvent", INSERT_AND_ERASE_ONLY)
    labels_register(AUDIT_ACTION, AUDIT_ACTIONS)
    labels_register(CONSENT_PURPOSE, CONSENT_PURPOSES)
    labels_register(CONSENT_SOURCE, CONSENT_SOURCES)
    object_page_register(PrivacyNotice, "notice-detail")
