"""A first ``make run``: it says what it is doing, ends its start-up with one block of URLs and
credentials, and keeps the demo credentials in a file only its owner can read."""

import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from config.demo import DEMO_STAFF

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


def test_make_install_says_what_it_does_and_lets_pip_show_its_progress():
    # When make says what `make install` would do from scratch
    result = subprocess.run(
        ["make", "--dry-run", "--always-make", "install"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    lines = result.stdout.splitlines()
    pip = next(index for index, line in enumerate(lines) if " -m pip install " in line)

    # Then it announces the step before pip runs, and pip is not silenced
    assert any("[marketbase] installing" in line for line in lines[:pip]), result.stdout
    assert not re.search(r"\s(--quiet|-q+)(\s|$)", lines[pip]), lines[pip]
    assert "--progress-bar on" in lines[pip]


def test_demo_seed_and_ensure_admin_keep_the_credentials_in_a_file_only_the_owner_reads(
    db, tmp_path
):
    # Given a credentials file left from an earlier database, readable by everybody
    credentials = tmp_path / ".data" / "credentials.txt"
    credentials.parent.mkdir()
    credentials.write_text("[demo staff]\n  steward            an-old-password\n")
    credentials.chmod(0o644)

    # When the demo staff and the administrator are created with the file named
    call_command("seed_demo", customers=0, credentials_file=credentials)
    call_command("ensure_admin", credentials_file=credentials)

    # Then the file is readable and writable by its owner only
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    # And every account it names signs in with the password it gives
    text = credentials.read_text()
    assert "an-old-password" not in text
    rows = dict(re.findall(r"^  (\S+)\s+(\S+)$", text, re.MULTILINE))
    assert set(rows) == {"admin", *(username for username, *_rest in DEMO_STAFF)}
    for username, password in rows.items():
        assert get_user_model().objects.get(username=username).check_password(password), username
    assert re.search(r"^  TOTP secret\s+[A-Z2-7]{16,}$", text, re.MULTILINE)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def fresh_database():
    """A new, empty database on the test server, dropped afterwards."""
    url = urlsplit(os.environ["DATABASE_URL"])
    name = f"mb_first_run_{uuid.uuid4().hex[:10]}"
    server = urlunsplit(url._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(url._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.worker
def test_make_run_ends_its_start_up_with_one_block_of_urls_and_credentials(
    fresh_database, tmp_path
):
    # Given an empty database and an empty data directory
    data_dir = tmp_path / "data"
    port = _free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": fresh_database,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "MARKETBASE_DATA_DIR": str(data_dir),
    }
    # When the stack is served for the first time
    serve = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "config.stack",
            "serve",
            "--port",
            str(port),
            "--demo-customers",
            "3",
        ],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []

    def collect():
        for line in serve.stdout:
            lines.append(line.rstrip("\n"))

    reader = threading.Thread(target=collect, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and serve.poll() is None:
            if sum(line.startswith("[marketbase] ----") for line in lines) >= 2:
                break
            time.sleep(0.5)
        output = "\n".join(lines)
        rules = [index for index, line in enumerate(lines) if line.startswith("[marketbase] ----")]
        assert len(rules) == 2, output
        block = lines[rules[0] : rules[1] + 1]

        # Then it said what it was doing, step by step, before the block
        before = "\n".join(lines[: rules[0]])
        for step in ("migrating the database", "loading the demo data", "starting web"):
            assert f"[marketbase] {step}" in before, output
        # And the block comes after the worker's banner, and the web server answers by then
        assert any(re.search(r"worker \| .* ready\.", line) for line in lines[: rules[0]]), output
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        # And it names the addresses and every demo account with its password
        text = "\n".join(block)
        base = f"http://127.0.0.1:{port}"
        for address in (f"{base}/", f"{base}/admin/", f"{base}/api/docs/"):
            assert address in text, text
        credentials = data_dir / "credentials.txt"
        assert str(credentials) in text
        for username in ["admin", *(username for username, *_rest in DEMO_STAFF)]:
            assert re.search(rf"^\[marketbase\]   {re.escape(username)}\s+\S+$", text, re.M), text
        # And the same credentials stay in the file, readable only by its owner
        assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
        for line in credentials.read_text().splitlines()[1:]:
            if line.strip():
                assert f"[marketbase] {line}" in block, (line, text)
    finally:
        if serve.poll() is None:
            os.kill(serve.pid, signal.SIGTERM)
        serve.wait(timeout=60)
        reader.join(timeout=5)
    assert serve.returncode == 0, "\n".join(lines[-30:])
