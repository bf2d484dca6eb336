"""What every benchmark shares: its own database, Django set-up, bulk loading, timing, tables.

A benchmark never touches the developer's database. It reads ``DATABASE_URL`` only to find the
server, creates a fresh ``marketbase_bench`` database there, migrates it with
``config.settings.test`` and drops it at the end (unless ``--keep``). Under
``python -m config.stack exec --`` the server is the embedded one.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
if str(BASE_DIR) not in sys.path:
    sys.path.insert(0, str(BASE_DIR))

from generate import SIZES, Person, people  # noqa: E402  (a sibling module of the scripts)

BENCH_DATABASE = "marketbase_bench"
QUEUED_TASKS: collections.Counter = collections.Counter()


def arguments(description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--size", choices=SIZES, default="S", help="S=2k, M=100k, L=1M rows")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", action="store_true", help=f"keep the {BENCH_DATABASE} database")
    if extra:
        extra(parser)
    return parser.parse_args()


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- The bench database ---------------------------------------------------------------------------
def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _admin_connection(url: str):
    import psycopg

    return psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True)


@contextlib.contextmanager
def bench_database(*, keep: bool = False) -> Iterator[str]:
    """Create ``marketbase_bench`` on DATABASE_URL's server, set Django up on it, migrate."""
    server_url = os.environ.get("DATABASE_URL")
    if not server_url:
        sys.exit(
            "Set DATABASE_URL to a PostgreSQL server (its database is left alone), e.g.\n"
            "  DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python bench/... or run\n"
            "  python -m config.stack exec -- python bench/... for the embedded server."
        )
    if urlsplit(server_url).path.strip("/") == BENCH_DATABASE:
        sys.exit(f"DATABASE_URL must name another database than {BENCH_DATABASE}.")
    with _admin_connection(server_url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{BENCH_DATABASE}"')
    media = tempfile.mkdtemp(prefix="marketbase-bench-media-")
    os.environ.update(
        {
            "DATABASE_URL": _with_database(server_url, BENCH_DATABASE),
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "TEST_MEDIA_ROOT": media,
            # The throttle still runs on every request; only its limit is out of the way.
            "API_READ_RATE": "100000000/minute",
            "API_WRITE_RATE": "100000000/minute",
            "LOG_LEVEL": "WARNING",
        }
    )
    # No worker is involved: the benchmarks call the task's function themselves.
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    try:
        import django

        django.setup()
        from celery.app.task import Task
        from django.core.management import call_command

        # Nothing leaves this process for a broker (under config.stack that is the developer's
        # Redis, whose worker would run the task against the developer's database): tasks the
        # product queues (follow-up enrichment after an import...) are only noted.
        def note_task(task, args=None, kwargs=None, **options):
            QUEUED_TASKS[task.name] += 1

        patcher = mock.patch.object(Task, "apply_async", note_task)
        patcher.start()

        say(f"migrating a fresh {BENCH_DATABASE} database")
        call_command("migrate", verbosity=0, interactive=False)
        yield os.environ["DATABASE_URL"]
    finally:
        mock.patch.stopall()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        shutil.rmtree(media, ignore_errors=True)
        if keep:
            say(f"kept database {BENCH_DATABASE}")
        else:
            with _admin_connection(server_url) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
            say(f"dropped database {BENCH_DATABASE}")


def machine_summary() -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
        cursor.execute("SHOW shared_buffers")
        shared_buffers = cursor.fetchone()[0]
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kilobytes = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        memory = f"{kilobytes / 1024 / 1024:.1f} GiB RAM"
    host = os.environ["DATABASE_URL"].split("@")[-1]
    return [
        f"{os.cpu_count()} CPUs, {memory}, Python {platform.python_version()}",
        f"PostgreSQL {version} at {host} (shared_buffers {shared_buffers})",
        f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
    ]


# --- Timing ------------------------------------------------------------------------------------
@dataclass
class Timing:
    wall: float
    cpu: float  # this process only; PostgreSQL's own work is not in it


@contextlib.contextmanager
def timed() -> Iterator[Timing]:
    result = Timing(0.0, 0.0)
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield result
    finally:
        result.wall = time.perf_counter() - wall
        result.cpu = time.process_time() - cpu


def median(values: Iterable[float]) -> float:
    return statistics.median(list(values))


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    line = "+".join("-" * (width + 2) for width in widths)
    print(f"\n{title}")
    print(f"+{line}+")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print(f"+{line}+")
    for row in rows:
        cells = [
            str(c).rjust(w) if i else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("| " + " | ".join(cells) + " |")
    print(f"+{line}+", flush=True)


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


# --- Accounts ------------------------------------------------------------------------------------
@dataclass
class Accounts:
    team_a: object
    team_b: object
    marketer: object
    superuser: object
    marketer_token: str
    superuser_token: str


def accounts() -> Accounts:
    """Teams A and B, a Marketer in team A and a superuser, each with an API token."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from privacy.core import roles
    from privacy.core.services.accounts import api_token_create
    from privacy.core.services.staff import team_create

    roles.roles_sync()
    team_a, team_b = team_create(name="Bench team A"), team_create(name="Bench team B")
    users = get_user_model().objects
    marketer = users.create_user("bench-marketer", is_staff=True)
    marketer.groups.add(Group.objects.get(name=roles.MARKETER), team_a.group)
    superuser = users.create_superuser("bench-admin", email="")
    return Accounts(
        team_a=team_a,
        team_b=team_b,
        marketer=marketer,
        superuser=superuser,
        marketer_token=api_token_create(actor=None, user=marketer, name="Bench")[1],
        superuser_token=api_token_create(actor=None, user=superuser, name="Bench")[1],
    )


# --- Fast loading of already-stored customers --------------------------------------------------
_SPLIT_GENDER = {"f": "female", "F": "female", "m": "male", "M": "male"}


def _customer_values(person: Person) -> dict[str, object]:
    """The stored (normalised) form of a generated person."""
    email = person.email
    return {
        "email": email,
        "phone": person.phone,
        "given_name": person.given,
        "family_name": person.family,
        "email_domain": email.rsplit("@", 1)[-1] if email else "",
        "country": person.country,
        "city": person.city,
        "birth_date": person.birth_date,
        "gender": _SPLIT_GENDER.get(person.gender, person.gender),
        "company": person.company,
        "industry": person.industry,
        "source_channel": "crm",
        "signup_date": person.signup_date,
        "tags": [tag for tag in person.tags.split(";") if tag],
        "notes": person.notes,
    }


def bulk_load_customers(
    *, teams: list, start: int, count: int, seed: int, batch: int = 20_000
) -> int:
    """Store ``count`` customers (people ``start..``, not in any benchmark file) with their
    email, phone and CRM-id identities, the way the product stores them (encrypted values,
    keyed blind indexes, name index), with COPY. Customer ``i`` belongs to ``teams[i % n]``.
    Returns how many identities were written."""
    from django.db import connection
    from django.db.models import JSONField
    from django.utils import timezone
    from psycopg.types.json import Jsonb

    from customers.models import Customer, Identity, IdentityKind
    from privacy.core.crypto import blind_index, encrypt, name_index
    from privacy.core.fields import EncryptedTextField

    now = timezone.now()
    customer_fields = [f for f in Customer._meta.concrete_fields if f.column != "merged_into_id"]
    columns = ", ".join(f'"{f.column}"' for f in customer_fields)
    identity_columns = (
        "owner_team_id, customer_id, kind, channel, lookup_key, value, source, created_at"
    )
    value_context = Identity._meta.get_field("value").encryption_context
    with connection.cursor() as django_cursor:
        django_cursor.execute("SELECT COALESCE(MAX(id), 0) FROM customers_customer")
        next_id = django_cursor.fetchone()[0] + 1
    identities = 0
    source = people(seed, start, count)
    with connection.cursor() as django_cursor:
        cursor = django_cursor.cursor
        while True:
            chunk = [person for _n, person in zip(range(batch), source, strict=False)]
            if not chunk:
                break
            customer_rows, identity_rows = [], []
            for person in chunk:
                team = teams[person.index % len(teams)]
                values = _customer_values(person)
                values.update(
                    id=next_id,
                    owner_team=team.pk,
                    name_index=name_index(person.given, person.family),
                    created_at=now,
                    updated_at=now,
                )
                row = []
                for field in customer_fields:
                    value = values.get(field.name, values.get(field.attname))
                    if value is None and field.name not in values:
                        value = field.get_default()
                    if isinstance(field, EncryptedTextField):
                        value = encrypt(value, context=field.encryption_context) if value else None
                    elif isinstance(field, JSONField):
                        value = Jsonb(value)
                    row.append(value)
                customer_rows.append(row)
                keys = [(IdentityKind.EXTERNAL, "crm", person.external_id("crm"), None)]
                if person.email:
                    keys.append((IdentityKind.EMAIL, "", person.email, person.email))
                if person.phone:
                    keys.append((IdentityKind.PHONE, "", person.phone, person.phone))
                for kind, channel, key, value in keys:
                    identity_rows.append(
                        (
                            team.pk,
                            next_id,
                            kind,
                            channel,
                            key
                            if kind == IdentityKind.EXTERNAL
                            else blind_index(key, purpose=kind),
                            encrypt(value, context=value_context) if value else None,
                            "crm",
                            now,
                        )
                    )
                next_id += 1
            with cursor.copy(f"COPY customers_customer ({columns}) FROM STDIN") as copy:
                for row in customer_rows:
                    copy.write_row(row)
            with cursor.copy(f"COPY customers_identity ({identity_columns}) FROM STDIN") as copy:
                for row in identity_rows:
                    copy.write_row(row)
            identities += len(identity_rows)
        django_cursor.execute(
            "SELECT setval(pg_get_serial_sequence('customers_customer', 'id'), %s)", [next_id]
        )
    return identities


def vacuum_analyze(*tables: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"VACUUM ANALYZE {table}")
