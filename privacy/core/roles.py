"""The four staff roles and their permission sets.

A role is a Django group (teams are groups too, but a team has a ``Team`` row). Roles are
created by a data migration and re-synced after every migrate, so permissions of models that
later apps add join the roles that should have them. The four roles are the core's; what each
gets of an app's permissions, that app registers (``role_permissions_register``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from privacy.core.registry import Registry

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

ROLES = (ADMINISTRATOR, DATA_STEWARD, MARKETER, ANALYST)

# What each role gets of each app's permissions, as codename prefixes ("view_" = every view
# permission of the app, "" = all of them). Each app registers its own in its
# ``AppConfig.ready()`` (``role_permissions_register``); explicit codenames are below.
#
# Administrators manage the data of their teams, and the members of their teams: their details,
# flags, team memberships, the Marketer, Analyst and Data steward roles, and API tokens, through
# the account services (privacy/core/services/accounts.py), which audit every change and refusal.
# Superusers only make superusers and administrators (the Administrator role is never granted by
# an administrator), change role and group definitions, create teams, and edit Celery beat
# schedules (a schedule names any task with any arguments: as good as running code). An
# administrator reads the sign-in lockouts and lifts one by deleting it.
_APP_PERMISSIONS: Registry[dict[str, tuple[str, ...]]] = Registry("role permissions")


def role_permissions_register(app_label: str, prefixes: Mapping[str, Sequence[str]]) -> None:
    """Say what each role gets of ``app_label``'s permissions: ``{role: codename prefixes}``.

    Called from ``AppConfig.ready()`` of the app that owns the permissions (before
    ``roles_sync``, which runs after migrate); a role left out gets none of them.
    """
    unknown = set(prefixes) - set(ROLES)
    if unknown:
        raise ValueError(f"Unknown roles: {', '.join(sorted(unknown))}")
    _APP_PERMISSIONS.register(
        app_label, {role: tuple(prefixes[role]) for role in ROLES if prefixes.get(role)}
    )


class _RolePermissions(Mapping[str, list[tuple[str, str]]]):
    """Each role's ``(app label, codename prefix)`` pairs, from what the apps registered."""

    def __getitem__(self, role: str) -> list[tuple[str, str]]:
        if role not in ROLES:
            raise KeyError(role)
        return [
            (app_label, prefix)
            for app_label, by_role in _APP_PERMISSIONS.items()
            for prefix in by_role.get(role, ())
        ]

    def __iter__(self) -> Iterator[str]:
        return iter(ROLES)

    def __len__(self) -> int:
        return len(ROLES)


ROLE_PERMISSIONS: Mapping[str, list[tuple[str, str]]] = _RolePermissions()

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
    # post_migrate runs per app with a models module, in INSTALLED_APPS order; after the last
    # one every permission exists.
    with_models = [config for config in apps.get_app_configs() if config.models_module]
    if sender is with_models[-1]:
        roles_sync()


def is_role(group: Group) -> bool:
    return group.name in ROLE_PERMISSIONS


# Roles a team administrator gives to and takes from the members of their teams; the
# Administrator role is given and taken by superusers only.
ROLES_ADMINISTRATORS_ASSIGN = (MARKETER, ANALYST, DATA_STEWARD)
