"""The audit log's one write: ``audit_record``, called inside the transaction of the change."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models

from privacy.core import context
from privacy.core.access import owner_path
from privacy.models import AuditEntry, Team

# Keys that would carry personal values; audit metadata must name fields, never hold their values.
_PERSONAL_KEYS = frozenset(
    {"email", "phone", "name", "first_name", "last_name", "address", "birth_date", "password"}
)


def audit_record(
    *,
    action: str,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    target: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    team_id: int | None = None,
    metadata: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one audit entry. Call it inside the transaction of the change it records.

    The entry belongs to ``team_id`` when given, else to the team that owns ``target`` (or is
    it), else to the only team of the account it is about (the actor, or a user ``target``).
    Give ``team_id`` when the object is named by ``object_type`` and ``object_id`` only.
    """
    metadata = metadata or {}
    leaked = _PERSONAL_KEYS.intersection(metadata)
    if leaked:
        raise ValueError(f"Audit metadata must not carry personal values: {sorted(leaked)}")
    if target is not None:
        object_type = object_type or target._meta.label_lower
        object_id = object_id or target.pk
    request = context.current()
    is_user = actor is not None and getattr(actor, "is_authenticated", False)
    if team_id is None:
        team_id = _audit_team_id(target=target, actor=actor if is_user else None)
    return AuditEntry.objects.create(
        actor=actor if is_user else None,
        actor_label=actor.get_username() if is_user else "",
        action=action,
        object_type=object_type,
        object_id=str(object_id) if object_id != "" else "",
        team_id=team_id,
        ip_address=request.ip_address,
        request_id=request.request_id,
        metadata=metadata,
    )


def _audit_team_id(
    *, target: models.Model | None, actor: AbstractBaseUser | None = None
) -> int | None:
    """The team an audit entry about ``target`` by ``actor`` belongs to (see ``audit_record``)."""
    if isinstance(target, Team):
        return target.pk
    if target is not None and (path := owner_path(type(target))) is not None:
        *hops, last = path.split("__")
        owner = target
        for hop in hops:
            owner = getattr(owner, hop, None)
        team_id = getattr(owner, f"{last}_id", None)
        if team_id is not None:
            return team_id
    account = target if isinstance(target, get_user_model()) else actor
    if account is None or account.pk is None:
        return None
    teams = list(Team.objects.filter(group__user=account).values_list("pk", flat=True)[:2])
    return teams[0] if len(teams) == 1 else None
