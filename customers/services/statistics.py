"""Planner statistics after bulk loads: ``ANALYZE`` the tables a load filled.

Autovacuum analyses a table once enough of it changed, but only on its next round (a minute
or more later, longer on a busy server). A query planned in between sees a table it believes
empty, or a tenth of its size: after a bulk purchase import into never-analysed tables, the
team's enrichment chose nested loops and took minutes instead of under a second. So whatever
loads rows in bulk (imports at the end of the job, the demo seed, the metrics refresh after
API batches) analyses the tables it touched before the queries that read them.

``ANALYZE`` needs the table's owner (or, from PostgreSQL 17, the ``MAINTAIN`` privilege); a
role without it gets a warning from PostgreSQL, not an error, and autovacuum remains the
fallback.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection
from django.db.models import Model

# Autovacuum's own default trigger (autovacuum_analyze_threshold + scale_factor * rows).
_STALE_ROWS = 50
_STALE_FRACTION = 0.1


def _tables(models: Iterable[type[Model]]) -> list[str]:
    return sorted({model._meta.db_table for model in models})


def tables_analyze(*, models: Iterable[type[Model]]) -> list[str]:
    """``ANALYZE`` the tables of ``models`` now; the names of the tables analysed."""
    return _analyze(_tables(models))


def tables_analyze_if_stale(*, models: Iterable[type[Model]]) -> list[str]:
    """``ANALYZE`` those tables of ``models`` that were never analysed, or that changed by
    more than autovacuum's default threshold since they last were; the tables analysed.

    Cheap when nothing is stale (one catalogue query), so it can run before every refresh.
    The change counters are the statistics system's, which lag by up to a second.
    """
    tables = _tables(models)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname
            FROM pg_class AS c
            LEFT JOIN pg_stat_user_tables AS s ON s.relid = c.oid
            WHERE c.relname = ANY(%s) AND pg_table_is_visible(c.oid)
              AND (c.reltuples < 0
                   OR coalesce(s.n_mod_since_analyze, 0) > %s + %s * c.reltuples)
            ORDER BY c.relname
            """,
            [tables, _STALE_ROWS, _STALE_FRACTION],
        )
        stale = [name for (name,) in cursor.fetchall()]
    return _analyze(stale)


def _analyze(tables: list[str]) -> list[str]:
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    return tables
