"""What the requests package registers, from ``PrivacyConfig.ready()``: the record of processing
of its model and its eraser, which forgets an erased person's requests (``docs/registries.md``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from privacy.core.labels import AUDIT_ACTION, labels_register
from privacy.core.pages import object_page_register
from privacy.core.processing import not_personal, personal, processing_register
from privacy.erasure.services.erasure import register_eraser
from privacy.models import DataSubjectRequest
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


AUDIT_ACTIONS = {
    "request.create": _("Privacy request received"),
    "request.verify": _("Requester's identity verified"),
    "request.subjects": _("People of a privacy request chosen"),
    "request.extend": _("Privacy request deadline extended"),
    "request.fulfil": _("Privacy request fulfilled"),
    "request.answer": _("Answer to a privacy request recorded"),
    "request.reject": _("Privacy request rejected"),
    "request.restriction_lift": _("Processing restriction lifted"),
    "request.overdue_alert": _("Overdue privacy requests announced"),
    "request.view_personal_data": _("Privacy request's personal data viewed"),
    "request.package_start": _("Access package started"),
    "request.package_rebuild": _("Access package built again"),
    "request.package_ready": _("Access package ready"),
    "request.package_failed": _("Access package failed"),
    "request.package_download": _("Access package downloaded"),
    "request.package_download_refused": _("Access package download refused"),
    "request.package_delete": _("Access package deleted"),
    "subject.export": _("Person's data exported"),
}


def requests_register() -> None:
    processing_register(PROCESSING)
    # Requests about an erased person forget their contact details and access packages.
    register_eraser("privacy.requests", requests_erase)
    labels_register(AUDIT_ACTION, AUDIT_ACTIONS)
    object_page_register(DataSubjectRequest, "request-detail")
