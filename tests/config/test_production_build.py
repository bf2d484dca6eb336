"""What the Procfile runs (release, web, worker, beat) works under production settings.

The release step migrates the test database and collects the static files, with the manifest
storage, into a temporary folder; gunicorn serves pages and hashed static files from it; a Celery
worker runs a task and beat reads its schedule. Every process gets the required variables with
test values and points at the test database and the suite's broker.

Slow-ish: collectstatic compresses every static file, and each process boots Django.
"""

import contextlib
import json
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection

from privacy.core.tasks import sessions_purge_expired_task
from tests.production import PROJECT_ROOT, production_environment, python_run
from tests.workers import WorkerProcess, database_url

pytestmark = pytest.mark.production

HOST = "marketbase.example.com"
START_SECONDS = 90
REQUEST_SECONDS = 30
LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(?P<port>\d+)")


def procfile() -> dict[str, str]:
    """The Procfile's commands by process type."""
    lines = (PROJECT_ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip())


@contextlib.contextmanager
def running(
    command: list[str], environment: dict[str, str], log_path: Path
) -> Iterator[WorkerProcess]:
    """Run ``command`` with its output in ``log_path``; stop it on the way out."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
        )
    started = WorkerProcess(process=process, log_path=log_path)
    try:
        yield started
    finally:
        started.stop()


def log_wait(started: WorkerProcess, pattern: str | re.Pattern) -> re.Match:
    """The first match of ``pattern`` in the process's output, once it is there."""
    deadline = time.monotonic() + START_SECONDS
    while (match := re.search(pattern, started.output())) is None:
        assert started.process.poll() is None, (
            f"exited with {started.process.returncode}:\n{started.output()}"
        )
        assert time.monotonic() < deadline, (
            f"no {pattern!r} after {START_SECONDS} s:\n{started.output()}"
        )
        time.sleep(0.2)
    return match


@pytest.fixture(scope="module")
def environment(django_db_setup, tmp_path_factory) -> dict[str, str]:
    """Production settings against the test database and broker, static files in a temporary
    folder."""
    return production_environment(
        DATABASE_URL=database_url(connection.settings_dict),
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        ALLOWED_HOSTS=HOST,
        STATIC_ROOT=str(tmp_path_factory.mktemp("staticfiles")),
        PYTHONUNBUFFERED="1",
    )


@pytest.fixture(scope="module")
def release(environment) -> tuple[subprocess.CompletedProcess, subprocess.CompletedProcess]:
    """The Procfile's release step, one command after the other: migrate, collectstatic."""
    migrate = python_run(environment, "manage.py", "migrate", "--no-input")
    collectstatic = python_run(environment, "manage.py", "collectstatic", "--no-input")
    return migrate, collectstatic


@pytest.fixture(scope="module")
def manifest(environment, release) -> dict[str, str]:
    """The hashed name of every collected static file, by its name."""
    _migrate, collectstatic = release
    assert collectstatic.returncode == 0, collectstatic.stdout + collectstatic.stderr
    return json.loads((Path(environment["STATIC_ROOT"]) / "staticfiles.json").read_text())["paths"]


@dataclass
class Web:
    url: str
    server: WorkerProcess

    def get(self, path: str, *, behind_https_proxy: bool = True) -> requests.Response:
        """GET ``path`` with the allowed host, as the HTTPS proxy forwards it (or plain HTTP)."""
        headers = {"Host": HOST}
        if behind_https_proxy:
            headers["X-Forwarded-Proto"] = "https"
        try:
            return requests.get(
                self.url + path, headers=headers, allow_redirects=False, timeout=REQUEST_SECONDS
            )
        except requests.RequestException as error:
            pytest.fail(f"GET {path}: {error}\n{self.server.output()}")


@pytest.fixture(scope="module")
def web(environment, manifest, tmp_path_factory) -> Iterator[Web]:
    """gunicorn as the Procfile starts it, with one worker, on a free local port."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        "127.0.0.1:0",
        "--workers",
        "1",
        "--access-logfile",
        "-",
    ]
    folder = tmp_path_factory.mktemp("web")
    # Its control socket goes there too, not into the shared home folder.
    environment = {**environment, "XDG_RUNTIME_DIR": str(folder)}
    with running(command, environment, folder / "gunicorn.log") as server:
        port = log_wait(server, LISTENING)["port"]
        yield Web(url=f"http://127.0.0.1:{port}", server=server)


def test_procfile_runs_what_these_tests_start():
    # Given the Procfile
    commands = procfile()

    # Then it runs exactly the processes the tests below start, with the same commands
    assert commands.keys() == {"release", "web", "worker", "beat"}
    assert commands["release"] == (
        "python manage.py migrate --no-input && python manage.py collectstatic --no-input"
    )
    assert commands["web"].startswith("gunicorn config.wsgi:application ")
    assert commands["worker"].startswith("celery -A config worker ")
    assert commands["beat"].startswith("celery -A config beat ")


def test_release_step_migrates_and_collects_static_files(release, manifest):
    # Given the test database, already migrated by the suite
    # When the release step runs under production settings
    migrate, _collectstatic = release

    # Then migrate has nothing to apply, and collectstatic (it succeeded, or the manifest fixture
    # says why not) hashed our files, the vendored ones, the API docs' and the admin's
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    assert "No migrations to apply." in migrate.stdout
    assert {
        "css/marketbase.css",
        "vendor/chartjs/chart.umd.min.js",
        "vendor/htmx/htmx.min.js",
        "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
        "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js",
        "admin/css/base.css",
    } <= manifest.keys()


@pytest.mark.parametrize(
    ("path", "stylesheet"),
    [
        ("/accounts/login/", "css/marketbase.css"),
        ("/accounts/login/?next=%2Fadmin%2F", "css/marketbase.css"),
        ("/api/docs/", "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css"),
    ],
    ids=["sign-in", "admin-sign-in", "api-docs"],
)
def test_web_serves_pages_behind_the_https_proxy(web, manifest, path, stylesheet):
    # Given gunicorn under production settings, behind a proxy that terminates HTTPS
    # When a browser asks for a page
    response = web.get(path)

    # Then the page answers, with HSTS, and links its stylesheet by the hashed name
    assert response.status_code == 200, web.server.output()
    assert response.headers["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )
    assert f'href="/static/{manifest[stylesheet]}"' in response.text


def test_web_sends_the_admin_to_the_staff_sign_in(web):
    # Given gunicorn under production settings
    # When a browser asks for the admin's sign-in without being signed in
    response = web.get("/admin/login/")

    # Then the staff sign-in (password and TOTP) signs in to the admin too
    assert response.status_code == 302, web.server.output()
    assert response.headers["Location"] == "/accounts/login/?next=%2Fadmin%2Flogin%2F"


def test_web_serves_hashed_static_files_cacheable_for_ten_years(web, manifest):
    # Given a vendored script collected under its hashed name
    hashed = manifest["vendor/chartjs/chart.umd.min.js"]
    assert hashed != "vendor/chartjs/chart.umd.min.js"

    # When a browser asks for it
    response = web.get(f"/static/{hashed}")

    # Then it gets the committed file, cacheable for ten years
    assert response.status_code == 200, web.server.output()
    assert response.headers["Cache-Control"] == "max-age=315360000, public, immutable"
    committed = PROJECT_ROOT / "static" / "vendor" / "chartjs" / "chart.umd.min.js"
    assert response.content == committed.read_bytes()


def test_web_redirects_plain_http_to_https(web):
    # Given gunicorn under production settings
    # When a request arrives without the proxy's HTTPS header
    response = web.get("/accounts/login/", behind_https_proxy=False)

    # Then it is sent to the same address over HTTPS
    assert response.status_code == 301, web.server.output()
    assert response.headers["Location"] == f"https://{HOST}/accounts/login/"


def test_web_access_log_names_paths_without_their_query_strings(web):
    # Given gunicorn as the Procfile starts it, from the project's folder (gunicorn.conf.py)
    # When a client sends a search in the address, and a referrer holding another
    marker = uuid.uuid4().hex
    requests.get(
        f"{web.url}/accounts/login/?email=ann.{marker}%40example.com",
        headers={"Host": HOST, "Referer": f"https://example.org/?phone={marker}"},
        allow_redirects=False,
        timeout=REQUEST_SECONDS,
    )

    # Then the access log has a line for the path, and neither query string
    line = log_wait(web.server, r'"GET /accounts/login/ HTTP/1\.1" \d{3}').group(0)
    assert line
    assert marker not in web.server.output()


@pytest.mark.worker
def test_worker_runs_a_task_under_production_settings(celery_worker_process, environment):
    # Given a task waiting in a private queue
    queue = f"test-production-{uuid.uuid4().hex}"
    sessions_purge_expired_task.apply_async(queue=queue)

    # When a worker starts under production settings
    worker = celery_worker_process(queue, **environment)

    # Then it gets ready and runs the task
    log_wait(worker, r"celery@\S+ ready\.")
    log_wait(worker, r"Task privacy\.sessions_purge_expired_task\[[0-9a-f-]+\] succeeded")


def test_beat_reads_its_schedule_under_production_settings(transactional_db, environment, tmp_path):
    # Given the test database with its schedules
    # When beat starts under production settings, as the Procfile starts it but logging more
    command = [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "debug"]
    with running(command, {**environment, "LOG_LEVEL": "DEBUG"}, tmp_path / "beat.log") as beat:
        # Then it starts and its scheduler reads the schedule from the database
        log_wait(beat, r"beat: Starting\.\.\.")
        log_wait(beat, r"DatabaseScheduler: Fetching database schedule")
        log_wait(beat, r"beat: Waking up in")
