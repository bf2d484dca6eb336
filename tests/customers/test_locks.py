"""Identity resolution and erasure of one team wait for each other: they take one lock."""

from django.db import connection

from customers.services.customers import customers_upsert_items
from customers.services.erasure import customers_erasure_collect
from customers.services.locks import team_identity_lock


def advisory_locks_held() -> list[tuple[int, int]]:
    """The two-key advisory locks this connection holds, as (first key, second key)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT classid::int, objid::int FROM pg_locks WHERE locktype = 'advisory' "
            "AND objsubid = 2 AND pid = pg_backend_pid() ORDER BY 1, 2"
        )
        return cursor.fetchall()


def test_identity_resolution_and_erasure_take_the_teams_identity_lock(team_a, team_b):
    # Given no lock held (the test's transaction lasts until its end, and so do the locks)
    assert advisory_locks_held() == []

    # When team A's records are resolved, then the lock of team A is held
    customers_upsert_items(
        actor=None, team=team_a, items=[{"email": "ann@example.com"}], source="api"
    )
    [(namespace, team_id)] = advisory_locks_held()
    assert team_id == team_a.pk

    # When team B's customers are collected for an erasure, then team B's lock of the same kind
    customers_erasure_collect(team=team_b, customer_ids=[])
    assert advisory_locks_held() == sorted([(namespace, team_a.pk), (namespace, team_b.pk)])

    # And those are the locks team_identity_lock takes: taking them again adds none
    team_identity_lock(team_a)
    team_identity_lock(team_b)
    assert advisory_locks_held() == sorted([(namespace, team_a.pk), (namespace, team_b.pk)])
