"""A real Celery worker process takes a task from the real broker and writes to the test DB."""

import time
import uuid
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from privacy.core.tasks import sessions_purge_expired_task
from privacy.models import AuditEntry

pytestmark = pytest.mark.worker

WAIT_SECONDS = 60


def test_worker_purges_expired_sessions_from_the_broker_queue(celery_worker_process):
    # Given an expired session and a live one, committed where another process can see them
    now = timezone.now()
    expired = Session.objects.create(
        session_key=f"expired{uuid.uuid4().hex}",
        session_data="",
        expire_date=now - timedelta(days=1),
    )
    live = Session.objects.create(
        session_key=f"live{uuid.uuid4().hex}", session_data="", expire_date=now + timedelta(days=1)
    )
    queue = f"test-worker-{uuid.uuid4().hex}"

    # When the purge task goes to a private queue and a real worker consumes it
    sessions_purge_expired_task.apply_async(queue=queue)
    worker = celery_worker_process(queue)
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        audited = AuditEntry.objects.filter(action="sessions.purge_expired")
        # The purge deletes, then audits: wait until both are visible.
        while Session.objects.filter(pk=expired.pk).exists() or not audited.exists():
            assert worker.process.poll() is None, (
                f"worker exited with {worker.process.returncode}:\n{worker.output()}"
            )
            assert time.monotonic() < deadline, (
                f"purge not visible after {WAIT_SECONDS} s; worker output:\n{worker.output()}"
            )
            time.sleep(0.2)

        # Then only the expired session is gone, and the purge is audited with its count
        assert list(Session.objects.values_list("pk", flat=True)) == [live.pk], worker.output()
        assert list(audited.values_list("metadata", flat=True)) == [{"count": 1}], worker.output()
    finally:
        worker.stop()
