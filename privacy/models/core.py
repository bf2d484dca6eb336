from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils.translation import gettext_lazy as _

from privacy.core.roles import ADMINISTRATOR


class Team(models.Model):
    """A team owns customers, segments, campaigns and imports. Membership is its Django group."""

    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="team")
    slug = models.SlugField(unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["group__name"]
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.group.name

    @property
    def name(self) -> str:
        return self.group.name


class StaffProfile(models.Model):
    """Per-user display preferences for the staff UI."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile"
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self) -> str:
        return f"{self.user} ({self.time_zone})"


class DataPermission(models.Model):
    """Holder of permissions that concern personal data rather than one model."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_personal_data", _("Can see unmasked contact details")),
            ("export_personal_data", _("Can export personal data")),
        ]

    def __str__(self) -> str:
        return "data permission"


class AuditLogIsAppendOnly(Exception):
    """Raised on any attempt to change or remove an audit entry."""


class AuditEntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditLogIsAppendOnly("Audit entries cannot be updated.")

    def delete(self):
        raise AuditLogIsAppendOnly("Audit entries cannot be deleted.")

    # bulk_update is built on update(); refuse it explicitly for a clear message.
    def bulk_update(self, objs, fields, batch_size=None):
        raise AuditLogIsAppendOnly("Audit entries cannot be updated.")


class AuditEntry(models.Model):
    """One thing that happened: who, what, to which object, when, from where.

    Never holds personal-data values; ``metadata`` carries counts, field names and ids only.
    A database trigger refuses UPDATE and DELETE, so the log is append-only below the ORM too.

    ``team`` is the team the entry belongs to: the team of the object (its owner, or the team
    itself), else the team of the account it is about (the actor, or the account that is its
    object) when that account belongs to exactly one team. The access layer scopes the log by
    it: data stewards read their teams' entries, administrators every entry, including those of
    no team (system jobs, sign-ins of staff in several teams or none).
    """

    # Read through privacy.core.access: the role's teams, or every team for this role.
    access_owner_path = "team"
    access_every_team_role = ADMINISTRATOR

    occurred_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor"),
    )
    actor_label = models.CharField(_("actor name"), max_length=150, blank=True)
    # Like the actor, the team is kept as an id without a constraint: the log outlives it.
    team = models.ForeignKey(
        Team,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("team"),
    )
    action = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    metadata = models.JSONField(_("details"), default=dict, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["actor", "occurred_at"], name="audit_actor_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.actor_label or '-'} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditLogIsAppendOnly("Audit entries cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditLogIsAppendOnly("Audit entries cannot be deleted.")
