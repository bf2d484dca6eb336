"""A real Celery worker process for tests: started against the test database, stopped after."""

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from config.celery import app

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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

    def stop(self) -> None:
        stop(self.process)

    def kill(self) -> None:
        """Die like a machine that lost power: no warm shutdown, no acknowledgement."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=15)


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
    """``celery_worker_process(queue, **env)`` starts a solo worker on ``queue`` against the
    test database; keyword arguments are extra environment variables for it."""
    started: list[tuple[WorkerProcess, str]] = []
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "DATABASE_URL": database_url(connection.settings_dict),
        "PYTHONUNBUFFERED": "1",
    }

    def start(queue: str, **extra_environment: str) -> WorkerProcess:
        log_path = tmp_path / f"worker-{queue}-{len(started)}.log"
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
                env={**environment, **extra_environment},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        worker = WorkerProcess(process=process, log_path=log_path)
        started.append((worker, queue))
        return worker

    yield start

    for worker, _queue in started:
        stop(worker.process)
    for queue in {queue for _worker, queue in started}:
        # Leave nothing of the private queue behind on the shared broker: the channel deletes
        # only the bindings it knows, so declare the queue on it first.
        with app.connection_for_write() as broker:
            declared = app.amqp.queues[queue].bind(broker.default_channel)
            declared.declare()
            declared.delete()
