"""CSV imports: create a job, preview it, and run it in resumable chunks."""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import BinaryIO, TypeVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext
from kombu.exceptions import OperationalError as KombuOperationalError

from customers.models import (
    Customer,
    CustomField,
    Event,
    Identity,
    ImportJob,
    ImportKind,
    ImportRow,
    ImportStatus,
    ImportTemplate,
    Purchase,
    RowOutcome,
)
from customers.normalisation import (
    AUTO,
    DATE_ORDERS,
    DateOrderEvidence,
    NormalisedCustomer,
    normalise_customer_row,
)
from customers.services.csv_files import (
    CUSTOMER_TARGETS,
    EVENT_FIELDS,
    EVENT_PROPERTY_PREFIX,
    PURCHASE_FIELDS,
    FileProblem,
    FileShape,
    SourceRow,
    apply_mapping,
    inspect_file,
    read_rows,
    suggest_mapping,
)
from customers.services.custom_fields import (
    ATTRIBUTE_PREFIX,
    custom_field_names,
    custom_fields_by_key,
    custom_values_clean,
)
from customers.services.import_files import (
    import_file_discard,
    import_file_open,
    import_file_store,
)
from customers.services.ingestion import (
    ImportRowResult,
    events_import_rows,
    purchases_import_rows,
)
from customers.services.statistics import tables_analyze
from customers.services.upsert import Resolution, customers_upsert
from privacy.consent.services.records import consents_record_bulk
from privacy.core.crypto import blind_index
from privacy.core.services.audit import audit_record
from privacy.models import ConsentChannel, ConsentSource, ConsentStatus, Team

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

# Files of behaviour events and purchases go through the ingestion service, chunk by chunk.
_ACTIVITY_IMPORTERS = {
    ImportKind.PURCHASES: purchases_import_rows,
    ImportKind.EVENTS: events_import_rows,
}
# The mapped fields that name the customer: a file must map at least one of them.
_IDENTIFIER_FIELDS = {
    ImportKind.CUSTOMERS: ("email", "phone", "external_id", "wechat_id"),
    ImportKind.PURCHASES: ("customer_external_id", "email"),
    ImportKind.EVENTS: ("customer_external_id", "email"),
}
# The tables a job of each kind fills, analysed when it ends.
_LOADED_MODELS = {
    ImportKind.CUSTOMERS: (Customer, Identity, ImportRow),
    ImportKind.PURCHASES: (Purchase, ImportRow),
    ImportKind.EVENTS: (Event, ImportRow),
}
# The mapped fields that hold dates, read by the import's date order.
_DATE_FIELDS = {
    ImportKind.CUSTOMERS: ("birth_date", "signup_date"),
    ImportKind.PURCHASES: ("occurred_at",),
    ImportKind.EVENTS: ("occurred_at",),
}
# The wizard's preview infers the date order of a file from at most this many rows.
PREVIEW_SCAN_ROWS = 100_000


def date_columns(job: ImportJob) -> dict[str, str]:
    """``{field: column}`` for the job's mapped date columns."""
    fields = _DATE_FIELDS.get(job.kind, ())
    return {field: column for column, field in job.mapping.items() if field in fields}


def _scan(
    job: ImportJob, handle: BinaryIO, shape: FileShape, *, limit: int | None = None
) -> tuple[int, dict[str, str]]:
    """Count the file's rows and settle the order of each mapped date column.

    ``{field: order}`` holds the job's ``date_order`` for every date column when it is
    ``day_first`` or ``month_first``; with ``auto`` (the default), the order the column's
    values prove (any ``25/03`` and no ``03/25`` is day first), and nothing for a column
    that proves neither or both: its rows are read by their country, with a warning for
    every date that could be read both ways.
    """
    columns = date_columns(job)
    chosen = job.options.get("date_order") or AUTO
    evidence = {field: DateOrderEvidence() for field in columns} if chosen == AUTO else {}
    total = 0
    for row in islice(read_rows(handle, shape), limit):
        total += 1
        if evidence and row.values is not None:
            for field, column in columns.items():
                evidence[field].add(row.values.get(column, ""))
    if chosen != AUTO:
        return total, dict.fromkeys(columns, chosen)
    orders = {field: found.order for field, found in evidence.items()}
    return total, {field: order for field, order in orders.items() if order}


@dataclass(frozen=True)
class PreparedRow:
    line_number: int
    record: NormalisedCustomer | None
    rejection: str
    source: str


def _prepare(
    row: SourceRow, job: ImportJob, today: datetime.date, definitions: dict[str, CustomField]
) -> PreparedRow:
    if row.values is None:
        return PreparedRow(row.line_number, None, row.problem, "")
    raw = apply_mapping(row.values, job.mapping)
    source = (raw.get("source") or job.options.get("source_channel") or "import").strip().lower()
    # The file's channel names the external ids of rows that do not say their own source.
    raw["source"] = source
    record = normalise_customer_row(
        raw,
        default_country=job.options.get("default_country") or None,
        today=today,
        date_orders=job.options.get("date_orders"),
        columns=date_columns(job),
    )
    if record.rejection:
        return PreparedRow(row.line_number, None, record.rejection, source)
    _prepare_custom_values(record, row.values, job.mapping, definitions)
    return PreparedRow(row.line_number, record, "", source[:32])


def _prepare_custom_values(
    record: NormalisedCustomer,
    values: dict[str, str],
    mapping: dict[str, str],
    definitions: dict[str, CustomField],
) -> None:
    """Check the columns mapped to custom fields; a value that does not fit is left out with a
    warning naming its column, and the row is kept."""
    columns = {
        target.removeprefix(ATTRIBUTE_PREFIX): column
        for column, target in mapping.items()
        if target.startswith(ATTRIBUTE_PREFIX)
    }
    if not columns:
        return
    checked = custom_values_clean(
        definitions=definitions,
        values={key: values.get(column, "") for key, column in columns.items()},
        from_text=True,
    )
    record.attributes = {key: value for key, value in checked.plain.items() if value is not None}
    record.private_attributes = {
        key: value for key, value in checked.personal.items() if value is not None
    }
    for key, reason in checked.errors.items():
        record.warnings.append((f"{ATTRIBUTE_PREFIX}{key}", f"“{columns[key]}”: {reason}"))


def mapping_targets(team: Team, kind: str = ImportKind.CUSTOMERS) -> set[str]:
    """What a column of a file of ``kind`` may be mapped to: for customers, the customer fields
    and the team's custom fields (``attributes.<key>``); for purchases and events, the fields
    their rows are read by. A target ending in a dot (``properties.``) admits any name after
    it."""
    if kind == ImportKind.PURCHASES:
        return set(PURCHASE_FIELDS)
    if kind == ImportKind.EVENTS:
        return {*EVENT_FIELDS, EVENT_PROPERTY_PREFIX}
    custom = CustomField.objects.filter(owner_team=team).values_list("key", flat=True)
    return {*CUSTOMER_TARGETS, *(f"{ATTRIBUTE_PREFIX}{key}" for key in custom)}


def _is_target(target: str, targets: set[str]) -> bool:
    if target in targets and not target.endswith("."):
        return True
    prefix, dot, name = target.partition(".")
    return bool(dot and name.strip()) and f"{prefix}." in targets


def mapping_unknown_targets(
    mapping: dict[str, str], targets: set[str], kind: str = ImportKind.CUSTOMERS
) -> dict[str, str]:
    """Column → message for each column mapped to something that is not a target."""
    if kind == ImportKind.CUSTOMERS:
        explanation = gettext("which is neither a customer field nor a custom field of the team")
    else:
        explanation = gettext("which is not a field of %(kind)s files (%(fields)s)") % {
            "kind": ImportKind(kind).label.lower(),
            "fields": ", ".join(
                sorted(f"{target}<name>" if target.endswith(".") else target for target in targets)
            ),
        }
    return {
        column: gettext("“%(column)s” is mapped to “%(target)s”, %(explanation)s.")
        % {"column": column, "target": target, "explanation": explanation}
        for column, target in mapping.items()
        if target and not _is_target(target, targets)
    }


def file_format(options: dict) -> dict:
    """The file-shape options of a job (forced delimiter, header line or not)."""
    return {
        "delimiter": options.get("delimiter") or None,
        "has_header": options.get("has_header", True),
    }


def record_fingerprint(record: NormalisedCustomer, source: str) -> str:
    """Keyed hash of a normalised record (fields, identities, source), without personal data."""
    parts: list[object] = [source, sorted(record.external_ids), sorted(record.fields.items())]
    if record.attributes or record.private_attributes:
        parts.append(sorted({**record.attributes, **record.private_attributes}.items()))
    canonical = json.dumps(
        parts,
        default=str,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return blind_index(canonical, purpose="import-record")


def _already_imported(job: ImportJob, fingerprints: dict[int, str]) -> dict[int, Resolution]:
    """Rows whose exact record an earlier import of this team already applied: unchanged."""
    if not fingerprints:
        return {}
    earlier = dict(
        ImportRow.objects.filter(
            job__owner_team_id=job.owner_team_id,
            fingerprint__in=set(fingerprints.values()),
            customer__isnull=False,
        )
        .exclude(job=job)
        .values_list("fingerprint", "customer_id")
    )
    return {
        line: Resolution(RowOutcome.UNCHANGED, earlier[fingerprint])
        for line, fingerprint in fingerprints.items()
        if fingerprint in earlier
    }


def import_job_create(
    *,
    user: AbstractBaseUser,
    team: Team,
    upload: UploadedFile,
    kind: str = ImportKind.CUSTOMERS,
    mapping: dict[str, str] | None = None,
    options: dict | None = None,
    is_dry_run: bool = False,
) -> ImportJob:
    """Check and store an uploaded file, then queue its import (after the transaction commits).

    The file is stored sealed and without card numbers (``import_file_store``); it is deleted
    when the run is over unless ``options["keep_file"]`` asks to keep it. Raises
    ``ValidationError`` naming the problem when the file cannot be imported at all.
    """
    try:
        shape = inspect_file(upload.file, **file_format(options or {}))
    except FileProblem as problem:
        raise ValidationError({"file": problem.translated()}) from problem
    mapping = mapping or suggest_mapping(shape.header, custom_field_names(team.pk))
    unknown = sorted(set(mapping) - set(shape.header))
    if unknown:
        raise ValidationError({"mapping": f"These columns are not in the file: {unknown}"})
    if (options or {}).get("date_order", AUTO) not in DATE_ORDERS:
        raise ValidationError({"date_order": f"Choose one of: {', '.join(DATE_ORDERS)}."})
    unknown_targets = mapping_unknown_targets(mapping, mapping_targets(team, kind), kind)
    if unknown_targets:
        raise ValidationError({"mapping": list(unknown_targets.values())})
    identifiers = _IDENTIFIER_FIELDS.get(kind, _IDENTIFIER_FIELDS[ImportKind.CUSTOMERS])
    if not any(field in mapping.values() for field in identifiers):
        raise ValidationError(
            {"mapping": f"Map at least one identifier column: {', '.join(identifiers)}."}
        )
    # Sealed, without card numbers, before anything refers to it.
    file_field = ImportJob._meta.get_field("file")
    stored_name = import_file_store(
        storage=file_field.storage,
        name=file_field.generate_filename(None, upload.name or "import.csv"),
        upload=upload.file,
        encoding=shape.encoding,
        delimiter=shape.delimiter,
    )
    try:
        with transaction.atomic():
            job = ImportJob.objects.create(
                owner_team=team,
                created_by=user,
                kind=kind,
                file=stored_name,
                original_filename=(upload.name or "")[:255],
                encoding=shape.encoding,
                delimiter=shape.delimiter,
                mapping=mapping,
                options=options or {},
                is_dry_run=is_dry_run,
            )
            audit_record(
                action="import.create",
                actor=user,
                target=job,
                metadata={"kind": kind, "dry_run": is_dry_run},
            )
            transaction.on_commit(lambda: import_job_enqueue(job_id=job.pk))
    except BaseException:
        file_field.storage.delete(stored_name)
        raise
    return job


def _chunks(rows: Iterator[_T], size: int) -> Iterator[list[_T]]:
    while chunk := list(islice(rows, size)):
        yield chunk


def import_job_run(*, job_id: int, chunk_size: int | None = None) -> ImportJob | None:
    """Run (or resume) an import. Each chunk commits its customers, its report lines and the
    job's resume point together, so a crash loses nothing and repeats nothing."""
    chunk_size = chunk_size or settings.IMPORT_CHUNK_SIZE
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None or job.status in STOPPED_STATUSES:
        return job
    today = timezone.localdate()
    with import_file_open(job.file.storage, job.file.name) as handle:
        try:
            shape = inspect_file(handle, **file_format(job.options))
        except FileProblem as problem:
            # Checked when it was uploaded: only a file changed since, or a stricter check, fails.
            import_job_fail(job_id=job.pk, message=str(problem))
            return ImportJob.objects.get(pk=job.pk)
        if job.status == ImportStatus.PENDING:
            # One pass before the first chunk: the file's size and its date order, kept with
            # the job so that a resumed run reads the rest of the file the same way.
            total, date_orders = _scan(job, handle, shape)
            job.options = {**job.options, "date_orders": date_orders}
            # Only a job still waiting starts: one cancelled meanwhile (or started by another
            # delivery of the task) is left as it is.
            started = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.PENDING).update(
                status=ImportStatus.RUNNING,
                started_at=timezone.now(),
                total_rows=total,
                options=job.options,
            )
            if not started:
                return ImportJob.objects.get(pk=job.pk)
        rows = read_rows(handle, shape, start_line=job.next_line)
        if job.kind in _ACTIVITY_IMPORTERS:
            for chunk in _chunks(rows, chunk_size):
                _import_activity_chunk(job, chunk)
        else:
            definitions = custom_fields_by_key(job.owner_team_id)
            prepared = (_prepare(row, job, today, definitions) for row in rows)
            for chunk in _chunks(prepared, chunk_size):
                _import_chunk(job, chunk)
    _analyze_loaded_tables(job.pk)
    return _finish(job)


def _analyze_loaded_tables(job_id: int) -> None:
    """Statistics for what the job stored, before the enrichment its end queues plans on them
    (on never-analysed tables the planner takes them for empty)."""
    job = ImportJob.objects.get(pk=job_id)
    if not job.is_dry_run and job.created_count + job.updated_count + job.merged_count:
        tables_analyze(models=_LOADED_MODELS.get(job.kind, _LOADED_MODELS[ImportKind.CUSTOMERS]))


@transaction.atomic
def _import_activity_chunk(job: ImportJob, chunk: list[SourceRow]) -> None:
    """Store a chunk of a purchases or events file; report lines and resume point with it."""
    locked = ImportJob.objects.select_for_update().get(pk=job.pk)
    chunk = [row for row in chunk if row.line_number >= locked.next_line]
    if not chunk:
        return
    readable = [
        (row.line_number, apply_mapping(row.values, job.mapping))
        for row in chunk
        if row.values is not None
    ]
    savepoint = transaction.savepoint() if job.is_dry_run else None
    results: dict[int, ImportRowResult] = {}
    if readable:
        importer = _ACTIVITY_IMPORTERS[job.kind]
        results = {
            result.line_number: result
            for result in importer(
                actor=job.created_by,
                team=job.owner_team,
                rows=readable,
                options=job.options,
                date_orders=job.options.get("date_orders"),
                columns=date_columns(job),
            )
        }
    if savepoint is not None:
        transaction.savepoint_rollback(savepoint)
    counts = dict.fromkeys(RowOutcome.values, 0)
    warning_rows = 0
    report = []
    for row in chunk:
        result = results.get(row.line_number)
        outcome = result.outcome if result else RowOutcome.REJECTED
        counts[outcome] += 1
        warnings = list(result.warnings) if result else []
        warning_rows += bool(warnings)
        report.append(
            ImportRow(
                job=job,
                line_number=row.line_number,
                outcome=outcome,
                warnings=warnings,
                reason=(result.reason if result else row.problem)[:200],
                customer_id=result.customer_id if result else None,
            )
        )
    ImportRow.objects.bulk_create(report, ignore_conflicts=True)
    locked.processed_rows += len(chunk)
    locked.next_line = chunk[-1].line_number + 1
    locked.created_count += counts[RowOutcome.CREATED]
    locked.unchanged_count += counts[RowOutcome.UNCHANGED]
    locked.rejected_count += counts[RowOutcome.REJECTED]
    locked.warning_count += warning_rows
    locked.save()


@transaction.atomic
def _import_chunk(job: ImportJob, chunk: list[PreparedRow]) -> None:
    locked = ImportJob.objects.select_for_update().get(pk=job.pk)
    chunk = [row for row in chunk if row.line_number >= locked.next_line]
    if not chunk:
        return
    accepted = [row for row in chunk if row.record is not None]
    fingerprints = {row.line_number: record_fingerprint(row.record, row.source) for row in accepted}
    resolutions = _already_imported(job, fingerprints)
    accepted = [row for row in accepted if row.line_number not in resolutions]
    savepoint = transaction.savepoint() if job.is_dry_run else None
    if accepted:
        results = customers_upsert(
            team=job.owner_team,
            records=[row.record for row in accepted],
            sources=[row.source for row in accepted],
            actor=job.created_by,
            reason="import",
        )
        resolutions.update(
            {row.line_number: result for row, result in zip(accepted, results, strict=True)}
        )
        _record_opt_ins(job, accepted, results)
    if savepoint is not None:
        transaction.savepoint_rollback(savepoint)
    counts = dict.fromkeys(RowOutcome.values, 0)
    warning_rows = 0
    report = []
    for row in chunk:
        resolution = resolutions.get(row.line_number)
        warnings = [reason for _field, reason in row.record.warnings] if row.record else []
        outcome = resolution.outcome if resolution else RowOutcome.REJECTED
        counts[outcome] += 1
        warning_rows += bool(warnings)
        report.append(
            ImportRow(
                job=job,
                line_number=row.line_number,
                outcome=outcome,
                warnings=warnings,
                reason=(row.rejection or (resolution.reason if resolution else ""))[:200],
                customer_id=None if job.is_dry_run or not resolution else resolution.customer_id,
                fingerprint=fingerprints.get(row.line_number, ""),
            )
        )
    ImportRow.objects.bulk_create(report, ignore_conflicts=True)
    locked.processed_rows += len(chunk)
    locked.next_line = chunk[-1].line_number + 1
    locked.created_count += counts[RowOutcome.CREATED]
    locked.updated_count += counts[RowOutcome.UPDATED]
    locked.merged_count += counts[RowOutcome.MERGED]
    locked.unchanged_count += counts[RowOutcome.UNCHANGED]
    locked.rejected_count += counts[RowOutcome.REJECTED]
    locked.warning_count += warning_rows
    locked.save()


def _record_opt_ins(job: ImportJob, accepted: list[PreparedRow], results: list[Resolution]) -> None:
    """The file's opt-in column as email-marketing consent events, set-based. Rows are in file
    order, so a person's last answer in the chunk wins."""
    statuses: dict[int, str] = {}
    for row, result in zip(accepted, results, strict=True):
        opt_in = row.record.fields.get("marketing_opt_in")
        if result.customer_id is not None and opt_in is not None:
            statuses[result.customer_id] = ConsentStatus.GRANTED if opt_in else ConsentStatus.DENIED
    if statuses:
        consents_record_bulk(
            team=job.owner_team,
            purpose_code="email_marketing",
            channel=ConsentChannel.EMAIL,
            statuses=statuses,
            source=ConsentSource.IMPORT,
            source_reference=f"import:{job.pk}",
            actor=job.created_by,
            evidence={"import_job": job.pk, "file": job.original_filename},
        )


def _finish(job: ImportJob) -> ImportJob:
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status == ImportStatus.SUCCEEDED:
            return job
        job.status = ImportStatus.SUCCEEDED
        job.finished_at = timezone.now()
        job.processed_rows = max(job.processed_rows, job.total_rows)
        job.save()
        # The report is written: the file goes unless the user asked to keep it.
        import_file_discard(job=job)
        audit_record(
            action="import.finish",
            actor=job.created_by,
            target=job,
            metadata={
                "created": job.created_count,
                "updated": job.updated_count,
                "merged": job.merged_count,
                "unchanged": job.unchanged_count,
                "rejected": job.rejected_count,
                "warnings": job.warning_count,
                "dry_run": job.is_dry_run,
            },
        )
        if not job.is_dry_run:
            from customers.tasks import customers_enrich_task, duplicates_find_task

            # Team-wide: new purchases shift every customer's RFM quintiles.
            team_id = job.owner_team_id
            transaction.on_commit(lambda: customers_enrich_task.delay(team_id=team_id))
            transaction.on_commit(lambda: duplicates_find_task.delay(team_id=team_id))
    return job


def import_job_fail(*, job_id: int, message: str) -> None:
    with transaction.atomic():
        failed = (
            ImportJob.objects.filter(pk=job_id)
            .exclude(status__in=[ImportStatus.SUCCEEDED, ImportStatus.CANCELLED])
            .update(status=ImportStatus.FAILED, error=message[:2000], finished_at=timezone.now())
        )
        job = ImportJob.objects.filter(pk=job_id).first()
        if failed and job is not None:
            import_file_discard(job=job)


# --- Queueing a job, and what staff do with one that never ran ---------------------------------

# Jobs the worker leaves alone.
STOPPED_STATUSES = frozenset({ImportStatus.SUCCEEDED, ImportStatus.FAILED, ImportStatus.CANCELLED})
# Jobs staff may queue again or cancel: waiting (perhaps never queued) or stopped by an error.
RESTARTABLE_STATUSES = frozenset({ImportStatus.PENDING, ImportStatus.FAILED})
NOT_QUEUED = "The import could not be queued"


def import_job_enqueue(*, job_id: int) -> bool:
    """Hand the job to the workers; False when the broker cannot take it.

    Called after the commit that made (or restarted) the job. When the broker does not answer,
    the job stays waiting with the reason in ``error`` ("The import could not be queued: ..."),
    so staff see why nothing happens and can retry or cancel it (``import_job_retry``,
    ``import_job_cancel``), rather than a job waiting to start for ever.
    """
    from customers.tasks import import_job_run_task

    try:
        import_job_run_task.delay(job_id)
    except (KombuOperationalError, OSError) as error:
        logger.warning("Import %s could not be queued: %s", job_id, error)
        ImportJob.objects.filter(pk=job_id, status=ImportStatus.PENDING).update(
            error=f"{NOT_QUEUED}: {error}"[:2000]
        )
        return False
    return True


def _restartable_job_lock(job: ImportJob, refusal: str) -> ImportJob:
    locked = ImportJob.objects.select_for_update().get(pk=job.pk)
    if locked.status not in RESTARTABLE_STATUSES:
        raise ValidationError(
            {"status": refusal % {"status": locked.get_status_display()}}, code="invalid_status"
        )
    return locked


def import_job_retry(*, user: AbstractBaseUser, job: ImportJob) -> ImportJob:
    """Queue a job again that is waiting to start (perhaps never queued) or that failed.

    A failed job resumes from its last committed chunk, so no row is imported twice; it needs
    its file, which a failed run deletes unless it was kept at upload. Audited
    (``import.retry``). Raises ``ValidationError`` for a job in any other state or without
    its file. Queueing happens after the commit and may fail again (see
    ``import_job_enqueue``).
    """
    with transaction.atomic():
        locked = _restartable_job_lock(
            job,
            gettext(
                "Only an import that is waiting or failed can be retried; this one is %(status)s."
            ),
        )
        if not locked.file.name:
            raise ValidationError(
                {
                    "file": gettext(
                        "The file of this import was deleted when it stopped. Upload it again."
                    )
                },
                code="no_file",
            )
        previous = locked.status
        locked.status = ImportStatus.PENDING
        locked.error = ""
        locked.finished_at = None
        locked.save(update_fields=["status", "error", "finished_at"])
        audit_record(action="import.retry", actor=user, target=locked, metadata={"from": previous})
        transaction.on_commit(lambda: import_job_enqueue(job_id=locked.pk))
    return locked


def import_job_cancel(*, user: AbstractBaseUser, job: ImportJob) -> ImportJob:
    """Cancel a job that is waiting to start or that failed: no worker runs it afterwards (the
    run checks), and its file is deleted, kept at upload or not. Rows a failed run imported
    stay. Audited (``import.cancel``). Raises ``ValidationError`` for a job in another state.
    """
    with transaction.atomic():
        locked = _restartable_job_lock(
            job,
            gettext(
                "Only an import that is waiting or failed can be cancelled; this one is %(status)s."
            ),
        )
        previous = locked.status
        locked.status = ImportStatus.CANCELLED
        locked.finished_at = timezone.now()
        locked.save(update_fields=["status", "finished_at"])
        import_file_discard(job=locked, keep_if_asked=False)
        audit_record(action="import.cancel", actor=user, target=locked, metadata={"from": previous})
    return locked


# --- The staff UI's import wizard: preview and mapping templates --------------------------------


def import_job_preview(*, job: ImportJob, limit: int = 10) -> list[PreparedRow]:
    """The first ``limit`` data rows of ``job``'s file as the run would store them.

    ``job`` may be unsaved (the wizard's draft: its file, mapping and options); nothing is
    written. Rows are prepared by the very code ``import_job_run`` uses, so what staff preview
    is what the import does (the date order of an ``auto`` import is inferred from the first
    ``PREVIEW_SCAN_ROWS`` rows here, from the whole file by the run). Raises ``FileProblem``
    when the file cannot be read at all.
    """
    today = timezone.localdate()
    with import_file_open(job.file.storage, job.file.name) as handle:
        shape = inspect_file(handle, **file_format(job.options))
        _total, date_orders = _scan(job, handle, shape, limit=PREVIEW_SCAN_ROWS)
        job.options = {**job.options, "date_orders": date_orders}
        definitions = custom_fields_by_key(job.owner_team_id)
        rows = islice(read_rows(handle, shape), limit)
        return [_prepare(row, job, today, definitions) for row in rows]


def import_template_save(
    *,
    user: AbstractBaseUser,
    team: Team,
    name: str,
    kind: str,
    mapping: dict[str, str],
    date_order: str = AUTO,
) -> ImportTemplate:
    """Save a column mapping and date order as the team's template ``name``, replacing one
    of that name."""
    with transaction.atomic():
        template, created = ImportTemplate.objects.update_or_create(
            owner_team=team,
            name=name,
            defaults={"kind": kind, "mapping": mapping, "date_order": date_order},
        )
        audit_record(
            action="import_template.save",
            actor=user,
            target=template,
            metadata={"kind": kind, "created": created},
        )
    return template


TEMPLATE_CHANGEABLE_FIELDS = frozenset({"name", "kind", "mapping", "date_order"})


@transaction.atomic
def import_template_update(
    *, user: AbstractBaseUser, template: ImportTemplate, changes: dict[str, object]
) -> ImportTemplate:
    """Rename a template or change its kind, mapping or date order; its team stays. Audited
    with the names of the changed fields.

    Raises ``ValidationError`` (by field) for a field that cannot change, or for a name
    another template of the team has.
    """
    unknown = sorted(set(changes) - TEMPLATE_CHANGEABLE_FIELDS)
    if unknown:
        raise ValidationError({name: gettext("This field cannot be changed.") for name in unknown})
    locked = ImportTemplate.objects.select_for_update().get(pk=template.pk)
    changed = sorted(name for name, value in changes.items() if getattr(locked, name) != value)
    if "name" in changed:
        taken = ImportTemplate.objects.filter(owner_team_id=locked.owner_team_id)
        if taken.filter(name=changes["name"]).exclude(pk=locked.pk).exists():
            raise ValidationError(
                {"name": gettext("The team already has a template of this name.")}
            )
    for name in changed:
        setattr(locked, name, changes[name])
    if changed:
        locked.save(update_fields=changed)
        audit_record(
            action="import_template.update", actor=user, target=locked, metadata={"fields": changed}
        )
    return locked


@transaction.atomic
def import_templates_delete(*, user: AbstractBaseUser, templates: list[ImportTemplate]) -> int:
    """Delete templates, each with its audit entry; returns how many went."""
    for template in templates:
        audit_record(action="import_template.delete", actor=user, target=template)
    deleted, _by_model = ImportTemplate.objects.filter(
        pk__in=[template.pk for template in templates]
    ).delete()
    return deleted
