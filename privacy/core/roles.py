"""The four staff roles and their permission sets.

A role is a Django group (teams are groups too, but a team has a ``Team`` row). Roles are
created by a data migration and re-synced after every migrate, so permissions of models that
later apps add join the roles that should have them.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

ADMINISTRATOR = "Administrator"
DATA_STEWARD = "Data steward"
MARKETER = "Marketer"
ANALYST = "Analyst"

ROLE_LABELS = {
    ADMINISTRATOR: _("Administrator"),
    DATA_STEWARD: _("Data steward"),
    MARKETER: _("Marketer"),
    ANALYST: _("Analyst"),
}

DOMAIN_APPS = ("customers", "segments", "campaigns", "privacy")  # LAYERING: names higher apps

# Each role: (app label, codename prefix) pairs; ("customers", "view_") = every view permission
# of the customers app. Explicit codenames are given as (app label, full codename).
#
# Administrators manage the data of their teams, and the members of their teams: their details,
# flags, team memberships, the Marketer, Analyst and Data steward roles, and API tokens, through
# the account services (privacy/core/services/accounts.py), which audit every change and refusal.
# Superusers only make superusers and administrators (the Administrator role is never granted by
# an administrator), change role and group definitions, create teams, and edit Celery beat
# schedules (a schedule names any task with any arguments: as good as running code). An
# administrator reads the sign-in lockouts and lifts one by deleting it.
# LAYERING: the permission sets name the customers, segments and campaigns apps.
ROLE_PERMISSIONS: dict[str, list[tuple[str, str]]] = {
    ADMINISTRATOR: [(app, "") for app in DOMAIN_APPS] + [("axes", "view_")],
    DATA_STEWARD: [
        ("privacy", ""),
        ("customers", "view_"),
        ("customers", "change_"),
        ("segments", "view_"),
        ("campaigns", "view_"),
    ],
    MARKETER: [
        ("customers", "view_"),
        ("customers", "add_"),
        ("customers", "change_"),
        ("segments", ""),
        ("campaigns", ""),
    ],
    ANALYST: [
        ("customers", "view_"),
        ("segments", "view_"),
        ("campaigns", "view_"),
    ],
}

# Permissions no role gets through a prefix match; they are granted explicitly below.
_RESTRICTED = {
    "view_personal_data",
    "export_personal_data",
    "delete_auditentry",
    "change_auditentry",
    # Teams are created by superusers; membership is managed on the accounts.
    "add_team",
    "change_team",
    "delete_team",
    # API tokens are credentials: administrators only (revoking is a change; none is deleted).
    "view_apitoken",
    "add_apitoken",
    "change_apitoken",
    "delete_apitoken",
}
_EXPLICIT: dict[str, list[str]] = {
    ADMINISTRATOR: [
        "privacy.view_personal_data",
        "privacy.export_personal_data",
        # Members of their teams (privacy.core.access.accounts_condition); accounts are deactivated,
        # never deleted.
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
        "privacy.view_apitoken",
        "privacy.add_apitoken",
        "privacy.change_apitoken",
        # Lifting a sign-in lockout.
        "axes.delete_accessattempt",
    ],
    DATA_STEWARD: ["privacy.view_personal_data", "privacy.export_personal_data"],
    MARKETER: [],
    ANALYST: [],
}


def _permissions_for(role: str, permission_model=Permission):
    condition = Q(pk__in=[])
    for app_label, prefix in ROLE_PERMISSIONS[role]:
        condition |= Q(content_type__app_label=app_label, codename__startswith=prefix)
    explicit = Q(pk__in=[])
    for label in _EXPLICIT[role]:
        app_label, codename = label.split(".")
        explicit |= Q(content_type__app_label=app_label, codename=codename)
    return permission_model.objects.filter((condition & ~Q(codename__in=_RESTRICTED)) | explicit)


def roles_sync(*, group_model=Group, permission_model=Permission) -> None:
    """Create the role groups and give each exactly its permission set."""
    for role in ROLE_PERMISSIONS:
        group, _created = group_model.objects.get_or_create(name=role)
        group.permissions.set(_permissions_for(role, permission_model))


def roles_sync_after_migrate(sender, **kwargs) -> None:
    # post_migrate runs per app in INSTALLED_APPS order; "campaigns" is the last app with models,
    # so every permission exists by then.
    if sender.name == "campaigns":
        roles_sync()


def is_role(group: Group) -> bool:
    return group.name in ROLE_PERMISSIONS


# Roles a team administrator gives to and takes from the members of their teams; the
# Administrator role is given and taken by superusers only.
ROLES_ADMINISTRATORS_ASSIGN = (MARKETER, ANALYST, DATA_STEWARD)
