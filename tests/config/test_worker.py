"""A real Celery worker process takes a task from the real broker and writes to the test DB."""

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from config.celery import app
from privacy.models import AuditEntry
from privacy.tasks import sessions_purge_expired_task

pytestmark = pytest.mark.worker

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
WAIT_SECONDS = 60


def database_url(settings_dict: dict) -> str:
    """A ``DATABASE_URL`` for the database these connection settings point at."""
    user = quote(settings_dict["USER"] or "", safe="")
    name = quote(settings_dict["NAME"], safe="")
    host = settings_dict["HOST"] or ""
    socket_dir = host if host.startswith("/") else ""
    if not host:
        socket_dir = settings_dict.get("OPTIONS", {}).get("host", "")
    if socket_dir:
        return f"postgres://{user}@/{name}?host={quote(socket_dir, safe='')}"
    credentials = user
    if settings_dict["PASSWORD"]:
        credentials += ":" + quote(settings_dict["PASSWORD"], safe="")
    port = f":{settings_dict['PORT']}" if settings_dict["PORT"] else ""
    return f"postgres://{credentials}@{host}{port}/{name}"


@dataclass
class WorkerProcess:
    process: subprocess.Popen
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


def stop(process: subprocess.Popen) -> None:
    """Warm shutdown first; kill the worker if it does not stop in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    """``celery_worker_process(queue)`` starts a solo worker on ``queue`` against the test DB."""
    started: list[tuple[WorkerProcess, str]] = []
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(connection.settings_dict),
        "PYTHONUNBUFFERED": "1",
    }

    def start(queue: str) -> WorkerProcess:
        log_path = tmp_path / f"worker-{queue}.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "--pool",
                    "solo",
                    "--concurrency",
                    "1",
                    "-Q",
                    queue,
                    "--loglevel",
                    "info",
                    "--without-heartbeat",
                    "--without-gossip",
                    "--without-mingle",
                ],
                cwd=PROJECT_ROOT,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        worker = WorkerProcess(process=process, log_path=log_path)
        started.append((worker, queue))
        return worker

    yield start

    for worker, queue in started:
        try:
            stop(worker.process)
        finally:
            # Leave nothing of the private queue behind on the shared broker: the channel
            # deletes only the bindings it knows, so declare the queue on it first.
            with app.connection_for_write() as broker:
                declared = app.amqp.queues[queue].bind(broker.default_channel)
                declared.declare()
                declared.delete()


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
        stop(worker.process)
