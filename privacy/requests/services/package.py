"""The access package of a request: built by a Celery job, downloaded while its link lasts."""

from __future__ import annotations

import datetime
import tempfile
import uuid
from typing import BinaryIO

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from privacy.core.sealed_files import CHUNK_BYTES, sealed_open, sealed_save
from privacy.core.subjects import subject_directory
from privacy.models import (
    DataSubjectRequest,
    RequestOutcome,
    RequestStatus,
)
from privacy.requests.services.lifecycle import (
    DEFAULT_PACKAGE_DAYS,
    RequestError,
    request_audit,
    request_carry_out,
    request_locked,
)

# --- The access package -------------------------------------------------------------------------


def _package_days() -> int:
    return int(getattr(settings, "PRIVACY_PACKAGE_DAYS", DEFAULT_PACKAGE_DAYS))


def request_package_build(*, request_id: int) -> DataSubjectRequest | None:
    """Build the ZIP of everything held about the request's customers (the Celery job's work).

    Idempotent: a request that is not waiting for its package is left as it is, and a run
    that dies before the end leaves the request in ``processing`` for the next delivery. A built
    package leaves the request ``package_ready``: staff send it and record the answer.
    """
    from privacy.requests.package.writer import subject_package_write

    subject_request = DataSubjectRequest.objects.filter(pk=request_id).first()
    if subject_request is None or subject_request.status != RequestStatus.PROCESSING:
        return subject_request
    team = subject_request.owner_team
    customer_ids = subject_directory().existing(
        team=team, customer_ids=subject_request.customer_ids
    )
    with tempfile.TemporaryFile() as scratch:
        # Not wrapped in a transaction here: the package opens its own REPEATABLE READ one, so
        # every category is read from the same snapshot.
        summary = subject_package_write(
            team=team,
            customer_ids=customer_ids,
            fileobj=scratch,
            request_reference=f"request-{subject_request.pk}",
        )
        size = scratch.tell()
        scratch.seek(0)
        # Sealed with the field keys: the package is the person's data, never plain on disk.
        name = sealed_save(
            default_storage,
            f"privacy/packages/{uuid.uuid4().hex}.zip",
            iter(lambda: scratch.read(CHUNK_BYTES), b""),
        )
    with transaction.atomic():
        subject_request = request_locked(subject_request)
        if subject_request.status != RequestStatus.PROCESSING:
            default_storage.delete(name)
            return subject_request
        if subject_directory().existing(team=team, customer_ids=subject_request.customer_ids) != (
            customer_ids
        ):
            # Someone was erased (or merged away) while the package was being written: it may
            # hold data that no longer exists. Throw it away and build it again.
            default_storage.delete(name)
            request_audit("request.package_rebuild", subject_request, None)
            from privacy.requests.tasks import request_package_build_task

            transaction.on_commit(lambda: request_package_build_task.delay(subject_request.pk))
            return subject_request
        subject_request.package.name = name
        subject_request.package_size = size
        subject_request.package_expires_at = timezone.now() + datetime.timedelta(
            days=_package_days()
        )
        counts = dict(getattr(summary, "counts", {}) or {})
        outcome = RequestOutcome.FULFILLED if customer_ids else RequestOutcome.NO_DATA_HELD
        # Ready is not answered: the request stays open until staff record sending it.
        request_carry_out(
            subject_request,
            outcome=outcome,
            note=subject_request.outcome_note,
            actor=None,
            status=RequestStatus.PACKAGE_READY,
            audit_action="request.package_ready",
            customer_ids=customer_ids,
            rows=counts,
            bytes=size,
        )
    return subject_request


@transaction.atomic
def request_package_fail(*, request_id: int, error: str) -> DataSubjectRequest | None:
    """The package job gave up: the request goes back to ``verified`` so staff can answer it
    again (or refuse it), with the error's class in the audit log."""
    subject_request = DataSubjectRequest.objects.select_for_update().filter(pk=request_id).first()
    if subject_request is None or subject_request.status != RequestStatus.PROCESSING:
        return subject_request
    subject_request.status = RequestStatus.VERIFIED
    subject_request.progress = 0
    subject_request.save()
    request_audit("request.package_failed", subject_request, None, error=error[:100])
    return subject_request


def request_package_open(
    *, subject_request: DataSubjectRequest, actor: AbstractBaseUser
) -> BinaryIO:
    """Open the request's package for download (its plaintext), if its link has not expired;
    audited."""
    if not subject_request.package or subject_request.package_expires_at is None:
        raise RequestError("package", _("This request has no package to download."))
    if subject_request.package_expires_at <= timezone.now():
        request_audit("request.package_download_refused", subject_request, actor, reason="expired")
        raise RequestError("package", _("The download link has expired; build a new package."))
    handle = sealed_open(subject_request.package.storage, subject_request.package.name)
    request_audit(
        "request.package_download", subject_request, actor, bytes=subject_request.package_size
    )
    return handle
