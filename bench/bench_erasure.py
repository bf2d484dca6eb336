"""Erasure of one data subject: ``subject_erase`` vs a raw transactional DELETE; memory by size.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python \\
        bench/bench_erasure.py
    .venv/bin/python -m config.stack exec -- .venv/bin/python bench/bench_erasure.py \\
        --events 10000 --memory-sizes 10000,100000

Measured in one run, in its own database ``marketbase_bench_erasure``:

(a) time: a customer with ``--events`` behaviour events (100,000 by default), 1% as many
    purchases and an email, a phone and a CRM-id identity, loaded with set-based SQL
    (``INSERT … SELECT generate_series``) beside ``--others`` other customers of the team with
    ten events each. ``privacy.erasure.services.erasure.subject_erase`` (the product's service:
    locks, suppression entries, every registered eraser, audit entry, commit) vs one transaction of
    raw ``DELETE`` statements removing the same customer's events, purchases, identities and
    the customer. The same rows are loaded again before each run; the two sides alternate for
    ``--rounds`` rounds and the medians are compared. Target: ours <= 2x the raw DELETE.
(b) memory: the peak of Python allocations (``tracemalloc``) and the growth of the process's
    peak resident memory while ``subject_erase`` erases a customer with 10,000, 100,000 and
    1,000,000 events (``--memory-sizes``). Target: flat (no growth with the number of rows).
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import common

BENCH_DATABASE = "marketbase_bench_erasure"

DEFAULT_EVENTS = 100_000
DEFAULT_MEMORY_SIZES = "10000,100000,1000000"
# Each loaded subject gets its own email and phone (the product allows one holder of each).
_SUBJECT_NUMBERS = itertools.count(1)


@dataclass
class Subject:
    customer_id: int
    events: int
    purchases: int
    identities: int


def bench_team():
    from privacy.core.services.staff import team_create

    return team_create(name="Bench erasure team")


def subject_load(*, team, events: int, purchases: int | None = None) -> Subject:
    """One customer stored as the product stores it (encrypted contact details, blind indexes)
    with ``events`` events and ``purchases`` purchases (1% of the events by default), written
    with set-based SQL."""
    from django.db import connection

    from customers.models import Customer, Identity, IdentityKind
    from privacy.core.crypto import blind_index, name_index

    purchases = max(1, events // 100) if purchases is None else purchases
    number = next(_SUBJECT_NUMBERS)
    customer = Customer.objects.create(
        owner_team=team,
        email=f"jane.subject{number}@example.org",
        phone=f"+49151{number:08d}",
        given_name="Jane",
        family_name="Subject",
        postal_address="1 Example Street, Berlin",
        email_domain="example.org",
        country="DE",
        city="Berlin",
        source_channel="crm",
        tags=["vip", "newsletter"],
        attributes={"favourite_colour": "green"},
        name_index=name_index("Jane", "Subject"),
    )
    identities = [
        Identity(
            owner_team=team,
            customer=customer,
            kind=kind,
            lookup_key=blind_index(value, purpose=kind),
            value=value,
            source="crm",
        )
        for kind, value in (
            (IdentityKind.EMAIL, customer.email),
            (IdentityKind.PHONE, customer.phone),
        )
    ]
    identities.append(
        Identity(
            owner_team=team,
            customer=customer,
            kind=IdentityKind.EXTERNAL,
            channel="crm",
            lookup_key=f"CRM-{customer.pk}",
            source="crm",
        )
    )
    Identity.objects.bulk_create(identities)
    params = {"team": team.pk, "customer": customer.pk, "events": events, "purchases": purchases}
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO customers_event
                (owner_team_id, customer_id, type, occurred_at, properties, source, client_id,
                 received_at)
            SELECT %(team)s, %(customer)s,
                   (ARRAY['page_view', 'add_to_cart', 'sign_up', 'store_visit'])[1 + n %% 4],
                   now() - make_interval(mins => n),
                   jsonb_build_object('path', '/products/' || (n %% 500), 'position', n %% 10),
                   'web', '', now()
            FROM generate_series(1, %(events)s) AS n
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO customers_purchase
                (owner_team_id, customer_id, source, order_reference, occurred_at, amount,
                 currency, quantity, items, received_at)
            SELECT %(team)s, %(customer)s, 'shop', 'SO-' || %(customer)s || '-' || n,
                   now() - make_interval(hours => n), (n %% 200) + 9.90, 'EUR', 1 + n %% 3,
                   jsonb_build_array(jsonb_build_object('sku', 'SKU-' || (n %% 50), 'qty', 1)),
                   now()
            FROM generate_series(1, %(purchases)s) AS n
            """,
            params,
        )
    return Subject(
        customer_id=customer.pk, events=events, purchases=purchases, identities=len(identities)
    )


def others_load(*, team, customers: int, seed: int, events_each: int = 10) -> None:
    """Other customers of the team (stored as the product stores them) with a few events each,
    so the tables are not the subject's alone."""
    from django.db import connection

    common.bulk_load_customers(teams=[team], start=10_000_000, count=customers, seed=seed)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO customers_event
                (owner_team_id, customer_id, type, occurred_at, properties, source, client_id,
                 received_at)
            SELECT %(team)s, customer.id, 'page_view', now() - make_interval(mins => n), '{}',
                   'web', '', now()
            FROM customers_customer AS customer, generate_series(1, %(events)s) AS n
            WHERE customer.owner_team_id = %(team)s
            """,
            {"team": team.pk, "events": events_each},
        )


def vacuum() -> None:
    common.vacuum_analyze(
        "customers_event", "customers_purchase", "customers_identity", "customers_customer"
    )


def raw_delete(subject: Subject) -> int:
    """The baseline: the same rows, deleted by hand in one transaction."""
    from django.db import connection, transaction

    deleted = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for table in ("customers_event", "customers_purchase", "customers_identity"):
            cursor.execute(f"DELETE FROM {table} WHERE customer_id = %s", [subject.customer_id])
            deleted += cursor.rowcount
        cursor.execute("DELETE FROM customers_customer WHERE id = %s", [subject.customer_id])
        deleted += cursor.rowcount
    return deleted


def ours(subject: Subject, team) -> int:
    from privacy.erasure.services.erasure import subject_erase

    report = subject_erase(customer_ids=[subject.customer_id], team=team, reason="bench")
    return sum(
        report.counts.get(label, 0)
        for label in (
            "customers.event",
            "customers.purchase",
            "customers.identity",
            "customers.customer",
        )
    )


def expected_rows(subject: Subject) -> int:
    return subject.events + subject.purchases + subject.identities + 1


# --- Memory -----------------------------------------------------------------------------------
def _peak_rss_reset() -> bool:
    """Reset the kernel's peak-RSS mark of this process (Linux); False when not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


@dataclass
class Memory:
    events: int
    seconds: float
    python_peak: int  # bytes, tracemalloc
    rss_growth: int | None  # KiB, peak RSS during the call minus RSS before it


def memory_of(run, *, events: int) -> Memory:
    """Peak Python allocations and peak-RSS growth while ``run()`` runs."""
    gc.collect()
    can_reset = _peak_rss_reset()
    rss_before = _status_kib("VmRSS")
    tracemalloc.start()
    try:
        with common.timed() as timing:
            run()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    growth = _status_kib("VmHWM") - rss_before if can_reset else None
    return Memory(events=events, seconds=timing.wall, python_peak=peak, rss_growth=growth)


def memory_table(title: str, measured: list[Memory]) -> bool:
    """Print the memory figures; True when the peak does not grow with the rows (the largest
    size's Python peak within 1 MiB + 50% of the smallest's)."""
    rows = [
        [
            f"{item.events:,}",
            f"{item.seconds:.2f}",
            f"{item.python_peak / 1024:,.0f}",
            "n/a" if item.rss_growth is None else f"{item.rss_growth:,}",
        ]
        for item in measured
    ]
    common.print_table(
        title, ["events", "seconds", "Python peak KiB (tracemalloc)", "peak RSS growth KiB"], rows
    )
    if not measured:
        return True
    smallest, largest = measured[0].python_peak, measured[-1].python_peak
    return largest <= smallest * 1.5 + (1 << 20)


def main() -> int:
    def extra(parser) -> None:
        parser.add_argument("--events", type=int, default=DEFAULT_EVENTS)
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
    ours_times: list[float] = []
    raw_times: list[float] = []
    with common.bench_database(keep=options.keep):
        machine = common.machine_summary()
        team = bench_team()
        common.say(f"loading {options.others:,} other customers with 10 events each")
        others_load(team=team, customers=options.others, seed=options.seed)
        for round_number in range(options.rounds):
            for side in ("raw", "ours") if round_number % 2 == 0 else ("ours", "raw"):
                subject = subject_load(team=team, events=options.events)
                vacuum()
                with common.timed() as timing:
                    deleted = raw_delete(subject) if side == "raw" else ours(subject, team)
                (raw_times if side == "raw" else ours_times).append(timing.wall)
                common.say(
                    f"round {round_number + 1} {side}: {deleted:,} rows in {timing.wall:.3f}s"
                )
                if deleted != expected_rows(subject):
                    problems.append(
                        f"{side}: deleted {deleted} rows, {expected_rows(subject)} held"
                    )

        measured = []
        for events in memory_sizes:
            common.say(f"(b) memory: loading a customer with {events:,} events")
            subject = subject_load(team=team, events=events)
            vacuum()
            measured.append(memory_of(lambda subject=subject: ours(subject, team), events=events))
            with contextlib.suppress(Exception):
                vacuum()

    ours_median, raw_median = common.median(ours_times), common.median(raw_times)
    ratio = ours_median / raw_median
    print()
    print(
        f"Erasure benchmark: one customer with {options.events:,} events, "
        f"{max(1, options.events // 100):,} purchases, 3 identities, among {options.others:,} "
        f"other customers; {options.rounds} rounds"
    )
    for line in machine:
        print(f"  {line}")
    common.print_table(
        "(a) Time",
        ["benchmark", "ours (median)", "raw DELETE (median)", "ratio", "target", "verdict"],
        [
            [
                "subject_erase vs raw DELETE",
                f"{ours_median:.3f} s",
                f"{raw_median:.3f} s",
                f"{ratio:.2f}x the time",
                "<= 2x",
                common.verdict(ratio <= 2),
            ]
        ],
    )
    print(
        "  every run: ours "
        + ", ".join(f"{t:.3f}" for t in ours_times)
        + " s; raw "
        + ", ".join(f"{t:.3f}" for t in raw_times)
        + " s"
    )
    flat = memory_table("(b) Memory of subject_erase by number of events", measured)
    print(f"  memory flat: {common.verdict(flat)}")
    if problems:
        print("\nCHECKS FAILED:\n  " + "\n  ".join(problems))
    else:
        print("\nChecks: both sides deleted every row of the subject in every round.")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
