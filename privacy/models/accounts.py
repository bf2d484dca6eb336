"""API tokens: the credential of ``Authorization: Token <key>``, stored only as a digest."""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Characters of the key kept in clear, to tell tokens apart in lists and audit entries.
KEY_PREFIX_LENGTH = 8


def api_key_digest(key: str) -> str:
    """The SHA-256 of a key, as stored. Keys are long and random: no slow hash is needed."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """One API token of one account, named after what it is for.

    The key is shown once, when the token is made; the table keeps its first characters and
    its digest, so nobody (administrators, a database dump) can read it back. A token stops
    working when it expires or is revoked; it is kept afterwards, with when it was last used.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=_("account"),
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("key starts with"), max_length=KEY_PREFIX_LENGTH)
    digest = models.CharField(_("digest"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    # The access layer reaches a token through its account (privacy.core.access.scope_queryset).
    access_account_path = "user"

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    def is_usable(self, now: datetime | None = None) -> bool:
        return self.revoked_at is None and not self.is_expired(now)
