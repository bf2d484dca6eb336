"""The customers app's retention categories, registered into ``privacy.retention.services``.

- **Events** older than the cut-off are deleted, in primary-key batches.
- **Import files**: of every finished import (succeeded or failed) that finished before the
  cut-off, the row report (``ImportRow``) is deleted and the stored file removed after its
  batch commits; the job row stays, with its counts, so the import list keeps its history.
  Pending and running imports are never touched: they need their file to resume.
- **Inactive customers**: a profile nobody touched, nobody bought as and nothing happened to
  since the cut-off (``updated_at``, ``last_purchase_at``, the latest purchase and the latest
  event all before it) is erased through ``privacy.erasure.services.erasure.subject_erase`` (reason
  ``retention``), per team, in batches, so suppression, consent events, merged profiles,
  import report rows and every other app's rows go exactly as with any erasure. Kept: anyone
  an open data-subject request names (and the profile a named one was merged into) and anyone
  whose processing is restricted (restriction is asked for precisely to keep the data).

Customers are chosen with one set-based query per batch, but a customer who becomes active
between that query and the erasure's locks (a few milliseconds) is still erased; the same holds
for an open request filed in that window.
"""

from __future__ import annotations

import datetime
import itertools
from collections import Counter
from dataclasses import dataclass

from django.db import connection, transaction

from customers.models import Customer, Event, ImportJob, ImportRow, ImportStatus, Purchase
from privacy.erasure.services.erasure import subject_erase
from privacy.models import OPEN_STATUSES, DataSubjectRequest, RetentionCategory, Team
from privacy.retention.services import TablePurger, register_purger, rows_purge

EVENT_LABEL = "customers.event"
IMPORT_ROW_LABEL = "customers.import_row"
IMPORT_FILE_LABEL = "customers.import_file"
CUSTOMER_LABEL = "customers.customer"
PURCHASE_LABEL = "customers.purchase"
# Customers per erasure: one erasure is one transaction holding every row of these customers.
CUSTOMERS_PER_ERASURE = 1_000


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def events_purger() -> TablePurger:
    return TablePurger(
        label=EVENT_LABEL, table=Event._meta.db_table, condition="occurred_at < %(before)s"
    )


# --- Import files and row reports -------------------------------------------------------------

_OLD_JOBS = (
    f"SELECT id FROM {_table(ImportJob)} "  # noqa: S608
    f"WHERE status IN ('{ImportStatus.SUCCEEDED.value}', '{ImportStatus.FAILED.value}', "
    f"'{ImportStatus.CANCELLED.value}') "
    "AND COALESCE(finished_at, created_at) < %(before)s"
)


@dataclass(frozen=True)
class ImportFilesPurger:
    """Row reports and stored files of imports finished before the cut-off."""

    def count(self, *, before: datetime.datetime) -> dict[str, int]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT (SELECT count(*) FROM {_table(ImportRow)} "  # noqa: S608
                f"WHERE job_id IN ({_OLD_JOBS})), "
                f"(SELECT count(*) FROM {_table(ImportJob)} "
                f"WHERE id IN ({_OLD_JOBS}) AND file <> '')",
                {"before": before},
            )
            rows, files = cursor.fetchone()
        return {IMPORT_ROW_LABEL: rows, IMPORT_FILE_LABEL: files}

    def purge(self, *, before: datetime.datetime, batch_size: int) -> dict[str, int]:
        rows = rows_purge(
            table=ImportRow._meta.db_table,
            condition=f"job_id IN ({_OLD_JOBS})",
            params={"before": before},
            batch_size=batch_size,
        )
        return {IMPORT_ROW_LABEL: rows, IMPORT_FILE_LABEL: self._files_purge(before, batch_size)}

    @staticmethod
    def _files_purge(before: datetime.datetime, batch_size: int) -> int:
        """Clear ``file`` of old jobs in batches; each batch's files go after it commits."""
        statement = (
            f"WITH batch AS (SELECT id, file FROM {_table(ImportJob)} "  # noqa: S608
            f"WHERE id > %(after)s AND id IN ({_OLD_JOBS}) AND file <> '' "
            "ORDER BY id LIMIT %(limit)s FOR UPDATE) "
            f"UPDATE {_table(ImportJob)} AS job SET file = '' FROM batch "
            "WHERE job.id = batch.id RETURNING job.id, batch.file"
        )
        storage = ImportJob._meta.get_field("file").storage
        cleared, after = 0, 0
        while True:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement, {"before": before, "after": after, "limit": batch_size})
                jobs = sorted(cursor.fetchall())
                names = [name for _id, name in jobs]
                transaction.on_commit(lambda names=names: _files_delete(storage, names))
            cleared += len(jobs)
            if len(jobs) < batch_size:
                return cleared
            after = jobs[-1][0]


def _files_delete(storage, names: list[str]) -> None:
    for name in names:
        storage.delete(name)


# --- Inactive customers -----------------------------------------------------------------------

# Customers that open data-subject requests name, and every profile a named one was merged into
# (erasing that survivor would take the named profile with it).
_PROTECTED_CTE = f"""
protected(id) AS (
    SELECT listed.value::bigint
    FROM {_table(DataSubjectRequest)} AS request,
        jsonb_array_elements_text(CASE WHEN jsonb_typeof(request.customer_ids) = 'array'
            THEN request.customer_ids ELSE '[]'::jsonb END) AS listed(value)
    WHERE request.status = ANY(%(open)s) AND listed.value ~ '^[0-9]{{1,18}}$'
    UNION
    SELECT customer.merged_into_id FROM {_table(Customer)} AS customer
    JOIN protected ON customer.id = protected.id
    WHERE customer.merged_into_id IS NOT NULL
)"""  # noqa: S608

# Profiles (not merged away) without any activity since the cut-off, not protected.
_INACTIVE_WHERE = f"""
customer.merged_into_id IS NULL
AND customer.processing_restricted_at IS NULL
AND customer.updated_at < %(before)s
AND (customer.last_purchase_at IS NULL OR customer.last_purchase_at < %(before)s)
AND NOT EXISTS (
    SELECT 1 FROM {_table(Event)} AS event
    WHERE event.customer_id = customer.id AND event.occurred_at >= %(before)s
)
AND NOT EXISTS (
    SELECT 1 FROM {_table(Purchase)} AS purchase
    WHERE purchase.customer_id = customer.id AND purchase.occurred_at >= %(before)s
)
AND NOT EXISTS (SELECT 1 FROM protected WHERE protected.id = customer.id)
"""  # noqa: S608

_CANDIDATES_SQL = f"""
WITH RECURSIVE {_PROTECTED_CTE}
SELECT customer.owner_team_id, customer.id FROM {_table(Customer)} AS customer
WHERE {_INACTIVE_WHERE}
    AND (customer.owner_team_id, customer.id) > (%(after_team)s, %(after_id)s)
ORDER BY customer.owner_team_id, customer.id
LIMIT %(limit)s
"""  # noqa: S608

# What erasing every inactive customer now would delete: the profiles with the ones merged into
# them (as the erasure finds them) and their purchases. Their events are not counted: they are
# older than the cut-off, so the events policy (which runs first) usually takes them.
_COUNT_SQL = f"""
WITH RECURSIVE {_PROTECTED_CTE},
subject(id, owner_team_id) AS (
    SELECT customer.id, customer.owner_team_id FROM {_table(Customer)} AS customer
    WHERE {_INACTIVE_WHERE}
    UNION
    SELECT merged.id, merged.owner_team_id FROM {_table(Customer)} AS merged
    JOIN subject ON merged.merged_into_id = subject.id
        AND merged.owner_team_id = subject.owner_team_id
)
SELECT
    (SELECT count(*) FROM subject),
    (SELECT count(*) FROM {_table(Purchase)} WHERE customer_id IN (SELECT id FROM subject))
"""  # noqa: S608


def _params(before: datetime.datetime) -> dict:
    return {"before": before, "open": [str(status) for status in OPEN_STATUSES]}


@dataclass(frozen=True)
class InactiveCustomersPurger:
    """Erases customers without activity since the cut-off, through the erasure service."""

    def count(self, *, before: datetime.datetime) -> dict[str, int]:
        with connection.cursor() as cursor:
            cursor.execute(_COUNT_SQL, _params(before))
            customers, purchases = cursor.fetchone()
        return {CUSTOMER_LABEL: customers, PURCHASE_LABEL: purchases}

    def purge(self, *, before: datetime.datetime, batch_size: int) -> dict[str, int]:
        """Erase in batches of at most ``batch_size`` (and ``CUSTOMERS_PER_ERASURE``) customers:
        one query names the batch, then one erasure per team in it, each its own transaction.
        Returns what the erasures deleted, per table label."""
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        limit = min(batch_size, CUSTOMERS_PER_ERASURE)
        counts: Counter[str] = Counter({CUSTOMER_LABEL: 0, PURCHASE_LABEL: 0})
        after = (0, 0)
        while True:
            with connection.cursor() as cursor:
                cursor.execute(
                    _CANDIDATES_SQL,
                    {
                        **_params(before),
                        "after_team": after[0],
                        "after_id": after[1],
                        "limit": limit,
                    },
                )
                batch = cursor.fetchall()
            if batch:
                teams = Team.objects.in_bulk({team_id for team_id, _id in batch})
                for team_id, rows in itertools.groupby(batch, key=lambda row: row[0]):
                    report = subject_erase(
                        customer_ids=[customer_id for _team, customer_id in rows],
                        team=teams[team_id],
                        reason="retention",
                    )
                    counts.update(report.counts)
            if len(batch) < limit:
                return dict(counts)
            after = batch[-1]


def customers_purgers_register() -> None:
    """Register the customers app's purgers (from ``CustomersConfig.ready()``)."""
    register_purger(RetentionCategory.EVENTS, events_purger())
    register_purger(RetentionCategory.IMPORT_FILES, ImportFilesPurger())
    register_purger(RetentionCategory.INACTIVE_CUSTOMERS, InactiveCustomersPurger())
