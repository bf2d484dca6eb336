"""Writes of the privacy core: audit entries, teams, staff preferences and MFA enrolment."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group
from django.db import models, transaction
from django.utils.text import slugify
from django_otp.plugins.otp_totp.models import TOTPDevice

from privacy.core import context
from privacy.core.access import owner_path
from privacy.models import AuditEntry, StaffProfile, Team

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


@transaction.atomic
def team_create(*, name: str, actor: AbstractBaseUser | None = None) -> Team:
    """Create a team and the Django group that holds its members."""
    group = Group.objects.create(name=name)
    team = Team.objects.create(group=group, slug=slugify(name) or f"team-{group.pk}")
    audit_record(action="team.create", actor=actor, target=team)
    return team


@transaction.atomic
def staff_profile_update(
    *, user: AbstractBaseUser, time_zone: str, actor: AbstractBaseUser | None = None
) -> StaffProfile:
    """Set the user's display preferences; ``actor`` is who did it (the user by default)."""
    profile, created = StaffProfile.objects.update_or_create(
        user=user, defaults={"time_zone": time_zone}
    )
    audit_record(
        action="staff_profile.update",
        actor=actor or user,
        target=profile,
        metadata={"user_id": user.pk, "created": created},
    )
    return profile


@transaction.atomic
def staff_profiles_delete(*, profiles: list[StaffProfile], actor: AbstractBaseUser) -> int:
    """Delete display preferences (their users see UTC times again), each audited."""
    for profile in profiles:
        audit_record(
            action="staff_profile.delete",
            actor=actor,
            target=profile,
            metadata={"user_id": profile.user_id},
        )
    deleted, _by_model = StaffProfile.objects.filter(
        pk__in=[profile.pk for profile in profiles]
    ).delete()
    return deleted


def totp_device_start(*, user: AbstractBaseUser) -> TOTPDevice:
    """Return the user's unconfirmed TOTP device, creating one with a fresh secret if needed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


@transaction.atomic
def totp_device_confirm(*, device: TOTPDevice, token: str) -> bool:
    """Confirm an enrolment when the code from the user's app matches; audit either way."""
    verified = device.verify_token(token)
    if verified:
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=device.user).exclude(pk=device.pk).delete()
    audit_record(
        action="mfa.enrol" if verified else "mfa.enrol_failed", actor=device.user, target=device
    )
    return verified


@transaction.atomic
def sessions_purge_expired() -> int:
    """Delete expired sessions in one statement and audit how many went."""
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    deleted, _detail = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    if deleted:
        audit_record(action="sessions.purge_expired", metadata={"count": deleted})
    return deleted


def encryption_keys_rotate(*, batch_size: int = 1000) -> dict[str, int]:
    """Re-encrypt every encrypted column under the current key and rebuild blind indexes.

    Works in batches of ``batch_size`` rows, each in its own transaction, so it can run on a
    live database and be interrupted and started again. Returns rows rewritten per model and
    rows re-indexed per registered index.
    """
    from django.apps import apps

    from privacy.core.crypto import reindexers
    from privacy.core.fields import EncryptedTextField

    counts: dict[str, int] = {}
    for model in apps.get_models():
        fields = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if not fields or model._meta.proxy or not model._meta.managed:
            continue
        manager = model._base_manager
        last_pk = 0
        rewritten = 0
        while True:
            with transaction.atomic():
                batch = list(
                    manager.select_for_update().filter(pk__gt=last_pk).order_by("pk")[:batch_size]
                )
                if not batch:
                    break
                # Loading decrypts with whichever key made each value; saving encrypts anew.
                manager.bulk_update(batch, fields)
            last_pk = batch[-1].pk
            rewritten += len(batch)
        counts[model._meta.label] = rewritten
    for label, reindex in reindexers().items():
        counts[label] = reindex(batch_size=batch_size)
    audit_record(action="encryption.rotate_keys", metadata={"rows": counts})
    return counts
