"""What the privacy core registers of its own, from ``PrivacyConfig.ready()``: the record of
processing of its models, what each role gets of its permissions and of django-axes', and the
audit log's restriction for the app's database role (``docs/registries.md``)."""

from __future__ import annotations

from privacy.core.db_roles import APPEND_ONLY, db_restriction_register
from privacy.core.processing import NOT_PERSONAL, not_personal, personal, processing_register
from privacy.core.roles import ADMINISTRATOR, DATA_STEWARD, role_permissions_register

PROCESSING = {
    "privacy.Team": not_personal("id", "group", "slug", "created_at"),
    "privacy.StaffProfile": {
        "id": NOT_PERSONAL,
        "user": ("identity", "staff_account"),
        "time_zone": ("technical", "staff_account"),
    },
    # An API token of a staff or integration account: its key is stored as a digest only.
    "privacy.ApiToken": {
        "id": NOT_PERSONAL,
        **personal("identity", "staff_account", "user", "created_by"),
        **personal(
            "technical",
            "staff_account",
            "name",
            "prefix",
            "digest",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
        ),
    },
    # Never holds personal-data values: who acted, on which object id, from where.
    "privacy.AuditEntry": {
        **not_personal("id", "action", "object_type", "team"),
        **personal("identity", "audit_5y", "actor", "actor_label", "object_id"),
        **personal("technical", "audit_5y", "occurred_at", "ip_address", "request_id", "metadata"),
    },
}


def core_register() -> None:
    processing_register(PROCESSING)
    # Every permission of the privacy app, its features' included; the explicit and restricted
    # codenames of ``privacy.core.roles`` apply on top.
    role_permissions_register("privacy", {ADMINISTRATOR: [""], DATA_STEWARD: [""]})
    # The sign-in lockouts (django-axes), which administrators read and lift.
    role_permissions_register("axes", {ADMINISTRATOR: ["view_"]})
    db_restriction_register("privacy.AuditEntry", APPEND_ONLY)
