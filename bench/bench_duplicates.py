"""Finding duplicate candidates: ``duplicates_find`` vs a bare self-join on the same blocking keys.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python \\
        bench/bench_duplicates.py --size M           # 100,000 customers
    .venv/bin/python -m config.stack exec -- .venv/bin/python bench/bench_duplicates.py

Measured in one run, on one set of stored customers (its own database,
``marketbase_bench_duplicates``, so it can run beside the other benchmarks):

- the generated people of the size (S 2,000, M 100,000, L 1,000,000), stored as the product
  stores them (``common.bulk_load_customers``), in one team. Their names come from short lists
  per country, so many strangers share a name and a city: the case that made the old search
  propose obvious non-matches, and slow;
- ours: ``duplicates_find()``, the nightly job's service: scores every pair and writes the
  candidates (rolled back after each round, so each round starts from an empty queue);
- baseline: the least SQL that finds the same blocked pairs: one ``SELECT count(*)`` over the
  self-joins on (team, sorted name tokens, birth date | postal code | city) with the same
  conflict rules, writing nothing (its count is of the pairs before scoring: ours proposes those
  that reach the threshold);
- before: the statement this one replaced (same name and birth date, or same name and place,
  with no conflict rules, namesakes picked by a join on a HAVING count), as a
  ``SELECT count(*)`` of the pairs it proposed. ``--skip-before`` leaves it out (at M it takes
  minutes).

Three rounds in ABBA order (ours, baseline, before; then reversed), the median of each side,
the ratio ours / baseline, and how many pairs each proposes.
"""

from __future__ import annotations

import common

common.BENCH_DATABASE = "marketbase_bench_duplicates"

TARGET_RATIO = 3.0  # ours may take three times the bare count: it scores and writes the pairs

_PEOPLE = """
WITH people AS MATERIALIZED (
    SELECT c.id, c.owner_team_id,
           ARRAY(SELECT DISTINCT token FROM unnest(c.name_index) AS token ORDER BY token)
               AS name_key,
           c.birth_date,
           nullif(lower(btrim(c.city)), '') AS city_key,
           nullif(upper(regexp_replace(c.postal_code, '\\s', '', 'g')), '') AS postal_key,
           nullif(upper(btrim(c.country)), '') AS country_key
    FROM customers_customer AS c
    WHERE c.merged_into_id IS NULL AND cardinality(c.name_index) > 0
)
"""

_JOIN = """
    SELECT a.id, b.id FROM people AS a
    JOIN people AS b ON b.owner_team_id = a.owner_team_id AND b.name_key = a.name_key
                    AND b.{key} = a.{key} AND b.id > a.id {rules}
"""
_RULES = """
                    AND (a.birth_date IS NULL OR b.birth_date IS NULL
                         OR a.birth_date = b.birth_date)
                    AND (a.country_key IS NULL OR b.country_key IS NULL
                         OR a.country_key = b.country_key)
"""


# The previous statement picked namesakes with a join on a HAVING count: estimated at one row,
# the pair joins ran as nested loops over every namesake.
_BEFORE_NAMESAKES = """,
namesakes AS MATERIALIZED (
    SELECT p.* FROM people AS p
    JOIN (
        SELECT owner_team_id, name_key FROM people
        GROUP BY owner_team_id, name_key HAVING count(*) > 1
    ) AS shared USING (owner_team_id, name_key)
)
"""


def _pairs_count_sql(*, rules: str, before: bool = False) -> str:
    joins = " UNION ".join(
        _JOIN.format(key=key, rules=rules) for key in ("birth_date", "postal_key", "city_key")
    )
    if before:
        joins = joins.replace("people AS", "namesakes AS")
    start = _PEOPLE + (_BEFORE_NAMESAKES if before else "")
    return f"{start} SELECT count(*) FROM ({joins}) AS pairs"


BASELINE_SQL = _pairs_count_sql(rules=_RULES)
BEFORE_SQL = _pairs_count_sql(rules="", before=True)


def main() -> None:
    args = common.arguments(
        "duplicates_find vs a bare self-join on the same blocking keys",
        lambda parser: parser.add_argument("--skip-before", action="store_true"),
    )
    rounds = 3
    with common.bench_database(keep=args.keep):
        from django.db import connection, transaction

        from customers.models import DuplicateCandidate
        from customers.services.duplicates import duplicates_find
        from privacy.core.services.staff import team_create

        size = common.SIZES[args.size]
        team = team_create(name="Bench team")
        common.say(f"storing {size:,} customers")
        common.bulk_load_customers(teams=[team], start=0, count=size, seed=args.seed)
        common.vacuum_analyze("customers_customer", "customers_duplicatecandidate")

        def ours() -> int:
            with transaction.atomic():
                found = duplicates_find()
                assert DuplicateCandidate.objects.count() == found
                transaction.set_rollback(True)
            return found

        def counted(sql: str):
            def run() -> int:
                with connection.cursor() as cursor:
                    cursor.execute(sql)
                    return cursor.fetchone()[0]

            return run

        sides = {"ours": ours, "baseline": counted(BASELINE_SQL)}
        if not args.skip_before:
            sides["before"] = counted(BEFORE_SQL)
        times: dict[str, list[float]] = {name: [] for name in sides}
        pairs: dict[str, int] = {}
        for number in range(rounds):
            order = list(sides) if number % 2 == 0 else list(reversed(sides))
            for name in order:
                with common.timed() as timing:
                    pairs[name] = sides[name]()
                times[name].append(timing.wall)
                common.say(f"round {number + 1}: {name} {timing.wall:.2f} s, {pairs[name]:,} pairs")

        medians = {name: common.median(values) for name, values in times.items()}
        ratio = medians["ours"] / medians["baseline"]
        common.print_table(
            f"Duplicate candidates among {size:,} customers (median of {rounds} rounds)",
            ["side", "seconds", "pairs"],
            [[name, f"{medians[name]:.2f}", f"{pairs[name]:,}"] for name in sides],
        )
        print(
            f"ours / baseline: {ratio:.2f} (target ≤ {TARGET_RATIO}: "
            f"{common.verdict(ratio <= TARGET_RATIO)})"
        )
        if "before" in pairs:
            print(
                f"before / ours: {medians['before'] / medians['ours']:.1f}; pairs the conflict "
                f"rules rule out: {pairs['before'] - pairs['baseline']:,}"
            )
        for line in common.machine_summary():
            print(line)


if __name__ == "__main__":
    main()
