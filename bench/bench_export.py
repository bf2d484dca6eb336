"""The access package of one data subject vs raw ``COPY … TO STDOUT`` of the same rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python \\
        bench/bench_export.py
    .venv/bin/python -m config.stack exec -- .venv/bin/python bench/bench_export.py \\
        --events 10000 --memory-sizes 10000,100000

Measured in one run, in its own database ``marketbase_bench_export``, on the customer of the
erasure benchmark (``--events`` events, 100,000 by default, 1% as many purchases, three
identities; loaded with ``INSERT … SELECT generate_series``) with ``--consents`` consent
events, beside ``--others`` other customers with ten events each:

(a) throughput: ``privacy.requests.package.writer.subject_package_write`` (the whole ZIP: data.json,
    schema, one CSV per category, information, into a temporary file) vs
    ``COPY (SELECT … the same rows and columns …) TO STDOUT`` of events, purchases and consent
    events in PostgreSQL's text format, read through psycopg 3 into a temporary file. Rows per
    second over the same rows; the sides alternate for ``--rounds`` rounds, medians compared.
    Target: ours >= 0.5x the raw COPY's rows/s.
    For information, the same COPY producing one JSON object per row (``row_to_json``), the
    least any JSON export of these rows costs in PostgreSQL.
(b) memory: the peak of Python allocations (``tracemalloc``) and of resident-memory growth
    while the package of a customer with 10,000, 100,000 and 1,000,000 events is written
    (``--memory-sizes``). Target: flat.
"""

from __future__ import annotations

import tempfile
import zipfile

import common
from bench_erasure import (  # a sibling script: the subject, its loading, memory measurement
    Subject,
    memory_of,
    memory_table,
    others_load,
    subject_load,
    vacuum,
)

BENCH_DATABASE = "marketbase_bench_export"
DEFAULT_EVENTS = 100_000
DEFAULT_MEMORY_SIZES = "10000,100000,1000000"


def consents_load(*, team, customer_id: int, count: int) -> None:
    """``count`` consent events of the customer (granted and withdrawn in turn)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO privacy_consentevent
                (owner_team_id, customer_id, subject_key, purpose_id, channel, status,
                 lawful_basis, source, source_reference, evidence, occurred_at)
            SELECT %(team)s, %(customer)s, '', purpose.id, 'email',
                   CASE WHEN n %% 2 = 0 THEN 'withdrawn' ELSE 'granted' END, 'consent', 'form',
                   '', jsonb_build_object('ip_address', '203.0.113.7', 'form', 'signup'),
                   now() - make_interval(days => n)
            FROM generate_series(1, %(count)s) AS n,
                 (SELECT id FROM privacy_consentpurpose WHERE code = 'email_marketing') AS purpose
            """,
            {"team": team.pk, "customer": customer_id, "count": count},
        )


def baseline_statements(team, subject: Subject) -> list[tuple[str, dict]]:
    """The raw side: the rows and columns of the package's big categories, by the same queries."""
    from customers.services.export import customers_export
    from privacy.requests.package.registry import consent_history_category

    categories = [
        *customers_export(team=team, customer_ids=[subject.customer_id]),
        consent_history_category(team=team, customer_ids=[subject.customer_id]),
    ]
    return [(category.sql, category.params) for category in categories if category.sql]


def raw_copy(statements, *, as_json: bool) -> tuple[int, int]:
    """COPY each query to STDOUT into a temporary file; (rows, bytes)."""
    from django.db import connection

    rows = size = 0
    with tempfile.TemporaryFile() as sink, connection.cursor() as django_cursor:
        cursor = django_cursor.cursor
        for sql, params in statements:
            query = f"SELECT row_to_json(q)::text FROM ({sql}) AS q" if as_json else sql
            with cursor.copy(f"COPY ({query}) TO STDOUT", params) as copy:
                for chunk in copy:
                    sink.write(chunk)
                    rows += 1
                    size += len(chunk)
    return rows, size


def package(team, subject: Subject, *, verify: bool = False) -> tuple[int, int, dict[str, int]]:
    """Write the package into a temporary file; (rows of the big categories, bytes, counts).
    ``verify`` reads the ZIP back (outside the timed runs)."""
    from privacy.requests.package.writer import subject_package_write

    with tempfile.TemporaryFile() as sink:
        summary = subject_package_write(team=team, customer_ids=[subject.customer_id], fileobj=sink)
        if verify:
            sink.seek(0)
            with zipfile.ZipFile(sink) as archive:
                broken = archive.testzip()
                if broken:
                    raise RuntimeError(f"{broken} is damaged in the package")
    big = sum(summary.counts[name] for name in ("events", "purchases", "consent_history"))
    return big, summary.bytes_written, summary.counts


def check(counts: dict[str, int], subject: Subject, consents: int) -> list[str]:
    wanted = {
        "events": subject.events,
        "purchases": subject.purchases,
        "identities": subject.identities,
        "profile": 1,
        "consent_history": consents,
    }
    return [
        f"{name}: {counts.get(name)} rows in the package, {rows} held"
        for name, rows in wanted.items()
        if counts.get(name) != rows
    ]


def main() -> int:
    def extra(parser) -> None:
        parser.add_argument("--events", type=int, default=DEFAULT_EVENTS)
        parser.add_argument("--consents", type=int, default=200)
        parser.add_argument("--rounds", type=int, default=3)
        parser.add_argument("--others", type=int, default=10_000, help="other customers")
        parser.add_argument(
            "--memory-sizes",
            default=DEFAULT_MEMORY_SIZES,
            help="comma-separated event counts for (b)",
        )

    # Its own database, so it can run beside the other benchmarks.
    common.BENCH_DATABASE = BENCH_DATABASE
    options = common.arguments(__doc__.split("\n\n")[0], extra)
    memory_sizes = [int(size) for size in options.memory_sizes.split(",") if size]
    problems: list[str] = []
    times: dict[str, list[float]] = {"ours": [], "raw": [], "json": []}
    with common.bench_database(keep=options.keep):
        from privacy.core.services.staff import team_create

        machine = common.machine_summary()
        team = team_create(name="Bench export team")
        common.say(f"loading {options.others:,} other customers with 10 events each")
        others_load(team=team, customers=options.others, seed=options.seed)
        subject = subject_load(team=team, events=options.events)
        consents_load(team=team, customer_id=subject.customer_id, count=options.consents)
        vacuum()
        statements = baseline_statements(team, subject)
        package(team, subject, verify=True)  # a sound ZIP, and warm caches for both sides
        rows = subject.events + subject.purchases + options.consents
        package_bytes = raw_bytes = 0
        for round_number in range(options.rounds):
            order = ("raw", "json", "ours") if round_number % 2 == 0 else ("ours", "json", "raw")
            for side in order:
                with common.timed() as timing:
                    if side == "ours":
                        copied, package_bytes, counts = package(team, subject)
                        problems += check(counts, subject, options.consents)
                    else:
                        copied, size = raw_copy(statements, as_json=side == "json")
                        raw_bytes = size if side == "raw" else raw_bytes
                times[side].append(timing.wall)
                common.say(f"round {round_number + 1} {side}: {copied:,} rows, {timing.wall:.3f}s")
                if copied != rows:
                    problems.append(f"{side}: {copied} rows, expected {rows}")

        measured = []
        for events in memory_sizes:
            common.say(f"(b) memory: loading a customer with {events:,} events")
            sized = subject_load(team=team, events=events)
            vacuum()
            measured.append(memory_of(lambda sized=sized: package(team, sized), events=events))

    median = {side: common.median(values) for side, values in times.items()}
    rate = {side: rows / seconds for side, seconds in median.items()}
    ratio = rate["ours"] / rate["raw"]
    print()
    print(
        f"Export benchmark: one customer with {subject.events:,} events, "
        f"{subject.purchases:,} purchases and {options.consents:,} consent events "
        f"({rows:,} rows), among {options.others:,} other customers; {options.rounds} rounds"
    )
    for line in machine:
        print(f"  {line}")
    print(f"  package {package_bytes / 1e6:.1f} MB (ZIP); raw COPY output {raw_bytes / 1e6:.1f} MB")
    common.print_table(
        "(a) Throughput",
        ["benchmark", "ours (median)", "baseline (median)", "ratio", "target", "verdict"],
        [
            [
                "package vs raw COPY (text)",
                f"{rate['ours']:,.0f} rows/s ({median['ours']:.3f} s)",
                f"{rate['raw']:,.0f} rows/s ({median['raw']:.3f} s)",
                f"{ratio:.2f}x",
                ">= 0.5x",
                common.verdict(ratio >= 0.5),
            ],
            [
                "package vs COPY of row_to_json",
                f"{rate['ours']:,.0f} rows/s",
                f"{rate['json']:,.0f} rows/s ({median['json']:.3f} s)",
                f"{rate['ours'] / rate['json']:.2f}x",
                "(information)",
                "",
            ],
        ],
    )
    for side, values in times.items():
        print(f"  every run, {side}: " + ", ".join(f"{value:.3f}" for value in values) + " s")
    flat = memory_table("(b) Memory of subject_package_write by number of events", measured)
    print(f"  memory flat: {common.verdict(flat)}")
    if problems:
        print("\nCHECKS FAILED:\n  " + "\n  ".join(sorted(set(problems))))
    else:
        print("\nChecks: every package held every row, and every ZIP tested sound.")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
