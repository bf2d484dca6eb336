"""Writes of privacy notices: publishing a version in a language."""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from privacy.consent.services.records import ConsentError, User
from privacy.core.services.audit import audit_record
from privacy.models import (
    PrivacyNotice,
)

# --- Privacy notices ----------------------------------------------------------------------------

_LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")


@transaction.atomic
def notice_publish(*, version: str, language: str, text: str, actor: User | None) -> PrivacyNotice:
    """Publish a privacy-notice version with the SHA-256 of its text.

    Publishing the same version and language again with the same text returns the published
    notice; with another text it is refused (``ConsentError`` on ``version``): a version shown
    to people never changes, a new text needs a new version.
    """
    version, language = version.strip(), language.strip().lower()
    if not version:
        raise ConsentError("version", _("A version is required."))
    if not _LANGUAGE_CODE.match(language):
        raise ConsentError("language", _("Use a language code such as “en” or “zh-hans”."))
    if not text.strip():
        raise ConsentError("text", _("The notice needs its text."))
    digest = PrivacyNotice.hash_text(text)
    published = PrivacyNotice.objects.filter(version=version, language=language).first()
    if published is None:
        try:
            with transaction.atomic():
                notice = PrivacyNotice.objects.create(
                    version=version,
                    language=language,
                    text=text,
                    text_sha256=digest,
                    published_at=timezone.now(),
                )
        except IntegrityError:
            # Published by someone else a moment ago; compare with theirs below.
            published = PrivacyNotice.objects.get(version=version, language=language)
        else:
            audit_record(
                action="privacy_notice.publish",
                actor=actor,
                target=notice,
                metadata={"version": version, "language": language, "sha256": digest},
            )
            return notice
    if published.text_sha256 != digest:
        raise ConsentError(
            "version",
            _(
                "Version %(version)s (%(language)s) is published and cannot change; publish a new "
                "version."
            )
            % {"version": version, "language": language},
        )
    return published
