"""Retention: each category of data is kept for its policy's period, then purged.

The privacy core cannot know the tables of the apps built on it, so each category's work is a
*purger* that an app registers in its ``AppConfig.ready()``::

    register_purger(RetentionCategory.EVENTS, TablePurger(label="customers.event", ...))

A purger has two methods, both taking the cut-off ``before`` (rows older than it go):

- ``count(*, before)`` says what would be removed, per table label, without changing anything;
- ``purge(*, before, batch_size)`` removes it in batches of at most ``batch_size`` rows, each
  batch in its own transaction, and returns the rows removed per table label.

Purges are set-based: a batch is one ``DELETE … WHERE id IN (SELECT id … ORDER BY id LIMIT n)``
that walks the primary key forward, so a purge of ten million rows holds no long transaction,
loads no row into Python and runs the same queries per batch whatever the table's size
(``rows_purge``; ``TablePurger`` for "rows of one table older than …").

``retention_purge`` runs every active policy (the nightly Celery job, or "Run now" in the staff
UI), records each policy's last run and counts and writes one ``retention.purge`` audit entry
per category; ``retention_preview`` is its dry run. Both only ever touch active policies.

The privacy core purges its own categories here: audit entries (the log's trigger lets DELETE
through only with ``SET LOCAL marketbase.retention = 'on'`` and only for entries older than the
active audit policy; the app's database role deletes them only through the database function
``privacy_audit_entries_purge``, see migration 0005) and the ZIP files of access packages.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, transaction
from django.utils import timezone

from privacy.core.registry import Registry
from privacy.core.services.audit import audit_record
from privacy.models import AuditEntry, DataSubjectRequest, RetentionCategory, RetentionPolicy

logger = logging.getLogger(__name__)

User = AbstractBaseUser | AnonymousUser

DEFAULT_BATCH_SIZE = 10_000
# The audit log is kept at least this long whatever its policy says; the database enforces it
# too (migration 0007), so neither staff nor the app's database role can empty the log.
AUDIT_FLOOR_DAYS = 365
# The policies a fresh installation starts with (migration 0005 creates the same ones).
DEFAULT_RETAIN_DAYS: dict[str, int] = {
    RetentionCategory.EVENTS: 730,
    RetentionCategory.INACTIVE_CUSTOMERS: 1095,
    RetentionCategory.IMPORT_FILES: 90,
    RetentionCategory.EXPORT_PACKAGES: 30,
    RetentionCategory.AUDIT_ENTRIES: 1825,
}
AUDIT_ENTRY_LABEL = "privacy.audit_entry"
PACKAGE_LABEL = "privacy.access_package"


class Purger(Protocol):
    def count(self, *, before: datetime.datetime) -> dict[str, int]: ...

    def purge(self, *, before: datetime.datetime, batch_size: int) -> dict[str, int]: ...


_purgers: Registry[Purger] = Registry("retention purgers")


def register_purger(category: str, purger: Purger) -> None:
    """Let an app purge one retention category (call it from ``AppConfig.ready()``).

    Registering a category again is a no-op with an equal purger and an error with another.
    """
    if category not in RetentionCategory.values:
        raise ValueError(f"Unknown retention category {category!r}")
    _purgers.register(category, purger)


def purgers() -> dict[str, Purger]:
    return dict(_purgers)


# --- Set-based purging in batches -----------------------------------------------------------------


def _quote(table: str) -> str:
    return connection.ops.quote_name(table)


def _batches_run(statement: str, params: Mapping[str, Any], batch_size: int) -> int:
    """Run a batch statement until a batch comes back short; returns the rows deleted.

    ``statement`` deletes the next batch of at most ``%(limit)s`` rows with ids after
    ``%(after)s`` and returns one row: (rows deleted, rows selected, last id selected).
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    deleted, after = 0, 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, {**params, "after": after, "limit": batch_size})
            gone, selected, last_id = cursor.fetchone()
        deleted += gone
        if selected < batch_size:
            return deleted
        after = last_id


def rows_purge(*, table: str, condition: str, params: Mapping[str, Any], batch_size: int) -> int:
    """Delete the rows of ``table`` that match ``condition``, in batches; returns how many.

    ``condition`` is SQL over the table's columns with ``%(name)s`` parameters from ``params``
    (the table needs an integer ``id``). Each batch is one statement in its own transaction:
    it takes the next ``batch_size`` matching ids after the last batch's and deletes those rows,
    so the walk over the primary key visits every row at most once, whatever the table's size.
    The rows are deleted by their physical address (``ctid``), read in the same statement and
    snapshot, which spares a second index look-up per row; a row that a concurrent transaction
    updated meanwhile has another address and is left for the next run.
    """
    quoted = _quote(table)
    statement = (
        f"WITH batch AS (SELECT id, ctid FROM {quoted} WHERE id > %(after)s AND ({condition}) "  # noqa: S608
        "ORDER BY id LIMIT %(limit)s), "
        f"gone AS (DELETE FROM {quoted} WHERE ctid = ANY(ARRAY(SELECT ctid FROM batch)) "
        "RETURNING 1) "
        "SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM batch), "
        "(SELECT max(id) FROM batch)"
    )
    return _batches_run(statement, params, batch_size)


@dataclass(frozen=True)
class TablePurger:
    """Purges the rows of one table that ``condition`` (SQL, with ``%(before)s``) matches."""

    label: str
    table: str
    condition: str

    def count(self, *, before: datetime.datetime) -> dict[str, int]:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT count(*) FROM {_quote(self.table)} WHERE {self.condition}",  # noqa: S608
                {"before": before},
            )
            return {self.label: cursor.fetchone()[0]}

    def purge(self, *, before: datetime.datetime, batch_size: int) -> dict[str, int]:
        deleted = rows_purge(
            table=self.table,
            condition=self.condition,
            params={"before": before},
            batch_size=batch_size,
        )
        return {self.label: deleted}


# --- The privacy core's own categories ------------------------------------------------------------


@dataclass(frozen=True)
class AuditEntryPurger:
    """Audit entries older than the cut-off and than the active audit policy.

    The app's database role may not DELETE from the audit log at all; each batch goes through
    ``privacy_audit_entries_purge`` (migration 0005), which sets ``marketbase.retention`` for
    the log's trigger and deletes only entries past the policy by the database's clock, so a
    clock difference between application and database never fails a batch.
    """

    _OLD = (
        "occurred_at < %(before)s AND occurred_at < now() - ("  # noqa: S608
        f"SELECT make_interval(days => GREATEST(policy.retain_days, {AUDIT_FLOOR_DAYS})) "
        f"FROM {_quote(RetentionPolicy._meta.db_table)} AS policy "
        f"WHERE policy.category = '{RetentionCategory.AUDIT_ENTRIES.value}' AND policy.is_active)"
    )

    def count(self, *, before: datetime.datetime) -> dict[str, int]:
        table = _quote(AuditEntry._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table} WHERE {self._OLD}", {"before": before})  # noqa: S608
            return {AUDIT_ENTRY_LABEL: cursor.fetchone()[0]}

    def purge(self, *, before: datetime.datetime, batch_size: int) -> dict[str, int]:
        deleted = _batches_run(
            "SELECT deleted, selected, last_id "
            "FROM privacy_audit_entries_purge(%(before)s, %(after)s, %(limit)s)",
            {"before": before},
            batch_size,
        )
        return {AUDIT_ENTRY_LABEL: deleted}


@dataclass(frozen=True)
class AccessPackagePurger:
    """Deletes the ZIP files of access packages whose request completed and whose download link
    expired before the cut-off (both, when both are known), and clears ``package``.

    The request keeps its history; each cleared package gets a ``request.package_delete`` audit
    entry on its request. Files are deleted after their batch commits, so a rolled-back batch
    keeps them.
    """

    _OLD = "package <> '' AND GREATEST(completed_at, package_expires_at) < %(before)s"

    def count(self, *, before: datetime.datetime) -> dict[str, int]:
        table = _quote(DataSubjectRequest._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table} WHERE {self._OLD}", {"before": before})  # noqa: S608
            return {PACKAGE_LABEL: cursor.fetchone()[0]}

    def purge(self, *, before: datetime.datetime, batch_size: int) -> dict[str, int]:
        table = _quote(DataSubjectRequest._meta.db_table)
        statement = (
            f"WITH batch AS (SELECT id, package, package_size FROM {table} "  # noqa: S608
            f"WHERE id > %(after)s AND {self._OLD} ORDER BY id LIMIT %(limit)s FOR UPDATE) "
            f"UPDATE {table} AS request SET package = '', package_size = NULL, updated_at = now() "
            "FROM batch WHERE request.id = batch.id "
            "RETURNING request.id, batch.package, batch.package_size, request.owner_team_id"
        )
        storage = DataSubjectRequest._meta.get_field("package").storage
        cleared, after = 0, 0
        while True:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute(
                        statement, {"before": before, "after": after, "limit": batch_size}
                    )
                    rows = sorted(cursor.fetchall())
                AuditEntry.objects.bulk_create(
                    AuditEntry(
                        action="request.package_delete",
                        object_type=DataSubjectRequest._meta.label_lower,
                        object_id=str(request_id),
                        team_id=team_id,
                        metadata={"reason": "retention", "bytes": size},
                    )
                    for request_id, _name, size, team_id in rows
                )
                names = [name for _id, name, _size, _team_id in rows]
                transaction.on_commit(lambda names=names: _files_delete(storage, names))
            cleared += len(rows)
            if len(rows) < batch_size:
                return {PACKAGE_LABEL: cleared}
            after = rows[-1][0]


def _files_delete(storage, names: list[str]) -> None:
    for name in names:
        storage.delete(name)


# --- Policies, preview and purge ------------------------------------------------------------------


def retention_policies_ensure() -> int:
    """Create the default policies that are missing (never changes existing ones); returns how
    many were created. For tests that flush the database, and fresh demo data."""
    existing = set(RetentionPolicy.objects.values_list("category", flat=True))
    missing = [
        RetentionPolicy(category=category, retain_days=days)
        for category, days in DEFAULT_RETAIN_DAYS.items()
        if category not in existing
    ]
    RetentionPolicy.objects.bulk_create(missing, ignore_conflicts=True)
    return len(missing)


@transaction.atomic
def retention_policy_update(
    *, policy: RetentionPolicy, retain_days: int, is_active: bool, actor: User | None = None
) -> RetentionPolicy:
    """Change a policy's period and whether the nightly purge applies it; audited with the
    values before and after (``retention.policy_change``)."""
    if retain_days < 1:
        raise ValueError("A policy keeps data for at least one day.")
    if policy.category == RetentionCategory.AUDIT_ENTRIES and retain_days < AUDIT_FLOOR_DAYS:
        raise ValueError(f"Audit entries are kept at least {AUDIT_FLOOR_DAYS} days.")
    locked = RetentionPolicy.objects.select_for_update().get(pk=policy.pk)
    before = {"retain_days": locked.retain_days, "is_active": locked.is_active}
    after = {"retain_days": retain_days, "is_active": is_active}
    if before != after:
        locked.retain_days, locked.is_active = retain_days, is_active
        locked.save(update_fields=["retain_days", "is_active", "updated_at"])
        audit_record(
            action="retention.policy_change",
            actor=actor,
            target=locked,
            metadata={"category": locked.category, "before": before, "after": after},
        )
    return locked


def retention_cutoff(
    policy: RetentionPolicy, *, now: datetime.datetime | None = None
) -> datetime.datetime:
    """The time before which the policy's data is past retention."""
    return (now or timezone.now()) - datetime.timedelta(days=policy.retain_days)


@dataclass(frozen=True)
class RetentionPreview:
    """What one active policy would remove now, per table label."""

    policy: RetentionPolicy
    before: datetime.datetime
    counts: dict[str, int]
    # False when no app registered a purger for the category: nothing would be removed.
    is_available: bool = True

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def retention_preview(*, actor: User | None = None) -> list[RetentionPreview]:
    """Dry run: what each active policy would remove now, per table, changing nothing.

    Counts scan what the purge would delete (a count over a large table takes a while). A
    preview asked for by staff (``actor``) is audited, one ``retention.preview`` entry per
    category.
    """
    now = timezone.now()
    previews = []
    for policy in RetentionPolicy.objects.filter(is_active=True):
        purger = _purgers.get(policy.category)
        before = retention_cutoff(policy, now=now)
        counts = purger.count(before=before) if purger is not None else {}
        previews.append(
            RetentionPreview(
                policy=policy, before=before, counts=counts, is_available=purger is not None
            )
        )
    if actor is not None:
        for preview in previews:
            audit_record(
                action="retention.preview",
                actor=actor,
                target=preview.policy,
                metadata={
                    "category": preview.policy.category,
                    "before": preview.before.isoformat(),
                    "counts": preview.counts,
                },
            )
    return previews


def retention_purge(
    *,
    category: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    actor: User | None = None,
) -> dict[str, dict[str, int]]:
    """Remove what every active policy (or the one of ``category``) keeps no longer.

    Each category runs its purger in batches of ``batch_size`` rows, each batch in its own
    transaction, then records the policy's ``last_run_at`` and ``last_run_counts`` and writes a
    ``retention.purge`` audit entry with the cut-off and the counts. Idempotent: a second run
    finds nothing older than the cut-off. A purger that fails is audited with the error's kind
    and the error raised; what its finished batches removed stays removed, and the next run
    goes on from there. Returns the rows removed per category and table label.
    """
    policies = RetentionPolicy.objects.filter(is_active=True)
    if category is not None:
        if category not in RetentionCategory.values:
            raise ValueError(f"Unknown retention category {category!r}")
        policies = policies.filter(category=category)
    results: dict[str, dict[str, int]] = {}
    for policy in policies:
        purger = _purgers.get(policy.category)
        if purger is None:
            logger.warning("No purger registered for retention category %s", policy.category)
            continue
        before = retention_cutoff(policy)
        logger.info("Retention purge of %s before %s", policy.category, before.isoformat())
        try:
            counts = purger.purge(before=before, batch_size=batch_size)
        except Exception as error:
            _purge_record(policy=policy, before=before, actor=actor, error=type(error).__name__)
            raise
        _purge_record(policy=policy, before=before, actor=actor, counts=counts)
        logger.info("Retention purge of %s removed %s", policy.category, counts)
        results[policy.category] = counts
    return results


@transaction.atomic
def _purge_record(
    *,
    policy: RetentionPolicy,
    before: datetime.datetime,
    actor: User | None,
    counts: dict[str, int] | None = None,
    error: str = "",
) -> None:
    metadata: dict[str, Any] = {
        "category": policy.category,
        "retain_days": policy.retain_days,
        "before": before.isoformat(),
    }
    if error:
        metadata["error"] = error
    else:
        metadata["counts"] = counts or {}
        RetentionPolicy.objects.filter(pk=policy.pk).update(
            last_run_at=timezone.now(), last_run_counts=counts or {}
        )
    audit_record(action="retention.purge", actor=actor, target=policy, metadata=metadata)


@transaction.atomic
def retention_purge_enqueue(*, category: str | None = None, actor: User | None = None) -> None:
    """Ask the worker to purge now (one category, or every active policy); audited. The job is
    queued after commit."""
    if category is not None and category not in RetentionCategory.values:
        raise ValueError(f"Unknown retention category {category!r}")
    from privacy.retention.tasks import retention_purge_task

    audit_record(
        action="retention.run_request",
        actor=actor,
        object_type=RetentionPolicy._meta.label_lower,
        metadata={"category": category or "all"},
    )
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    transaction.on_commit(lambda: retention_purge_task.delay(category=category, actor_id=actor_id))
