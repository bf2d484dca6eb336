"""What erasure leaves behind on purpose: suppression entries that block re-collection."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from privacy.models.core import Team


class SuppressionKind(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")


class Suppression(models.Model):
    """A keyed hash (blind index) of an erased person's email or phone.

    Holds no personal value: only the HMAC that import, API upsert and sending compare
    against, so an erased person is not collected or contacted again.
    """

    owner_team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=8, choices=SuppressionKind.choices)
    lookup_key = models.CharField(max_length=32)
    reason = models.CharField(_("reason"), max_length=64)
    request_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("suppression")
        verbose_name_plural = _("suppressions")
        constraints = [
            models.UniqueConstraint(
                fields=["owner_team", "kind", "lookup_key"], name="suppression_unique_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} suppression #{self.pk}"
