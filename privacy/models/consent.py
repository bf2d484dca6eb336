"""Consent with proof: purposes, versioned privacy notices and append-only consent events."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from privacy.core.labels import CONSENT_PURPOSE, label_or_name
from privacy.models.core import Team


class ConsentChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    PHONE = "phone", _("Phone")
    WECHAT = "wechat", _("WeChat")
    POST = "post", _("Post")
    ANY = "any", _("Any channel")


class ConsentStatus(models.TextChoices):
    GRANTED = "granted", _("Granted")
    DENIED = "denied", _("Denied")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class LawfulBasis(models.TextChoices):
    CONSENT = "consent", _("Consent")
    CONTRACT = "contract", _("Contract")
    LEGAL_OBLIGATION = "legal_obligation", _("Legal obligation")
    LEGITIMATE_INTEREST = "legitimate_interest", _("Legitimate interest")


class ConsentSource(models.TextChoices):
    FORM = "form", _("Form")
    API = "api", _("API")
    IMPORT = "import", _("Import")
    STAFF = "staff", _("Staff")
    PREFERENCE_CENTRE = "preference_centre", _("Preference centre")
    UNSUBSCRIBE = "unsubscribe", _("One-click unsubscribe")
    DOUBLE_OPT_IN = "double_opt_in", _("Double opt-in confirmation")


class ConsentPurpose(models.Model):
    """Something a person can agree to, on the channels it concerns."""

    code = models.SlugField(_("code"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    channels = ArrayField(
        models.CharField(max_length=16, choices=ConsentChannel.choices), default=list
    )
    requires_double_opt_in = models.BooleanField(_("needs double opt-in"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("consent purpose")
        verbose_name_plural = _("consent purposes")

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        """The name in the active language while it is the one the product gave the purpose."""
        return label_or_name(CONSENT_PURPOSE, self.code, self.name)


class PrivacyNotice(models.Model):
    """A published version of the privacy notice; its text is fixed once published."""

    version = models.CharField(_("version"), max_length=32)
    language = models.CharField(_("language"), max_length=16, default="en")
    text = models.TextField(_("text"))
    text_sha256 = models.CharField(max_length=64, editable=False)
    published_at = models.DateTimeField(_("published at"))

    class Meta:
        ordering = ["-published_at"]
        constraints = [
            models.UniqueConstraint(fields=["version", "language"], name="notice_unique_version")
        ]
        verbose_name = _("privacy notice")
        verbose_name_plural = _("privacy notices")

    def __str__(self) -> str:
        return f"{self.version} ({self.language})"

    @staticmethod
    def hash_text(text: str) -> str:
        return hashlib.sha256(text.encode()).hexdigest()


class ConsentEvent(models.Model):
    """One change of a person's consent. Never updated or deleted (a database trigger refuses
    both); the current state is the latest event per customer, purpose and channel.

    ``customer_id`` has no foreign-key constraint so that, when configuration keeps consent as
    legal proof after an erasure, the proof survives the customer; ``subject_key`` (a keyed
    hash of the normalised email) then still ties it to the suppressed identity.
    """

    owner_team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="+")
    customer_id = models.BigIntegerField(_("customer"), db_index=True)
    subject_key = models.CharField(max_length=32, blank=True, db_index=True)
    purpose = models.ForeignKey(ConsentPurpose, on_delete=models.PROTECT, related_name="events")
    channel = models.CharField(_("channel"), max_length=16, choices=ConsentChannel.choices)
    status = models.CharField(_("status"), max_length=16, choices=ConsentStatus.choices)
    lawful_basis = models.CharField(
        _("lawful basis"), max_length=32, choices=LawfulBasis.choices, default="consent"
    )
    source = models.CharField(_("source"), max_length=32, choices=ConsentSource.choices)
    source_reference = models.CharField(_("source reference"), max_length=128, blank=True)
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)
    notice = models.ForeignKey(
        PrivacyNotice, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    occurred_at = models.DateTimeField(_("time"))
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("consent event")
        verbose_name_plural = _("consent events")
        indexes = [
            models.Index(
                fields=["customer_id", "purpose", "channel", "-occurred_at"],
                name="consent_current_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.status} {self.purpose_id}/{self.channel} for #{self.customer_id}"
