"""Retention purge of behaviour events: ``retention_purge`` vs one raw DELETE of the same rows.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python \\
        bench/bench_retention.py                      # 10,000,000 events
    .venv/bin/python -m config.stack exec -- .venv/bin/python bench/bench_retention.py \\
        --events 200000                               # smoke, embedded stores

Measured in one run, on one generated table (its own database, ``marketbase_bench_retention``,
so it can run beside the other benchmarks):

- N events (default 10,000,000) over 10,000 stored customers, generated in SQL
  (``INSERT … SELECT … FROM generate_series``), exactly half of them older than the events
  policy's cut-off (730 days). Old and new events alternate row by row: the purge's walk over
  the primary key reads two rows for each one it deletes, the unfavourable case (events that
  arrive in time order put the old ones first).
- ours: ``retention_purge(category="events")``, the nightly job's service, batches of 10,000
  rows (``--batch-size``), each its own transaction, in this process;
- baseline: ``DELETE FROM customers_event WHERE occurred_at < cut-off``, one statement in one
  transaction, through the same connection.

Before each run the table is generated again from the same series (indexes dropped during the
load and built again, as Django declared them), vacuumed, analysed and checkpointed, so every
run starts from the same state. Two rounds (``--rounds``) in ABBA order: ours then raw, raw
then ours. Printed per run: rows/s, seconds, the longest statement (for the purge, its slowest
batch, and the time of all its batch statements: the rest is mostly the commits) and the WAL
written; then the best rows/s of each side, their ratio and each round's ratio.
"""

from __future__ import annotations

import argparse
import datetime
import time
from dataclasses import dataclass

import common

common.BENCH_DATABASE = "marketbase_bench_retention"

EVENTS = 10_000_000
CUSTOMERS = 10_000
BATCH_SIZE = 10_000
RETAIN_DAYS = 730

# Even rows are new (0 to 700 days old), odd rows old (732 to 1,432 days); the purge runs
# minutes after the load, so no row is near the 730-day cut-off.
_GENERATE_SQL = """
INSERT INTO customers_event
    (owner_team_id, customer_id, type, occurred_at, properties, source, client_id, received_at)
SELECT
    %(team)s,
    %(first_customer)s + mod(g, %(customers)s),
    (ARRAY['page_view', 'add_to_cart', 'sign_up', 'store_visit'])[1 + mod(g, 4)],
    %(now)s - make_interval(
        days => mod(g, 700)::int + CASE WHEN mod(g, 2) = 1 THEN 732 ELSE 0 END,
        secs => mod(g * 7919, 86400)::double precision
    ),
    '{}'::jsonb,
    'web',
    '',
    %(now)s
FROM generate_series(1::bigint, %(count)s) AS g
"""

# Indexes of the events table that back no constraint: dropped for the load, built afterwards.
_INDEXES_SQL = """
SELECT index_class.relname, pg_get_indexdef(index.indexrelid)
FROM pg_index AS index
JOIN pg_class AS index_class ON index_class.oid = index.indexrelid
LEFT JOIN pg_constraint AS constraint_ ON constraint_.conindid = index.indexrelid
WHERE index.indrelid = 'customers_event'::regclass AND constraint_.oid IS NULL
ORDER BY 1
"""


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=EVENTS, help="events generated (half old)")
    parser.add_argument("--customers", type=int, default=CUSTOMERS)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--rounds", type=int, default=2, help="pairs of runs, order alternating")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    return parser.parse_args()


def wal_position() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        return cursor.fetchone()[0]


def wal_since(position: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)::bigint", [position])
        return cursor.fetchone()[0]


def load_events(*, count: int, team_id: int, first_customer: int, customers: int) -> None:
    """Empty the events table and generate ``count`` events in SQL, then index and analyse."""
    from django.db import connection
    from django.utils import timezone

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(_INDEXES_SQL)
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        cursor.execute("TRUNCATE customers_event RESTART IDENTITY")
        # Foreign-key triggers off for the load: every customer id exists (checked below).
        cursor.execute("SET session_replication_role = replica")
        try:
            cursor.execute(
                _GENERATE_SQL,
                {
                    "team": team_id,
                    "first_customer": first_customer,
                    "customers": customers,
                    "now": timezone.now(),
                    "count": count,
                },
            )
        finally:
            cursor.execute("SET session_replication_role = DEFAULT")
        for _name, definition in indexes:
            cursor.execute(definition)
        cursor.execute(
            "SELECT count(*) FROM customers_event AS event WHERE NOT EXISTS "
            "(SELECT 1 FROM customers_customer AS customer WHERE customer.id = event.customer_id)"
        )
        orphans = cursor.fetchone()[0]
    if orphans:
        raise SystemExit(f"{orphans} generated events name no stored customer")
    common.vacuum_analyze("customers_event")
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")
    common.say(
        f"generated {count:,} events, {len(indexes)} indexes rebuilt, "
        f"in {time.perf_counter() - started:.0f} s"
    )


def old_events(cutoff: datetime.datetime) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM customers_event WHERE occurred_at < %s", [cutoff])
        return cursor.fetchone()[0]


class StatementClock:
    """Times every statement run through Django's connection (the batches of the purge)."""

    def __init__(self) -> None:
        self.durations: list[float] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            if "DELETE" in sql:
                self.durations.append(time.perf_counter() - started)


def batch_plan(cutoff: datetime.datetime, batch_size: int) -> str:
    """The plan PostgreSQL picks for the purge's batch selection."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN SELECT id FROM customers_event WHERE id > 0 AND (occurred_at < %s) "
            "ORDER BY id LIMIT %s",
            [cutoff, batch_size],
        )
        return " / ".join(line.strip() for (line,) in cursor.fetchall())


@dataclass
class Run:
    side: str  # "ours" or "raw"
    round: int
    wall: float
    deleted: int
    wal_bytes: int
    statements: list[float]  # durations of the DELETE statements

    @property
    def rate(self) -> float:
        return self.deleted / self.wall


def ours(batch_size: int, round_: int) -> Run:
    from django.db import connection

    from privacy.retention.services import retention_purge

    clock = StatementClock()
    position = wal_position()
    with connection.execute_wrapper(clock), common.timed() as timing:
        result = retention_purge(category="events", batch_size=batch_size)
    deleted = result["events"]["customers.event"]
    return Run("ours", round_, timing.wall, deleted, wal_since(position), clock.durations)


def raw_delete(cutoff: datetime.datetime, round_: int) -> Run:
    from django.db import connection

    position = wal_position()
    with connection.cursor() as cursor, common.timed() as timing:
        cursor.execute("DELETE FROM customers_event WHERE occurred_at < %s", [cutoff])
        deleted = cursor.rowcount
    return Run("raw", round_, timing.wall, deleted, wal_since(position), [timing.wall])


LABELS = {"ours": "retention_purge", "raw": "raw DELETE"}


def main() -> None:
    args = parse()
    with common.bench_database(keep=args.keep):
        from django.utils import timezone

        from customers.models import Customer
        from privacy.models import RetentionPolicy
        from privacy.retention.services import retention_policies_ensure

        for line in common.machine_summary():
            common.say(line)
        accounts = common.accounts()
        common.bulk_load_customers(
            teams=[accounts.team_a], start=10_000_000, count=args.customers, seed=args.seed
        )
        common.vacuum_analyze("customers_customer", "customers_identity")
        retention_policies_ensure()
        RetentionPolicy.objects.filter(category="events").update(
            retain_days=RETAIN_DAYS, is_active=True
        )
        load = {
            "count": args.events,
            "team_id": accounts.team_a.pk,
            "first_customer": Customer.objects.order_by("pk").values_list("pk", flat=True)[0],
            "customers": args.customers,
        }

        # ABBA: ours first in even rounds, the raw DELETE first in odd ones, so a drift in the
        # machine's load does not favour one side. Every run starts from a fresh table.
        runs: list[Run] = []
        problems: list[str] = []
        for round_ in range(args.rounds):
            for side in ("ours", "raw") if round_ % 2 == 0 else ("raw", "ours"):
                load_events(**load)
                cutoff = timezone.now() - datetime.timedelta(days=RETAIN_DAYS)
                expected = old_events(cutoff)
                if not runs:
                    common.say(f"{expected:,} of {args.events:,} events are past the cut-off")
                    common.say(f"batch plan: {batch_plan(cutoff, args.batch_size)}")
                run = (
                    ours(args.batch_size, round_) if side == "ours" else raw_delete(cutoff, round_)
                )
                common.say(
                    f"round {round_ + 1}, {LABELS[side]}: {run.deleted:,} rows in "
                    f"{run.wall:.1f} s ({len(run.statements)} statements)"
                )
                if run.deleted != expected:
                    problems.append(f"{LABELS[side]} removed {run.deleted}, expected {expected}")
                runs.append(run)

        rows = []
        for run in runs:
            longest = max(run.statements)
            rows.append(
                [
                    f"round {run.round + 1}: {LABELS[run.side]}",
                    f"{run.rate:,.0f}",
                    f"{run.wall:.1f}",
                    f"{longest:.2f} s"
                    + (
                        f" ({len(run.statements)} batches, median "
                        f"{common.median(run.statements):.2f} s, all {sum(run.statements):.1f} s)"
                        if run.side == "ours"
                        else ""
                    ),
                    f"{run.wal_bytes / 2**20:,.0f} MiB",
                ]
            )
        common.print_table(
            f"Retention purge of {expected:,} of {args.events:,} events "
            f"(batches of {args.batch_size:,})",
            ["", "rows/s", "seconds", "longest statement", "WAL written"],
            rows,
        )
        best = {side: max(r.rate for r in runs if r.side == side) for side in LABELS}
        per_round = [
            next(r.rate for r in runs if r.round == n and r.side == "ours")
            / next(r.rate for r in runs if r.round == n and r.side == "raw")
            for n in range(args.rounds)
        ]
        print(
            f"\nbest: retention_purge {best['ours']:,.0f} rows/s, raw DELETE "
            f"{best['raw']:,.0f} rows/s: ours / raw = {best['ours'] / best['raw']:.2f}x"
        )
        print("per round: " + ", ".join(f"{ratio:.2f}x" for ratio in per_round))
        print("checks: " + ("; ".join(problems) if problems else "every run removed the same rows"))
        if common.QUEUED_TASKS:
            common.say(f"tasks queued (not run): {dict(common.QUEUED_TASKS)}")


if __name__ == "__main__":
    main()
