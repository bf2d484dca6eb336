"""Data-quality figures and the dashboard: their cost against one plain scan of the customers.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python \\
        bench/bench_data_quality.py --size M

N customers (2k, 100k or 1M for S, M, L, bulk-loaded as the product stores them) belong half
to team A and half to team B; half of them have a consent grant and a later withdrawal on
another purpose, and one customer in ten is in an open duplicate pair. Timed, interleaved in rounds:

- ``quality_figures`` over every active customer (the nightly snapshot's query: eleven fields'
  completeness and validity, open duplicate pairs, current consent grants, mean age) vs the
  baseline ``SELECT owner_team_id, count(*) … GROUP BY owner_team_id`` over the same rows, the
  floor of any per-team figure. Reported as the ratio (no target).
- the dashboard (``GET /`` through the whole middleware stack) as a Marketer of team A, and its
  query count at this size (pinned at 21 for a data steward in the tests).
"""

from __future__ import annotations

import common
from generate import SIZES

ROUNDS = 5
# A database of its own, so that this benchmark never drops another one's while it runs.
common.BENCH_DATABASE = "marketbase_bench_quality"

_CONSENT_SQL = """
INSERT INTO privacy_consentevent (owner_team_id, customer_id, subject_key, purpose_id, channel,
    status, lawful_basis, source, source_reference, evidence, occurred_at)
SELECT c.owner_team_id, c.id, '', p.id, p.channels[1], e.status, 'consent', 'import', '', '{}',
       now() - e.age
FROM customers_customer c
CROSS JOIN (VALUES ('email_marketing', 'granted', interval '20 days'),
                   ('sms_marketing', 'granted', interval '20 days'),
                   ('sms_marketing', 'withdrawn', interval '2 days')) AS e(code, status, age)
JOIN privacy_consentpurpose p ON p.code = e.code
WHERE c.id % 2 = 0
"""
# One open duplicate pair per ten customers, of one team (the nightly search is not timed here).
_PAIRS_SQL = """
INSERT INTO customers_duplicatecandidate (owner_team_id, first_id, second_id, reason, status,
    created_at)
SELECT first.owner_team_id, first.id, second.id, 'same name and birth date', 'open', now()
FROM customers_customer first
JOIN customers_customer second
  ON second.owner_team_id = first.owner_team_id AND second.id = first.id + 2
WHERE first.id % 10 = 0
"""
_BASELINE_SQL = (
    "SELECT owner_team_id, count(*) FROM customers_customer "
    "WHERE merged_into_id IS NULL GROUP BY owner_team_id"
)


def main() -> int:
    options = common.arguments(__doc__.split("\n\n")[0])
    count = SIZES[options.size]
    with common.bench_database(keep=options.keep):
        from django.db import connection
        from django.test import Client
        from django.test.utils import CaptureQueriesContext

        from customers.models import Customer
        from customers.quality.selectors import quality_figures
        from privacy.consent.services.records import consent_purposes_ensure

        machine = common.machine_summary()
        accounts = common.accounts()
        consent_purposes_ensure()
        common.say(f"bulk-loading {count:,} customers: half team A, half team B")
        common.bulk_load_customers(
            teams=[accounts.team_a, accounts.team_b], start=0, count=count, seed=options.seed
        )
        with connection.cursor() as cursor:
            cursor.execute(_CONSENT_SQL)
            events = cursor.rowcount
            cursor.execute(_PAIRS_SQL)
            pairs = cursor.rowcount
        common.vacuum_analyze(
            "customers_customer", "privacy_consentevent", "customers_duplicatecandidate"
        )
        common.say(f"{events:,} consent events, {pairs:,} duplicate pairs")

        client = Client()
        client.force_login(accounts.marketer)
        session = client.session
        # The second factor as the sign-in would have verified it (django-otp's session key).
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = TOTPDevice.objects.create(user=accounts.marketer, name="Bench", confirmed=True)
        session["otp_device_id"] = device.persistent_id
        session.save()

        def figures() -> None:
            quality_figures(Customer.objects.active())

        def baseline() -> None:
            with connection.cursor() as cursor:
                cursor.execute(_BASELINE_SQL)
                cursor.fetchall()

        def dashboard() -> None:
            response = client.get("/")
            if response.status_code != 200:
                raise RuntimeError(f"dashboard: {response.status_code}")

        seconds: dict[str, list[float]] = {"figures": [], "baseline": [], "dashboard": []}
        for function in (figures, baseline, dashboard):
            function()  # warm-up
        for _round in range(ROUNDS):
            for name, function in (
                ("figures", figures),
                ("baseline", baseline),
                ("dashboard", dashboard),
            ):
                with common.timed() as timing:
                    function()
                seconds[name].append(timing.wall)
        with CaptureQueriesContext(connection) as queries:
            dashboard()
        typical = {name: common.median(values) for name, values in seconds.items()}

    print("\n".join(machine))
    common.print_table(
        f"Data quality and dashboard, {count:,} customers (median of {ROUNDS} rounds)",
        ["operation", "seconds", "vs plain GROUP BY scan"],
        [
            [
                "quality_figures, every team",
                f"{typical['figures']:.3f}",
                f"{typical['figures'] / typical['baseline']:.1f}x",
            ],
            ["plain count GROUP BY team", f"{typical['baseline']:.3f}", "1.0x"],
            [
                "dashboard GET / (Marketer, team A)",
                f"{typical['dashboard']:.3f}",
                f"{typical['dashboard'] / typical['baseline']:.1f}x",
            ],
        ],
    )
    print(f"\nqueries of the dashboard request: {len(queries)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
