"""Who sees what: staff accounts, their flags, teams and roles, and API tokens.

Every change of these goes through a service here. Each one first checks that the actor may make
it; a refused change is recorded as ``<action>_refused`` (what was asked, never a value), raises
``AccountRefused`` naming the input at fault, and changes nothing. An allowed change is written
with its audit entry in one transaction.

Who may do what (the reach is ``privacy.core.access.accounts_condition``):

- a superuser, or the operator at the command line (``actor=None``, management commands), may
  do everything;
- an administrator (a holder of ``auth.change_user``) manages the members of their teams who
  are neither superusers nor administrators and belong to no other team: their details, the
  ``is_active`` and ``is_staff`` flags, their password, their membership of the administrator's
  own teams, the Marketer, Analyst and Data steward roles, and their API tokens; creates
  accounts in their own teams; and makes and revokes API tokens of their own;
- the Administrator role, ``is_superuser``, and accounts beyond that reach are for superusers.

A caller that runs a service inside its own transaction and rolls that back on the error (the
admin does) calls ``AccountRefused.ensure_audited()`` once outside it.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from privacy.core import roles
from privacy.core.access import scope_queryset, teams_for_user
from privacy.core.services.audit import audit_record
from privacy.models import ApiToken, AuditEntry, Team, api_key_digest
from privacy.models.accounts import KEY_PREFIX_LENGTH

Actor = AbstractBaseUser | AnonymousUser | None

# Fields ``user_update`` changes; the flags are recorded with their new value.
ACCOUNT_FIELDS = ("username", "email", "first_name", "last_name", "is_active", "is_staff")
FLAGS = ("is_active", "is_staff", "is_superuser")
# How often ``api_token_mark_used`` writes: one UPDATE a minute at the most, per token.
LAST_USED_RESOLUTION = timedelta(minutes=1)
TOKEN_NAME_MAX_LENGTH = ApiToken._meta.get_field("name").max_length

# The words for a team, or an account, out of the actor's reach: callers answer a team or an
# account that does not exist with the same words.
TEAM_NOT_YOURS = gettext_lazy("Choose one of your own teams.")
ACCOUNT_NOT_YOURS = gettext_lazy(
    "Choose your own account or one of the members of your teams that you manage."
)


class AccountError(ValueError):
    """A change that cannot be made as asked; ``field`` names the input at fault (for a 400)."""

    code = "invalid"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class AccountRefused(AccountError):
    """A change the actor may not make; recorded in the audit log when raised."""

    code = "refused"

    def __init__(self, field: str, message: str, *, record: dict[str, Any]) -> None:
        super().__init__(field, message)
        self._record = record
        self.entry_id = audit_record(**record).pk

    def ensure_audited(self) -> None:
        """Record the refusal again if the caller's transaction rolled its entry back."""
        if not AuditEntry.objects.filter(pk=self.entry_id).exists():
            self.entry_id = audit_record(**self._record).pk


def _refuse(
    action: str,
    *,
    actor: Actor,
    target: models.Model | None,
    field: str,
    message: str,
    reason: str,
    **metadata: Any,
) -> AccountRefused:
    return AccountRefused(
        field,
        message,
        record={
            "action": f"{action}_refused",
            "actor": actor,
            "target": target,
            "metadata": {"field": field, "reason": reason, **metadata},
        },
    )


# --- Reach --------------------------------------------------------------------------------------


def _is_operator(actor: Actor) -> bool:
    """A superuser, or the command line: everything is allowed."""
    return actor is None or bool(actor.is_active and actor.is_superuser)


def actor_teams(actor: Actor) -> models.QuerySet[Team]:
    """The teams whose membership the actor manages."""
    if actor is None:  # the command line
        return Team.objects.all()
    return teams_for_user(actor)


def assignable_roles(actor: Actor) -> tuple[str, ...]:
    """The roles the actor gives and takes."""
    if _is_operator(actor):
        return tuple(roles.ROLE_PERMISSIONS)
    return roles.ROLES_ADMINISTRATORS_ASSIGN if actor.has_perm("auth.change_user") else ()


def account_is_manageable(*, actor: Actor, user: AbstractBaseUser) -> bool:
    """Whether the actor may change this account (see the module)."""
    if _is_operator(actor):
        return True
    account = get_user_model()._default_manager.filter(pk=user.pk)
    return scope_queryset(actor, account, action="change").exists()


def _check_manageable(action: str, *, actor: Actor, user: AbstractBaseUser) -> None:
    if not account_is_manageable(actor=actor, user=user):
        raise _refuse(
            action,
            actor=actor,
            target=user,
            field="user",
            message=_(
                "You manage the members of your teams only; superusers, administrators and "
                "members of other teams are managed by a superuser."
            ),
            reason="account_out_of_reach",
        )


def _check_team(action: str, *, actor: Actor, user: AbstractBaseUser | None, team: Team) -> None:
    if not actor_teams(actor).filter(pk=team.pk).exists():
        raise _refuse(
            action,
            actor=actor,
            target=user,
            field="team",
            message=str(TEAM_NOT_YOURS),
            reason="team_out_of_reach",
            team=team.pk,
        )


# --- Checks of input ----------------------------------------------------------------------------


def _role_names(requested: Collection[str]) -> set[str]:
    unknown = sorted(set(requested) - set(roles.ROLE_PERMISSIONS))
    if unknown:
        raise AccountError("roles", _("No such role: %(names)s.") % {"names": ", ".join(unknown)})
    return set(requested)


def _check_roles(
    action: str,
    *,
    actor: Actor,
    user: AbstractBaseUser | None,
    current: set[str],
    requested: set[str],
) -> None:
    changed = current ^ requested
    beyond = sorted(changed - set(assignable_roles(actor)))
    if beyond:
        raise _refuse(
            action,
            actor=actor,
            target=user,
            field="roles",
            message=_("Only a superuser gives or takes the role %(names)s.")
            % {"names": ", ".join(beyond)},
            reason="role_out_of_reach",
            roles=beyond,
        )


def _clean_fields(user: AbstractBaseUser, changes: Mapping[str, Any]) -> None:
    user_model = get_user_model()
    if "username" in changes:
        username = changes["username"]
        try:
            user_model.username_validator(username)
        except ValidationError as error:
            raise AccountError("username", " ".join(error.messages)) from error
        if not username:
            raise AccountError("username", _("Give the account a username."))
        taken = user_model._default_manager.filter(username=username).exclude(pk=user.pk)
        if taken.exists():
            raise AccountError("username", _("Another account has this username."))
    if changes.get("email"):
        try:
            validate_email(changes["email"])
        except ValidationError as error:
            raise AccountError("email", " ".join(error.messages)) from error


def _check_password(user: AbstractBaseUser, password: str | None) -> None:
    if password is None:
        return
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise AccountError("password", " ".join(error.messages)) from error


# --- Accounts -----------------------------------------------------------------------------------


def user_create(
    *,
    actor: Actor,
    username: str,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    password: str | None = None,
    is_active: bool = True,
    is_staff: bool = False,
    is_superuser: bool = False,
    teams: Collection[Team] = (),
    role_names: Collection[str] = (),
) -> AbstractBaseUser:
    """Create an account in ``teams`` with ``role_names``; without a password it signs in with
    none (an integration account uses API tokens)."""
    user_model = get_user_model()
    fields = {"username": username, "email": email, "first_name": first_name}
    fields |= {"last_name": last_name, "is_active": is_active, "is_staff": is_staff}
    draft = user_model(**fields, is_superuser=is_superuser)
    requested_roles = _role_names(role_names)
    if not _is_operator(actor):
        if not actor.has_perm("auth.add_user"):
            raise _refuse(
                "user.create",
                actor=actor,
                target=None,
                field="",
                message=_("You may not create accounts."),
                reason="permission",
            )
        if is_superuser:
            raise _refuse(
                "user.create",
                actor=actor,
                target=None,
                field="is_superuser",
                message=_("Only a superuser makes superusers."),
                reason="superuser_flag",
            )
        if not teams:
            raise AccountError("teams", _("Choose at least one of your teams for the new account."))
    for team in teams:
        _check_team("user.create", actor=actor, user=None, team=team)
    _check_roles("user.create", actor=actor, user=None, current=set(), requested=requested_roles)
    _clean_fields(draft, fields)
    _check_password(draft, password)
    with transaction.atomic():
        user = user_model._default_manager.create_user(
            **fields, password=password, is_superuser=is_superuser
        )
        groups = Group.objects.filter(Q(team__in=teams) | Q(name__in=requested_roles))
        user.groups.add(*groups)
        audit_record(
            action="user.create",
            actor=actor,
            target=user,
            metadata={
                "teams": sorted(team.pk for team in teams),
                "roles": sorted(requested_roles),
                "usable_password": password is not None,
                **{flag: getattr(user, flag) for flag in FLAGS},
            },
        )
    return user


def user_update(
    *, actor: Actor, user: AbstractBaseUser, changes: Mapping[str, Any]
) -> AbstractBaseUser:
    """Change an account's details and flags (``ACCOUNT_FIELDS`` and ``is_superuser``).

    A field given its current value is no change; only the others are written and audited.
    """
    unknown = sorted(set(changes) - {*ACCOUNT_FIELDS, "is_superuser"})
    if unknown:
        raise AccountError(unknown[0], _("This field cannot be changed here."))
    if not changes:
        return user
    _check_manageable("user.update", actor=actor, user=user)
    changed = {name: value for name, value in changes.items() if getattr(user, name) != value}
    if not changed:
        return user
    if "is_superuser" in changed and not _is_operator(actor):
        raise _refuse(
            "user.update",
            actor=actor,
            target=user,
            field="is_superuser",
            message=_("Only a superuser makes or unmakes superusers."),
            reason="superuser_flag",
        )
    _clean_fields(user, changed)
    with transaction.atomic():
        locked = get_user_model()._default_manager.select_for_update().get(pk=user.pk)
        for name, value in changed.items():
            setattr(locked, name, value)
        locked.save(update_fields=sorted(changed))
        audit_record(
            action="user.update",
            actor=actor,
            target=locked,
            metadata={
                "fields": sorted(changed),
                **{flag: value for flag, value in changed.items() if flag in FLAGS},
            },
        )
    return locked


def user_password_set(*, actor: Actor, user: AbstractBaseUser, password: str | None) -> None:
    """Give the account a new password, or none (``None``: it cannot sign in with one)."""
    _check_manageable("user.password_set", actor=actor, user=user)
    _check_password(user, password)
    with transaction.atomic():
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
        user.save(update_fields=["password"])
        audit_record(
            action="user.password_set",
            actor=actor,
            target=user,
            metadata={"usable_password": password is not None},
        )


def team_membership_add(*, actor: Actor, user: AbstractBaseUser, team: Team) -> bool:
    """Make the account a member of ``team``; False when it already is one."""
    _check_manageable("team.member_add", actor=actor, user=user)
    _check_team("team.member_add", actor=actor, user=user, team=team)
    with transaction.atomic():
        if user.groups.filter(pk=team.group_id).exists():
            return False
        user.groups.add(team.group_id)
        audit_record(action="team.member_add", actor=actor, target=user, metadata={"team": team.pk})
    return True


def team_membership_remove(*, actor: Actor, user: AbstractBaseUser, team: Team) -> bool:
    """End the account's membership of ``team``; False when it was not a member."""
    _check_manageable("team.member_remove", actor=actor, user=user)
    _check_team("team.member_remove", actor=actor, user=user, team=team)
    with transaction.atomic():
        if not user.groups.filter(pk=team.group_id).exists():
            return False
        user.groups.remove(team.group_id)
        audit_record(
            action="team.member_remove", actor=actor, target=user, metadata={"team": team.pk}
        )
    return True


def user_roles_set(
    *, actor: Actor, user: AbstractBaseUser, role_names: Collection[str]
) -> list[str]:
    """Give the account exactly ``role_names``; returns them, sorted."""
    requested = _role_names(role_names)
    _check_manageable("user.roles_set", actor=actor, user=user)
    current = set(
        user.groups.filter(name__in=roles.ROLE_PERMISSIONS).values_list("name", flat=True)
    )
    _check_roles("user.roles_set", actor=actor, user=user, current=current, requested=requested)
    if requested != current:
        with transaction.atomic():
            user.groups.remove(*Group.objects.filter(name__in=current - requested))
            user.groups.add(*Group.objects.filter(name__in=requested - current))
            audit_record(
                action="user.roles_set",
                actor=actor,
                target=user,
                metadata={
                    "added": sorted(requested - current),
                    "removed": sorted(current - requested),
                },
            )
    return sorted(requested)


# --- API tokens ---------------------------------------------------------------------------------


def _check_token_holder(action: str, *, actor: Actor, user: AbstractBaseUser, permission: str):
    if _is_operator(actor):
        return
    holder_in_reach = actor.pk == user.pk or account_is_manageable(actor=actor, user=user)
    if not (actor.has_perm(permission) and holder_in_reach):
        raise _refuse(
            action,
            actor=actor,
            target=user,
            field="user",
            message=str(ACCOUNT_NOT_YOURS),
            reason="account_out_of_reach",
        )


def api_token_create(
    *,
    actor: Actor,
    user: AbstractBaseUser,
    name: str,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Make an API token for ``user``; returns it with its key, which is not stored anywhere.

    Show the key once and forget it: only its digest and first characters are kept.
    """
    _check_token_holder(
        "api_token.create", actor=actor, user=user, permission="privacy.add_apitoken"
    )
    name = name.strip()
    if not name:
        raise AccountError("name", _("Say what the token is for."))
    if len(name) > TOKEN_NAME_MAX_LENGTH:
        raise AccountError(
            "name",
            _("At most %(count)d characters.") % {"count": TOKEN_NAME_MAX_LENGTH},
        )
    if not user.is_active:
        raise AccountError("user", _("This account is deactivated."))
    if expires_at is not None and expires_at <= timezone.now():
        raise AccountError("expires_at", _("Choose a time in the future."))
    key = secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            prefix=key[:KEY_PREFIX_LENGTH],
            digest=api_key_digest(key),
            created_by=actor if actor is not None and actor.is_authenticated else None,
            expires_at=expires_at,
        )
        audit_record(
            action="api_token.create",
            actor=actor,
            target=token,
            metadata={
                "user": user.pk,
                "expires_at": expires_at.isoformat() if expires_at else None,
            },
        )
    return token, key


def api_token_revoke(*, actor: Actor, token: ApiToken) -> ApiToken:
    """Stop the token from working, now and for good; a revoked token stays revoked."""
    _check_token_holder(
        "api_token.revoke", actor=actor, user=token.user, permission="privacy.change_apitoken"
    )
    with transaction.atomic():
        locked = ApiToken.objects.select_for_update().select_related("user").get(pk=token.pk)
        if locked.revoked_at is not None:
            return locked
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        audit_record(
            action="api_token.revoke", actor=actor, target=locked, metadata={"user": locked.user_id}
        )
    return locked


def api_token_mark_used(*, token: ApiToken, now: datetime) -> None:
    """Note that the token was used: one UPDATE a minute at the most (bookkeeping, not audited).

    The condition is in the statement, so concurrent calls write once.
    """
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiToken.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION),
        pk=token.pk,
    ).update(last_used_at=now)
    token.last_used_at = now
