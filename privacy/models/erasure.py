"""What erasure leaves behind on purpose: suppression entries that block re-collection."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from privacy.models.core import Team


class SuppressionKind(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    # An id on another channel (CRM, WeChat, shop...), keyed together with its channel.
    EXTERNAL = "external", _("External id")


class Suppression(models.Model):
    """A keyed hash (blind index) of one identity of an erased person: an email, a phone or
    an external id with its channel.

    Holds no personal value: only the HMAC that every door collecting people (import, API
    upsert, event and purchase ingestion, staff edits) and sending compare against, so an
    erased person is not collected or contacted again by any of their identifiers.
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


class ErasureWebhook(models.Model):
    """A downstream recipient of the team's data that must hear of every erasure.

    Each erasure is POSTed as signed JSON (HMAC-SHA256 of the body with ``secret`` in the
    ``X-Marketbase-Signature`` header); the body carries the erased customers' numbers and the
    external ids the recipient was given, never an email or phone.
    """

    owner_team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500)
    # Only external ids of this channel are sent (blank: the customer numbers only).
    channel = models.CharField(_("external id channel"), max_length=32, blank=True)
    secret = models.CharField(_("signing secret"), max_length=128)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("erasure webhook")
        verbose_name_plural = _("erasure webhooks")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class NotificationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class ErasureNotification(models.Model):
    """One erasure told to one webhook: the delivery log.

    ``payload`` is the exact body sent (customer numbers and external ids); it is cleared once
    delivered or once delivery has failed for good, so the log keeps only whether and when a
    recipient was told.
    """

    # Scoped by the webhook's team (see privacy.core.access.owner_path).
    access_owner_path = "webhook__owner_team"

    webhook = models.ForeignKey(ErasureWebhook, on_delete=models.CASCADE, related_name="+")
    erasure_reference = models.CharField(max_length=64)
    request_id = models.BigIntegerField(null=True, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("erasure notification")
        verbose_name_plural = _("erasure notifications")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["webhook", "erasure_reference"], name="erasure_notification_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.webhook} {self.erasure_reference} {self.status}"
