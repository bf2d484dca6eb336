"""Customer CSV import: ours vs raw COPY, vs a naive per-row ORM loop, empty vs populated table.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python \\
        bench/bench_import.py --size M
    .venv/bin/python -m config.stack exec -- .venv/bin/python bench/bench_import.py --size S

Measured in one run, on one generated file (see generate.py):

(a) end to end: ``import_job_create`` (store the upload, inspect it) + ``import_job_run``
    in-process (the worker task's function, default chunk size) vs ``COPY`` of the same file
    into an unindexed table of text columns (psycopg 3 ``cursor.copy``). Target >= 0.2x.
(b) the same import of a slice (the first 20,000 rows, or the whole file when smaller) vs a
    naive per-row ORM import of that slice (normalise, one ``Customer.objects.filter`` through
    ``Identity`` per identifier, ``save()`` each customer and identity, autocommit). Target:
    ours >= 10x faster.
(c) the whole file into a team that already holds N customers (N = the file's row count,
    bulk-loaded with COPY as the product stores them) vs into an empty table. Target <= 1.3x.

Each import is checked against the generator's truth (customers, rejected and warning rows).
"""

from __future__ import annotations

import collections
import contextlib
import csv
import functools
import itertools
import re
import time
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import common
from generate import HEADER, SIZES, Truth, dataset

SLICE_ROWS = 20_000
CUSTOMER_TABLES = (
    "customers_customer",
    "customers_identity",
    "customers_importrow",
    "customers_importjob",
    "customers_mergerecord",
)


def reset_customers() -> None:
    """Empty every customer table (and what hangs off them), then refresh planner statistics."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(CUSTOMER_TABLES)} RESTART IDENTITY CASCADE")
    common.vacuum_analyze(*CUSTOMER_TABLES)


def slice_file(source: Path, rows: int) -> Path:
    """The header and the first ``rows`` data rows of ``source``, as a file beside it."""
    target = source.with_name(f"{source.stem}.first{rows}.csv")
    if target.exists():
        return target
    with (
        source.open(encoding="utf-8-sig", newline="") as reader,
        target.open("w", encoding="utf-8-sig", newline="") as writer,
    ):
        out = csv.writer(writer)
        out.writerows(itertools.islice(csv.reader(reader), rows + 1))
    return target


def raw_copy(path: Path) -> float:
    """COPY the file into an unindexed table of text columns; seconds (median of three)."""
    from django.db import connection

    columns = ", ".join(f'"{name}" text' for name in HEADER)
    times = []
    with connection.cursor() as django_cursor:
        django_cursor.execute(f"CREATE TABLE IF NOT EXISTS bench_raw_customers ({columns})")
        cursor = django_cursor.cursor
        for _attempt in range(3):
            django_cursor.execute("TRUNCATE bench_raw_customers")
            with (
                common.timed() as timing,
                cursor.copy(
                    "COPY bench_raw_customers FROM STDIN WITH (FORMAT csv, HEADER true)"
                ) as copy,
                path.open("rb") as handle,
            ):
                handle.read(3)  # the UTF-8 byte-order mark
                while block := handle.read(1 << 20):
                    copy.write(block)
            times.append(timing.wall)
        django_cursor.execute("SELECT count(*) FROM bench_raw_customers")
        copied = django_cursor.fetchone()[0]
        django_cursor.execute("DROP TABLE bench_raw_customers")
    common.say(f"COPY: {copied} rows, {', '.join(f'{t:.2f}s' for t in times)}")
    return common.median(times)


def our_import(path: Path, accounts: common.Accounts, team):
    """The product's import, as the worker runs it: create the job, then run it in-process.

    Returns the timing, the finished job and where its time went (see ``breakdown``)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from customers.services.imports import import_job_create, import_job_run

    content = path.read_bytes()
    with (
        mock.patch("customers.tasks.import_job_run_task.delay") as queued,
        breakdown() as spent,
        common.timed() as timing,
    ):
        job = import_job_create(
            user=accounts.marketer,
            team=team,
            upload=SimpleUploadedFile(path.name, content, content_type="text/csv"),
        )
        job = import_job_run(job_id=job.pk)
    queued.assert_called_once_with(job.pk)
    return timing, job, spent


def check_import(job, truth: Truth | None, label: str, *, existing: int = 0) -> list[str]:
    """Compare the job and the tables with what the file must produce."""
    from customers.models import Customer, ImportStatus

    active = Customer.objects.active().count()
    common.say(
        f"{label}: {job.status}, {job.processed_rows} rows: created {job.created_count}, "
        f"updated {job.updated_count}, merged {job.merged_count}, unchanged "
        f"{job.unchanged_count}, rejected {job.rejected_count}, warnings {job.warning_count}; "
        f"{active} active customers"
    )
    problems = []
    if job.status != ImportStatus.SUCCEEDED:
        problems.append(f"{label}: job ended {job.status}: {job.error}")
    if truth is not None:
        # Guessed birth dates are warned about unless the file proved the column's order.
        guessed = 0 if "birth_date" in job.options.get("date_orders", {}) else 1
        for name, got, want in (
            ("rejected rows", job.rejected_count, truth.rejected_rows),
            (
                "warning rows",
                job.warning_count,
                truth.warning_rows + guessed * truth.ambiguous_date_rows,
            ),
            ("new active customers", active - existing, truth.persons),
        ):
            if got != want:
                problems.append(f"{label}: {name} {got}, expected {want}")
    return problems


def naive_import(path: Path, team) -> tuple[common.Timing, int]:
    """What a first version would do: one row at a time, one query per identifier, save()."""
    from django.utils import timezone

    from customers.models import Customer, Identity, IdentityKind
    from customers.normalisation import normalise_customer_row
    from customers.services.csv_files import apply_mapping, suggest_mapping
    from customers.services.upsert import RECORD_FIELDS
    from privacy.core.crypto import blind_index, name_index

    mapping = suggest_mapping(HEADER)
    today = timezone.localdate()
    rejected = 0
    with common.timed() as timing, path.open(encoding="utf-8-sig", newline="") as handle:
        for values in csv.DictReader(handle):
            raw = apply_mapping(values, mapping)
            source = (raw.get("source") or "import").strip().lower()
            record = normalise_customer_row(raw, today=today)
            if record.rejection:
                rejected += 1
                continue
            keys = [(IdentityKind.EXTERNAL, channel, key) for channel, key in record.external_ids]
            for kind in (IdentityKind.EMAIL, IdentityKind.PHONE):
                if record.fields.get(kind):
                    keys.append((kind, "", blind_index(record.fields[kind], purpose=kind)))
            customer = None
            for kind, channel, key in keys:
                customer = Customer.objects.filter(
                    owner_team=team,
                    merged_into__isnull=True,
                    identities__kind=kind,
                    identities__channel=channel,
                    identities__lookup_key=key,
                ).first()
                if customer is not None:
                    break
            if customer is None:
                customer = Customer(owner_team=team, source_channel=source, provenance={})
            for name in RECORD_FIELDS:
                value = record.fields.get(name)
                if value not in (None, ""):
                    setattr(customer, name, value)
            tags = record.fields.get("tags") or []
            customer.tags = list(dict.fromkeys([*customer.tags, *tags]))
            customer.email_domain = customer.email.rsplit("@", 1)[-1] if customer.email else ""
            customer.name_index = name_index(customer.given_name or "", customer.family_name or "")
            customer.save()
            for kind, channel, key in keys:
                if not Identity.objects.filter(
                    owner_team=team, kind=kind, channel=channel, lookup_key=key
                ).exists():
                    Identity(
                        owner_team=team,
                        customer=customer,
                        kind=kind,
                        channel=channel,
                        lookup_key=key,
                        value=record.fields.get(kind) if kind != IdentityKind.EXTERNAL else None,
                        source=source,
                    ).save()
    return timing, rejected


_SQL_TARGET = re.compile(r'^(SELECT|INSERT INTO|UPDATE|DELETE FROM)\b.*?"(\w+)"', re.DOTALL)


@contextlib.contextmanager
def breakdown() -> Iterator[collections.Counter]:
    """Wall seconds spent in the import's main parts (light wrappers: a few calls per chunk,
    one per row) and in its SQL statements by kind and table, as Django times them (that
    includes psycopg turning the statement into wire format)."""
    import psycopg._queries
    from django.db import connection
    from django.db.models.query import QuerySet
    from django.test.utils import CaptureQueriesContext

    from customers.services import imports, upsert

    spent: collections.Counter = collections.Counter()

    def timed_call(label, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                name = label(args) if callable(label) else label
                spent[name] += time.perf_counter() - start

        return wrapper

    def model_label(verb):
        return lambda args: f"{verb} {args[0].model.__name__}"

    patches = [
        (imports, "_prepare", "read + normalise rows"),
        (imports, "record_fingerprint", "fingerprints"),
        (imports, "_already_imported", "earlier-import check"),
        (imports, "customers_upsert", "customers_upsert (whole)"),
        (imports, "_record_opt_ins", "opt-in consent events"),
        (upsert, "customer_merge", "customer_merge"),
        (QuerySet, "bulk_create", model_label("bulk_create")),
        (QuerySet, "bulk_update", model_label("bulk_update")),
        (psycopg._queries, "_query2pg_client_nocache", "psycopg parses long SQL"),
    ]
    with contextlib.ExitStack() as stack:
        for owner, name, label in patches:
            if hasattr(owner, name):  # parts the product may not have (yet)
                original = getattr(owner, name)
                stack.enter_context(mock.patch.object(owner, name, timed_call(label, original)))
        captured = stack.enter_context(CaptureQueriesContext(connection))
        yield spent
    for query in captured.captured_queries:
        match = _SQL_TARGET.match(query["sql"])
        target = f"{match[1].split()[0]} {match[2]}" if match else query["sql"].split()[0]
        spent[f"SQL {target}"] += float(query["time"])


def where_time_goes(runs: dict[str, tuple[common.Timing, collections.Counter, int]]) -> None:
    """µs per input row of each part, for each import, largest first."""
    names = sorted(
        {name for _timing, spent, _rows in runs.values() for name in spent},
        key=lambda name: (name.startswith("SQL"), -max(s[name] / r for _t, s, r in runs.values())),
    )
    rows = [
        ["whole import (wall)", *[f"{t.wall / r * 1e6:.0f}" for t, _s, r in runs.values()]],
        ["  CPU of this process", *[f"{t.cpu / r * 1e6:.0f}" for t, _s, r in runs.values()]],
    ]
    for name in names:
        if max(s[name] / r for _t, s, r in runs.values()) * 1e6 < 5:
            continue
        rows.append([name, *[f"{s[name] / r * 1e6:.0f}" for _t, s, r in runs.values()]])
    common.print_table(
        "Where the time goes (µs per input row, wall; parts overlap: customers_upsert holds the "
        "bulk writes, bulk writes hold psycopg's parsing; SQL rows are statement times)",
        ["part", *runs],
        rows,
    )


def main() -> int:
    def naive_rows(parser) -> None:
        parser.add_argument(
            "--slice-rows",
            type=int,
            default=SLICE_ROWS,
            help=f"rows for (b), ours and the naive loop (default {SLICE_ROWS:,})",
        )

    options = common.arguments(__doc__.split("\n\n")[0], naive_rows)
    rows = SIZES[options.size]
    common.say(f"size {options.size}: {rows:,} rows (generating the file on first use)")
    path, truth = dataset(rows, options.seed)
    slice_rows = min(options.slice_rows, rows)
    slice_path = path if slice_rows == rows else slice_file(path, slice_rows)
    problems: list[str] = []

    with common.bench_database(keep=options.keep):
        from django.conf import settings

        from customers.models import Customer

        machine = common.machine_summary()
        accounts = common.accounts()
        team = accounts.team_a

        common.say("(a) baseline: COPY into an unindexed text table")
        copy_seconds = raw_copy(path)

        common.say("(a) ours: import into an empty table")
        reset_customers()
        empty_timing, job, empty_spent = our_import(path, accounts, team)
        problems += check_import(job, truth, "ours, empty table")

        common.say(f"(c) bulk-loading {rows:,} existing customers into the same team")
        reset_customers()
        with common.timed() as load_timing:
            identities = common.bulk_load_customers(
                teams=[team], start=truth.people_indexes + 10_000_000, count=rows, seed=99
            )
        common.vacuum_analyze(*CUSTOMER_TABLES)
        common.say(
            f"loaded {rows:,} customers and {identities:,} identities in {load_timing.wall:.1f}s"
        )
        common.say("(c) ours: import into the populated table")
        populated_timing, job, populated_spent = our_import(path, accounts, team)
        problems += check_import(job, truth, "ours, populated table", existing=rows)

        common.say(f"(b) naive per-row ORM import of the first {slice_rows:,} rows")
        reset_customers()
        naive_timing, naive_rejected = naive_import(slice_path, team)
        naive_customers = Customer.objects.active().count()
        common.say(
            f"naive: {naive_customers} customers, {naive_rejected} rejected, "
            f"{naive_timing.wall:.1f}s"
        )
        common.say(f"(b) ours: import of the same {slice_rows:,} rows into an empty table")
        reset_customers()
        slice_timing, job, slice_spent = our_import(slice_path, accounts, team)
        problems += check_import(job, None, "ours, slice")
        slice_customers = Customer.objects.active().count()

    # --- Report -----------------------------------------------------------------------------
    def rate(seconds: float, count: int = rows) -> str:
        return f"{count / seconds:,.0f} rows/s ({seconds:.2f} s)"

    import_rate, copy_rate = rows / empty_timing.wall, rows / copy_seconds
    naive_speedup = naive_timing.wall / slice_timing.wall
    populated_ratio = populated_timing.wall / empty_timing.wall
    print()
    print(f"Import benchmark, size {options.size} ({rows:,} rows, seed {options.seed})")
    for line in machine:
        print(f"  {line}")
    print(f"  IMPORT_CHUNK_SIZE {settings.IMPORT_CHUNK_SIZE}; slice for (b): {slice_rows:,} rows")
    common.print_table(
        "Results",
        ["benchmark", "ours", "baseline", "ratio", "target", "verdict"],
        [
            [
                "(a) import vs raw COPY",
                rate(empty_timing.wall),
                rate(copy_seconds),
                f"{import_rate / copy_rate:.3f}x",
                ">= 0.2x",
                common.verdict(import_rate / copy_rate >= 0.2),
            ],
            [
                "(b) import vs naive ORM loop",
                rate(slice_timing.wall, slice_rows),
                rate(naive_timing.wall, slice_rows),
                f"{naive_speedup:.1f}x faster",
                ">= 10x",
                common.verdict(naive_speedup >= 10),
            ],
            [
                f"(c) into {rows:,} existing vs empty",
                rate(populated_timing.wall),
                rate(empty_timing.wall),
                f"{populated_ratio:.2f}x the time",
                "<= 1.3x",
                common.verdict(populated_ratio <= 1.3),
            ],
        ],
    )
    where_time_goes(
        {
            "empty table": (empty_timing, empty_spent, rows),
            f"{rows:,} existing": (populated_timing, populated_spent, rows),
            f"slice ({slice_rows:,})": (slice_timing, slice_spent, slice_rows),
        }
    )
    print(
        f"For scale: the naive loop {naive_timing.wall / slice_rows * 1e6:,.0f} µs/row, "
        f"raw COPY {copy_seconds / rows * 1e6:.1f} µs/row."
    )
    print(f"\nCustomers from the slice: ours {slice_customers:,}, naive {naive_customers:,}.")
    if naive_customers > slice_customers:
        print("(The naive loop cannot merge two existing customers a row links; it keeps both.)")
    print(
        f"Whole-file CPU of this process: empty {empty_timing.cpu:.1f}s of "
        f"{empty_timing.wall:.1f}s wall, populated {populated_timing.cpu:.1f}s of "
        f"{populated_timing.wall:.1f}s wall (CPU ratio "
        f"{populated_timing.cpu / empty_timing.cpu:.2f}x; wall figures move with the machine's "
        f"load); bulk load of the existing customers "
        f"{load_timing.wall:.1f}s."
    )
    if common.QUEUED_TASKS:
        queued = ", ".join(f"{name} x{count}" for name, count in common.QUEUED_TASKS.items())
        print(f"Tasks the imports queued, not run here (no broker is used): {queued}.")
    if problems:
        print("\nCHECKS FAILED:\n  " + "\n  ".join(problems))
    else:
        print("\nChecks: every import matched the generator's truth.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
