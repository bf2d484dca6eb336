"""What the privacy core registers of its own, from ``PrivacyConfig.ready()``: the record of
processing of its models, what each role gets of its permissions and of django-axes', and the
audit log's restriction for the app's database role (``docs/registries.md``)."""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from privacy.core.db_roles import APPEND_ONLY, db_restriction_register
from privacy.core.labels import AUDIT_ACTION, labels_register, object_types_register
from privacy.core.processing import NOT_PERSONAL, not_personal, personal, processing_register
from privacy.core.roles import ADMINISTRATOR, DATA_STEWARD, role_permissions_register
from privacy.models import DataPermission

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

# What the core writes to the audit log: sign-in, accounts, tokens, teams and the log itself.
AUDIT_ACTIONS = {
    "auth.login_failed": _("Sign-in failed"),
    "auth.password_ok": _("Password accepted"),
    "auth.mfa_ok": _("Signed in with a one-time code"),
    "personal_data.view": _("Personal data viewed"),
    "auth.mfa_failed": _("One-time code refused"),
    "auth.logout": _("Signed out"),
    "auth.reauth_ok": _("Identity confirmed again"),
    "auth.reauth_failed": _("Identity confirmation failed"),
    "auth.reauth_locked": _("Identity confirmation locked"),
    "auth.locked_out": _("Sign-in locked after repeated failures"),
    "auth.token_failed": _("API token refused"),
    "auth.token_failed_flood": _("Many API tokens refused"),
    "access.denied": _("Access refused"),
    "mfa.enrol": _("Two-step sign-in set up"),
    "mfa.enrol_failed": _("Two-step sign-in set-up failed"),
    "sessions.purge_expired": _("Expired sessions removed"),
    "encryption.rotate_keys": _("Encryption keys rotated"),
    "audit.export": _("Audit log exported"),
    "user.create": _("Account created"),
    "user.create_administrator": _("Administrator account created"),
    "user.update": _("Account changed"),
    "user.password_set": _("Password set"),
    "user.roles_set": _("Roles changed"),
    "team.create": _("Team created"),
    "team.member_add": _("Team member added"),
    "team.member_remove": _("Team member removed"),
    "staff_profile.update": _("Staff preferences changed"),
    "staff_profile.delete": _("Staff preferences deleted"),
    "api_token.create": _("API token created"),
    "api_token.revoke": _("API token revoked"),
    "api_token.move_stock": _("API tokens moved to digests"),
}


def core_register() -> None:
    processing_register(PROCESSING)
    # Every permission of the privacy app, its features' included; the explicit and restricted
    # codenames of ``privacy.core.roles`` apply on top.
    role_permissions_register("privacy", {ADMINISTRATOR: [""], DATA_STEWARD: [""]})
    # The sign-in lockouts (django-axes), which administrators read and lift.
    role_permissions_register("axes", {ADMINISTRATOR: ["view_"]})
    db_restriction_register("privacy.AuditEntry", APPEND_ONLY)
    labels_register(AUDIT_ACTION, AUDIT_ACTIONS)
    # Audit entries name their object by model label: every model of the app, and accounts.
    object_types_register(
        [get_user_model(), Group, *apps.get_app_config("privacy").get_models()],
        {DataPermission: _("Personal data permissions")},
    )
