"""The access package of a request: built by a Celery job, downloaded while its link lasts."""

from __future__ import annotations

import datetime
import tempfile
import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from privacy.models import (
    DataSubjectRequest,
    RequestOutcome,
    RequestStatus,
)
from privacy.requests.services.directory import subject_directory
from privacy.requests.services.lifecycle import (
    DEFAULT_PACKAGE_DAYS,
    RequestError,
    request_audit,
    request_complete,
    request_locked,
)

# --- The access package -------------------------------------------------------------------------


def _package_days() -> int:
    return int(getattr(settings, "PRIVACY_PACKAGE_DAYS", DEFAULT_PACKAGE_DAYS))


def request_package_build(*, request_id: int) -> DataSubjectRequest | None:
    """Build the ZIP of everything held about the request's customers (the Celery job's work).

    Idempotent: a request that is not waiting for its package is left as it is, and a run
    that dies before the end leaves the request in ``processing`` for the next delivery.
    """
    from privacy.requests.package.writer import subject_package_write

    request = DataSubjectRequest.objects.filter(pk=request_id).first()
    if request is None or request.status != RequestStatus.PROCESSING:
        return request
    team = request.owner_team
    customer_ids = subject_directory().existing(team=team, customer_ids=request.customer_ids)
    with tempfile.TemporaryFile() as scratch:
        # Not wrapped in a transaction here: the package opens its own REPEATABLE READ one, so
        # every category is read from the same snapshot.
        summary = subject_package_write(
            team=team,
            customer_ids=customer_ids,
            fileobj=scratch,
            request_reference=f"request-{request.pk}",
        )
        size = scratch.tell()
        scratch.seek(0)
        name = default_storage.save(f"privacy/packages/{uuid.uuid4().hex}.zip", File(scratch))
    with transaction.atomic():
        request = request_locked(request)
        if request.status != RequestStatus.PROCESSING:
            default_storage.delete(name)
            return request
        if subject_directory().existing(team=team, customer_ids=request.customer_ids) != (
            customer_ids
        ):
            # Someone was erased (or merged away) while the package was being written: it may
            # hold data that no longer exists. Throw it away and build it again.
            default_storage.delete(name)
            request_audit("request.package_rebuild", request, None)
            from privacy.requests.tasks import request_package_build_task

            transaction.on_commit(lambda: request_package_build_task.delay(request.pk))
            return request
        request.package.name = name
        request.package_size = size
        request.package_expires_at = timezone.now() + datetime.timedelta(days=_package_days())
        counts = dict(getattr(summary, "counts", {}) or {})
        outcome = RequestOutcome.FULFILLED if customer_ids else RequestOutcome.NO_DATA_HELD
        request_complete(
            request,
            outcome=outcome,
            note=request.outcome_note,
            actor=None,
            customer_ids=customer_ids,
            rows=counts,
            bytes=size,
        )
        request_audit("request.package_ready", request, None, bytes=size)
    return request


@transaction.atomic
def request_package_fail(*, request_id: int, error: str) -> DataSubjectRequest | None:
    """The package job gave up: the request goes back to ``verified`` so staff can answer it
    again (or refuse it), with the error's class in the audit log."""
    request = DataSubjectRequest.objects.select_for_update().filter(pk=request_id).first()
    if request is None or request.status != RequestStatus.PROCESSING:
        return request
    request.status = RequestStatus.VERIFIED
    request.progress = 0
    request.save()
    request_audit("request.package_failed", request, None, error=error[:100])
    return request


def request_package_open(*, request: DataSubjectRequest, actor: AbstractBaseUser) -> File:
    """Open the request's package for download, if its link has not expired; audited."""
    if not request.package or request.package_expires_at is None:
        raise RequestError("package", _("This request has no package to download."))
    if request.package_expires_at <= timezone.now():
        request_audit("request.package_download_refused", request, actor, reason="expired")
        raise RequestError("package", _("The download link has expired; build a new package."))
    handle = request.package.open("rb")
    request_audit("request.package_download", request, actor, bytes=request.package_size)
    return handle
