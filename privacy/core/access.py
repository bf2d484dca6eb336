"""The one access layer: which objects a user may see or change, decided in SQL.

A user reaches an object when
- the user is an active superuser; or
- the object's model has no owner and the user's role grants the action on the model; or
- the user's role grants the action on the model and one of the user's teams owns the object; or
- the user's role grants the action on the model and the model names that role as one that
  reaches every team's objects (``access_every_team_role``: administrators read the whole audit
  log, objects of no team included); or
- the user, or a group the user belongs to, holds a django-guardian grant of the action on that
  very object (direct foreign-key permission models).

Staff accounts are reached through teams too (``accounts_condition``): the role must grant the
action on the user model, and the account must be a member of one of the user's teams; changing
one needs more (see there). Models that belong to an account (``access_account_path``, such as
API tokens) are reached when their account may be changed, or when they are the user's own.

UI views, the admin, the API and tasks all fetch objects through ``scope_queryset`` or
``get_for_user``. A missing object and a forbidden one raise the same ``NotFound``.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q, QuerySet
from django.db.models.functions import Cast
from django.http import Http404
from guardian.utils import get_group_obj_perms_model, get_user_obj_perms_model

from privacy.core.roles import ADMINISTRATOR
from privacy.models import Team

User = AbstractBaseUser | AnonymousUser

ACTIONS = ("view", "add", "change", "delete")

# Permissions about personal data rather than one model (``privacy.models.DataPermission``):
# seeing contact details unmasked, and taking a copy of personal data away (every download).
VIEW_PERSONAL_DATA = "privacy.view_personal_data"
EXPORT_PERSONAL_DATA = "privacy.export_personal_data"


class NotFound(Http404):
    """The object does not exist or the user may not reach it; callers cannot tell which.

    The user sees the same 404 either way; only the audit log learns more. ``is_refusal`` is
    true when the object exists but is out of the user's reach, and for a bare ``raise NotFound``
    (a page the user's role does not include); ``object_type`` and ``object_id`` then name the
    refused object, when there is one.
    """

    def __init__(
        self,
        message: str = "",
        *,
        is_refusal: bool = True,
        object_type: str = "",
        object_id: str = "",
    ) -> None:
        super().__init__(message)
        self.is_refusal = is_refusal
        self.object_type = object_type
        self.object_id = object_id


def owner_path(model: type[models.Model]) -> str | None:
    """The lookup from a model to the team that owns it, or None for unowned models.

    A model declares it with ``access_owner_path`` (for example ``"customer__owner_team"``);
    a model with an ``owner_team`` field needs nothing.
    """
    declared = getattr(model, "access_owner_path", None)
    if declared:
        return declared
    field_names = {field.name for field in model._meta.get_fields()}
    return "owner_team" if "owner_team" in field_names else None


def reaches_every_team(user: User, model: type[models.Model]) -> bool:
    """Whether the user holds the role that ``model`` lets reach every team's objects."""
    role = getattr(model, "access_every_team_role", None)
    return bool(role) and user.groups.filter(name=role).exists()


def permission_name(model: type[models.Model], action: str) -> str:
    if action not in ACTIONS:
        raise ValueError(f"Unknown action {action!r}; expected one of {ACTIONS}")
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


def user_teams(user: User) -> QuerySet[Team]:
    """The teams ``user`` is a member of (a superuser's own teams too: see ``teams_for_user``)."""
    if not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(group__user=user)


def teams_for_user(user: User) -> QuerySet[Team]:
    """The teams ``user`` may use: pick for a new record, filter a list by, manage members of.

    Every team for an active superuser (who reaches every team's objects, see
    ``scope_queryset``), the user's own teams for anybody else.
    """
    if user.is_authenticated and user.is_active and user.is_superuser:
        return Team.objects.all()
    return user_teams(user)


def can_view_personal_data(user: User) -> bool:
    """Whether ``user`` sees contact details unmasked (``VIEW_PERSONAL_DATA``)."""
    return user.has_perm(VIEW_PERSONAL_DATA)


def can_export_personal_data(user: User) -> bool:
    """Whether ``user`` may take a copy of personal data away: every download of it checks this
    first (``EXPORT_PERSONAL_DATA``), in the staff UI, the admin and the API."""
    return user.has_perm(EXPORT_PERSONAL_DATA)


def _granted_object_ids(user: User, model: type[models.Model], action: str) -> Q:
    """Objects granted to the user or one of the user's groups, as a SQL subquery condition."""
    content_type = ContentType.objects.get_for_model(model)
    codename = f"{action}_{model._meta.model_name}"
    condition = Q(pk__in=[])
    for permission_model, holder in (
        (get_user_obj_perms_model(model), Q(user=user)),
        (get_group_obj_perms_model(model), Q(group__user=user)),
    ):
        grants = permission_model.objects.filter(
            holder, permission__codename=codename, permission__content_type=content_type
        )
        if permission_model.objects.is_generic():
            # A model without direct permission models keeps grants by text primary key.
            ids = grants.annotate(object_key=Cast("object_pk", model._meta.pk)).values("object_key")
            condition |= Q(pk__in=ids)
        else:
            condition |= Q(pk__in=grants.values("content_object_id"))
    return condition


def accounts_condition(user: User, action: str) -> Q:
    """The staff accounts ``user`` may ``action`` (a condition on the user model), not counting
    the superuser's reach and the role permission, which ``scope_queryset`` checks.

    Viewing: the members of the user's teams. Changing (their details, flags, teams, roles,
    password and API tokens): those of them who are no superuser, do not hold the Administrator
    role, and belong to no team but the user's own, so that what the user changes reaches no
    other team. Superusers, administrators, and accounts shared with another team are managed
    by superusers only.
    """
    team_groups = user_teams(user).values("group_id")
    accounts = get_user_model()._default_manager
    condition = Q(pk__in=accounts.filter(groups__in=team_groups).values("pk"))
    if action == "view":
        return condition
    other_teams = Group.objects.filter(team__isnull=False).exclude(pk__in=team_groups)
    return (
        condition
        & Q(is_superuser=False)
        & ~Q(pk__in=accounts.filter(groups__name=ADMINISTRATOR).values("pk"))
        & ~Q(pk__in=accounts.filter(groups__in=other_teams).values("pk"))
    )


def _account_scope(user: User, queryset: QuerySet, action: str, *, permitted: bool) -> QuerySet:
    """Staff accounts, or rows that belong to one (API tokens), that ``user`` may ``action``."""
    if not permitted:
        return queryset.none()
    if queryset.model is get_user_model():
        return queryset.filter(accounts_condition(user, action))
    path = queryset.model.access_account_path
    manageable = get_user_model()._default_manager.filter(accounts_condition(user, "change"))
    return queryset.filter(Q(**{path: user.pk}) | Q(**{f"{path}__in": manageable.values("pk")}))


def scope_queryset(user: User, queryset: QuerySet, *, action: str = "view") -> QuerySet:
    """Narrow ``queryset`` to what ``user`` may ``action``; the filter runs in SQL."""
    model = queryset.model
    permission = permission_name(model, action)
    if not user.is_authenticated or not user.is_active:
        return queryset.none()
    if user.is_superuser:
        return queryset
    has_role_permission = user.has_perm(permission)
    if model is get_user_model() or getattr(model, "access_account_path", None):
        return _account_scope(user, queryset, action, permitted=has_role_permission)
    path = owner_path(model)
    if path is None:
        return queryset if has_role_permission else queryset.none()
    if has_role_permission and reaches_every_team(user, model):
        return queryset
    condition = Q(pk__in=[])
    if has_role_permission:
        condition |= Q(**{f"{path}__in": user_teams(user).values("pk")})
    condition |= _granted_object_ids(user, model, action)
    return queryset.filter(condition)


def get_for_user(
    user: User, queryset: QuerySet | type[models.Model], *, pk: object, action: str = "view"
) -> models.Model:
    """Fetch one object the user may ``action``; missing and forbidden both raise NotFound.

    Pass the queryset before scoping: when the object is in it but out of reach, the NotFound
    says so to the audit log (one more query, on the refusal path only).
    """
    if isinstance(queryset, type):
        queryset = queryset._default_manager.all()
    try:
        return scope_queryset(user, queryset, action=action).get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError) as error:
        exists = isinstance(error, queryset.model.DoesNotExist) and queryset.filter(pk=pk).exists()
        raise NotFound(
            f"No {queryset.model._meta.verbose_name} matches the given query.",
            is_refusal=exists,
            object_type=queryset.model._meta.label_lower if exists else "",
            object_id=str(pk) if exists else "",
        ) from error


def team_for_user(user: User, team_id: int | None = None) -> Team:
    """The team a new record of ``user`` belongs to.

    With ``team_id``, it must be one of the user's teams (any team for a superuser); without,
    the user must belong to exactly one team. Raises ``NotFound`` or ``ValueError`` with a
    message for a person.
    """
    teams = teams_for_user(user)
    if team_id is not None:
        team = teams.filter(pk=team_id).first()
        if team is None:
            exists = Team.objects.filter(pk=team_id).exists()
            raise NotFound(
                "No team matches the given query.",
                is_refusal=exists,
                object_type=Team._meta.label_lower if exists else "",
                object_id=str(team_id) if exists else "",
            )
        return team
    candidates = list(teams[:2])
    if len(candidates) != 1:
        raise ValueError("Choose the team that will own the record (owner_team).")
    return candidates[0]
