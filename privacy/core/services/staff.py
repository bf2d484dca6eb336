"""Writes of teams and of staff members' display preferences."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction
from django.utils.text import slugify

from privacy.core.services.audit import audit_record
from privacy.models import StaffProfile, Team


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
