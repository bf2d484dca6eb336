"""The audit log's one write: ``audit_record``, called inside the transaction of the change."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models

from privacy.core import context
from privacy.core.access import can_view_personal_data, owner_path
from privacy.core.processing import masked_fields, personal_fields
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


def shows_personal_data(user: AbstractBaseUser, model: type[models.Model]) -> bool:
    """Whether a page of ``model`` rows shows ``user`` personal data as it is: the record of
    processing lists personal fields for the model, and the user either sees them unmasked
    (``can_view_personal_data``) or the model has none that are masked (events, purchases)."""
    if not personal_fields(model):
        return False
    return can_view_personal_data(user) or not masked_fields(model)


def personal_data_view_record(
    *, actor: AbstractBaseUser, model: type[models.Model], objects: Iterable[models.Model]
) -> AuditEntry | None:
    """One ``personal_data.view`` entry for a page (a list page, one object) of ``model`` rows
    that showed ``actor`` personal data, naming the rows by id; none when the page showed none.

    Lists, the admin and the API call it once per page, never per row, so a page costs one
    insert. A single row is the entry's object (and gives it its team).
    """
    shown = list(objects)
    if not shown or not shows_personal_data(actor, model):
        return None
    if len(shown) == 1:
        return audit_record(
            action="personal_data.view",
            actor=actor,
            target=shown[0],
            object_type=model._meta.label_lower,
            metadata={"ids": [shown[0].pk]},
        )
    return audit_record(
        action="personal_data.view",
        actor=actor,
        object_type=model._meta.label_lower,
        team_id=_shared_team_id(model, shown),
        metadata={"ids": [row.pk for row in shown]},
    )


def _shared_team_id(model: type[models.Model], rows: list[models.Model]) -> int | None:
    """The team that owns every one of ``rows`` when the model names its owner team itself, so
    the entry costs no query; ``None`` (``audit_record`` then asks the actor's teams) otherwise."""
    path = owner_path(model)
    if path is None or "__" in path:
        return None
    teams = {getattr(row, f"{path}_id") for row in rows}
    return teams.pop() if len(teams) == 1 else None
