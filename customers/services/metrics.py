"""Fresh derived metrics: customers whose purchases changed are enriched within seconds.

The nightly job enriches every team. Between its runs, whatever adds or moves purchases of a
few customers (API ingestion, a merge and its undo) calls :func:`customer_metrics_queue`;
CSV imports enrich their whole team when the job ends instead (``customers.services.imports``).
Events feed no derived metric (segments read them directly), so they queue nothing.

How a refresh happens:

1. After the writing transaction commits (``transaction.on_commit``), the customer ids go into
   a Redis set of their team (on the broker's Redis). Unless a run of that team is already
   scheduled (a key set with ``NX`` and a time to live), one ``customer_metrics_refresh_task``
   is scheduled ``METRICS_REFRESH_DELAY_SECONDS`` later. A burst of 1,000 posts therefore
   makes one run per window, not 1,000, and each run handles every customer of its window.
2. The run (:func:`customer_metrics_refresh`) first clears the "scheduled" key, so ids that
   arrive from then on schedule the next run, then moves the waiting ids into a "processing"
   set and enriches them with ``customers_enrich(customer_ids=..., rerank_team=True)``: one
   statement recomputes those customers' own metrics and re-ranks the RFM scores of every
   buyer of the team (a new purchase moves the team's quintiles; only changed rows are
   written). The processing set is deleted only after that commits: a worker lost in the
   middle leaves the ids to the redelivered task or to the team's next run. Runs of one team
   are serialised by a transaction-level advisory lock.
3. When Redis cannot be reached the write is not refused: the nightly job catches up, and a
   warning is logged.

Keys name the database, so several databases (a test run, staging) can share one Redis.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from kombu.exceptions import OperationalError as BrokerError
from redis import Redis
from redis.exceptions import RedisError

from customers.models import Purchase
from customers.services.enrichment import customers_enrich
from customers.services.statistics import tables_analyze_if_stale

logger = logging.getLogger(__name__)

# The first key of the advisory lock of a team's metrics run ("MR"); the second is the team.
_REFRESH_NAMESPACE = 0x4D52


def _key(kind: str, team_id: int) -> str:
    return f"customers:metrics:{connection.settings_dict['NAME']}:{team_id}:{kind}"


@contextmanager
def _broker_redis() -> Iterator[Redis]:
    """A client of the broker's Redis server, from Celery's connection pool."""
    with current_app.pool.acquire(block=True) as broker:
        yield broker.default_channel.client


def customer_metrics_queue(*, team_id: int, customer_ids: Iterable[int]) -> None:
    """Refresh the derived metrics of ``customer_ids`` (of team ``team_id``) within seconds.

    Call it inside the transaction that changed their purchases: nothing happens unless and
    until it commits. Debounced per team, see the module docstring.
    """
    ids = sorted(set(customer_ids))
    if ids:
        transaction.on_commit(lambda: _queue_now(team_id, ids))


def _queue_now(team_id: int, customer_ids: list[int]) -> None:
    delay = settings.METRICS_REFRESH_DELAY_SECONDS
    try:
        with _broker_redis() as redis:
            pending = _key("pending", team_id)
            pipeline = redis.pipeline()
            pipeline.sadd(pending, *customer_ids)
            # Waiting ids outlive a lost task for a day; the nightly job covers them anyway.
            pipeline.expire(pending, 24 * 60 * 60)
            # The time to live bounds the wait when a scheduled task is lost.
            pipeline.set(_key("scheduled", team_id), 1, nx=True, ex=delay + 60)
            *_done, is_first = pipeline.execute()
        if is_first:
            from customers.tasks import customer_metrics_refresh_task

            customer_metrics_refresh_task.apply_async(args=[team_id], countdown=delay)
    except (RedisError, BrokerError, OSError):
        logger.warning(
            "Could not queue the metrics refresh of team %s; the nightly run will catch up.",
            team_id,
            exc_info=True,
        )


def customer_metrics_refresh(*, team_id: int) -> int:
    """Enrich the customers queued for ``team_id`` and re-rank the team; rows changed.

    Idempotent: ids are removed from Redis only after their enrichment commits, and an empty
    queue does nothing (no statement, no audit entry).
    """
    processing = _key("processing", team_id)
    with _broker_redis() as redis:
        redis.delete(_key("scheduled", team_id))
        pipeline = redis.pipeline()  # MULTI/EXEC: no id is lost between the two commands
        pipeline.sunionstore(processing, [processing, _key("pending", team_id)])
        pipeline.delete(_key("pending", team_id))
        pipeline.execute()
        customer_ids = sorted(int(member) for member in redis.smembers(processing))
    if not customer_ids:
        return 0
    # Bulk API loads into a young table: plans need statistics before autovacuum comes by.
    tables_analyze_if_stale(models=[Purchase])
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_REFRESH_NAMESPACE, team_id])
        updated = customers_enrich(team_id=team_id, customer_ids=customer_ids, rerank_team=True)
    with _broker_redis() as redis:
        # Only the ids handled here: a concurrent run may have added more since.
        redis.srem(processing, *customer_ids)
    return updated
