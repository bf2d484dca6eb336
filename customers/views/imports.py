"""The import wizard: upload, mapping, preview, run with progress, report.

The wizard keeps the uploaded file as a draft (``MEDIA_ROOT/import-drafts/<uuid><ext>``, never
the user's file name; sealed and without card numbers, like every stored import file) and the
choices made so far in the session, so columns can be mapped and rows previewed before
``import_job_create`` stores the file and queues the run.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customers.forms_imports import (
    ImportMappingForm,
    ImportUploadForm,
    TemplateChoiceForm,
    custom_mapping_choices,
    field_label,
)
from customers.masking import customer_masks
from customers.models import DateOrder, ImportJob, ImportStatus, ImportTemplate
from customers.normalisation import reason_display
from customers.selectors import (
    import_jobs_for_user,
    import_problem_rows,
    import_templates_for_user,
    teams_by_name,
)
from customers.services.csv_exports import import_report_csv_export
from customers.services.csv_files import (
    HEADER_SYNONYMS,
    FileProblem,
    FileShape,
    inspect_file,
    suggest_mapping,
)
from customers.services.custom_fields import ATTRIBUTE_PREFIX, custom_field_names
from customers.services.import_files import import_file_open, import_file_store
from customers.services.imports import (
    RESTARTABLE_STATUSES,
    PreparedRow,
    import_job_cancel,
    import_job_create,
    import_job_preview,
    import_job_retry,
    import_template_save,
)
from privacy.core.access import (
    NotFound,
    can_export_personal_data,
    can_view_personal_data,
    get_for_user,
    permission_name,
)
from privacy.core.exports import csv_response
from privacy.core.masking import mask_name, mask_text
from privacy.core.pages import page_permission
from privacy.core.reauth import reauth_is_recent, reauth_redirect

PREVIEW_ROWS = 10
PROBLEM_ROWS_SHOWN = 100
JOBS_PER_PAGE = 25
FINISHED_STATUSES = frozenset({ImportStatus.SUCCEEDED, ImportStatus.FAILED, ImportStatus.CANCELLED})


# --- The draft: the uploaded file and the wizard's choices, kept in the session ------------------
DRAFT_SESSION_KEY = "customers.import_draft"
DRAFT_FOLDER = "import-drafts"
_DRAFT_FILE_NAME = re.compile(rf"^{DRAFT_FOLDER}/[0-9a-f]{{32}}(\.[a-z0-9]{{1,7}})?$")
_EXTENSION = re.compile(r"^\.[a-z0-9]{1,7}$")


@dataclass
class Draft:
    file_name: str
    original_filename: str
    team_id: int
    kind: str
    default_country: str
    source_channel: str
    is_dry_run: bool
    mapping: dict[str, str] | None = None
    date_order: str = DateOrder.AUTO
    keep_file: bool = False

    def options(self) -> dict[str, str | bool]:
        """The job options, as the API passes them: only those that were given."""
        return {
            key: value
            for key, value in (
                ("default_country", self.default_country),
                ("source_channel", self.source_channel),
                ("date_order", self.date_order),
                ("keep_file", self.keep_file),
            )
            if value
        }


def _draft_file_store(upload: UploadedFile, shape: FileShape) -> str:
    """Keep the upload sealed under a generated name; the user's file name is only remembered."""
    extension = Path(upload.name or "").suffix.lower()
    if not _EXTENSION.match(extension):
        extension = ""
    return import_file_store(
        storage=default_storage,
        name=f"{DRAFT_FOLDER}/{uuid.uuid4().hex}{extension}",
        upload=upload.file,
        encoding=shape.encoding,
        delimiter=shape.delimiter,
    )


def _draft_load(request: HttpRequest) -> Draft | None:
    data = request.session.get(DRAFT_SESSION_KEY)
    if not isinstance(data, dict):
        return None
    try:
        draft = Draft(**data)
    except TypeError:
        return None
    if not _DRAFT_FILE_NAME.match(draft.file_name) or not default_storage.exists(draft.file_name):
        return None
    return draft


def _draft_keep(request: HttpRequest, draft: Draft) -> None:
    request.session[DRAFT_SESSION_KEY] = asdict(draft)


def _draft_discard(request: HttpRequest) -> None:
    data = request.session.pop(DRAFT_SESSION_KEY, None)
    file_name = data.get("file_name") if isinstance(data, dict) else None
    if isinstance(file_name, str) and _DRAFT_FILE_NAME.match(file_name):
        default_storage.delete(file_name)


def _draft_shape(draft: Draft) -> FileShape:
    with import_file_open(default_storage, draft.file_name) as handle:
        return inspect_file(handle)


def _draft_job(draft: Draft) -> ImportJob:
    """An unsaved job over the draft file: what the preview reads, nothing is written."""
    return ImportJob(
        kind=draft.kind,
        file=draft.file_name,
        original_filename=draft.original_filename,
        mapping=draft.mapping or {},
        options=draft.options(),
        is_dry_run=draft.is_dry_run,
    )


def can_start_import(user: AbstractBaseUser) -> bool:
    """Starting an import needs the role permission; without it the wizard does not exist."""
    return user.has_perm(permission_name(ImportJob, "add"))


_import_wizard = page_permission(can_start_import, message="No import matches the given query.")


def _draft_or_restart(request: HttpRequest) -> Draft | HttpResponse:
    draft = _draft_load(request)
    if draft is None:
        _draft_discard(request)
        messages.info(request, _("Start by uploading the file to import."))
        return redirect("import-start")
    return draft


# --- Presentation of the preview ----------------------------------------------------------------
# Normalised values in the order the preview shows them, and the mapped fields that fill each.
_PREVIEW_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("given_name", ("first_name", "full_name")),
    ("family_name", ("last_name", "full_name")),
    ("email", ("email",)),
    ("phone", ("phone",)),
    ("external_ids", ("external_id", "wechat_id")),
    ("country", ("country",)),
    ("city", ("city",)),
    ("postal_code", ("postal_code",)),
    ("postal_address", ("postal_address",)),
    ("birth_date", ("birth_date",)),
    ("gender", ("gender",)),
    ("language", ("language",)),
    ("company", ("company",)),
    ("industry", ("industry",)),
    ("job_title", ("job_title",)),
    ("signup_date", ("signup_date",)),
    ("tags", ("tags",)),
    ("marketing_opt_in", ("marketing_opt_in",)),
    ("notes", ("notes",)),
    ("source", ()),  # always shown: every row gets a source, from the file or the options
)
# Where a warning about a field (as normalisation names it) shows in the preview.
_WARNING_COLUMN = {
    "first_name": "given_name",
    "last_name": "family_name",
    "wechat_id": "external_ids",
}


def _display(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


def _external_ids_display(external_ids: list[tuple[str, str]], can_see_personal_data: bool) -> str:
    # A WeChat id reaches a person directly, so it is masked like a phone number is.
    shown = [
        (channel, mask_name(key) if channel == "wechat" and not can_see_personal_data else key)
        for channel, key in external_ids
    ]
    return "\n".join(f"{channel}: {key}" for channel, key in shown)


def preview_table(
    prepared: list[PreparedRow], *, mapping: dict[str, str], can_see_personal_data: bool
) -> tuple[list[dict], list[dict]]:
    """Columns and rows of the preview: normalised values, masked unless the user may see them."""
    mapped = set(mapping.values())
    masks = {} if can_see_personal_data else customer_masks()
    columns = [
        {"key": key, "label": field_label(key)}
        for key, sources in _PREVIEW_COLUMNS
        if not sources or mapped.intersection(sources)
    ]
    # Custom fields, by their column's name, after the customer fields.
    columns += [
        {"key": target, "label": column}
        for column, target in mapping.items()
        if target.startswith(ATTRIBUTE_PREFIX)
    ]
    rows = []
    for row in prepared:
        record = row.record
        warnings = [(field, reason) for field, reason in (record.warnings if record else [])]
        warned = {
            _WARNING_COLUMN.get(field, field): reason_display(reason) for field, reason in warnings
        }
        cells = []
        for column in columns:
            key = column["key"]
            if record is None:
                value = ""
            elif key == "source":
                value = row.source
            elif key == "external_ids":
                value = _external_ids_display(record.external_ids, can_see_personal_data)
            elif key.startswith(ATTRIBUTE_PREFIX):
                name = key.removeprefix(ATTRIBUTE_PREFIX)
                value = _display(record.attributes.get(name))
                if name in record.private_attributes:
                    personal = record.private_attributes[name]
                    value = _display(personal) if can_see_personal_data else mask_text(personal)
            else:
                value = record.fields.get(key)
                value = _display(masks[key](value) if key in masks else value)
            cells.append({"key": key, "value": value, "warning": warned.get(key, "")})
        rows.append(
            {
                "line_number": row.line_number,
                "is_rejected": record is None,
                "rejection": row.rejection,
                "warnings": [
                    f"{field_label(field)}: {reason_display(reason)}" for field, reason in warnings
                ],
                "cells": cells,
            }
        )
    return columns, rows


# --- Views --------------------------------------------------------------------------------------
@require_GET
def import_list(request: HttpRequest) -> HttpResponse:
    """The imports the user may see, newest first."""
    jobs = (
        import_jobs_for_user(request.user)
        .select_related("owner_team__group")
        .order_by("-created_at", "-pk")
    )
    page = Paginator(jobs, JOBS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "customers/imports/list.html",
        {
            "page": page,
            "can_start": can_start_import(request.user),
        },
    )


@require_http_methods(["GET", "POST"])
@_import_wizard
def import_start(request: HttpRequest) -> HttpResponse:
    """Step 1: upload the file and say how to read it."""
    draft = _draft_load(request)
    teams = teams_by_name(request.user)
    if request.method == "POST":
        form = ImportUploadForm(request.POST, request.FILES, teams=teams)
        if form.is_valid():
            data = form.cleaned_data
            _draft_discard(request)
            upload = data["file"]
            draft = Draft(
                file_name=_draft_file_store(upload, form.shape),
                original_filename=(upload.name or "")[:255],
                team_id=data["team"].pk,
                kind=data["kind"],
                default_country=data["default_country"],
                source_channel=data["source_channel"],
                is_dry_run=data["is_dry_run"],
                keep_file=data["keep_file"],
            )
            _draft_keep(request, draft)
            return redirect("import-mapping")
    else:
        initial = {}
        if draft is not None:
            initial = {
                "team": draft.team_id,
                "kind": draft.kind,
                "default_country": draft.default_country,
                "source_channel": draft.source_channel,
                "is_dry_run": draft.is_dry_run,
                "keep_file": draft.keep_file,
            }
        form = ImportUploadForm(initial=initial, teams=teams)
    return render(
        request, "customers/imports/start.html", {"form": form, "draft": draft, "step": 1}
    )


def _mapping_from_template(template: ImportTemplate, header: list[str]) -> dict[str, str]:
    """The template's choice for each of its columns; other columns keep their suggestion,
    unless the template already uses that field."""
    saved = {
        column: field if field in HEADER_SYNONYMS or field.startswith("attributes.") else ""
        for column, field in template.mapping.items()
        if isinstance(field, str)
    }
    taken = {field for column, field in saved.items() if field and column in header}
    suggested = suggest_mapping(header, custom_field_names(template.owner_team_id))
    return {
        column: saved.get(column, "" if suggestion in taken else suggestion)
        for column, suggestion in suggested.items()
    }


@require_http_methods(["GET", "POST"])
@_import_wizard
def import_mapping(request: HttpRequest) -> HttpResponse:
    """Step 2: choose the field each column fills; apply or save a template."""
    draft = _draft_or_restart(request)
    if isinstance(draft, HttpResponse):
        return draft
    try:
        shape = _draft_shape(draft)
    except FileProblem as problem:
        _draft_discard(request)
        messages.error(request, problem.translated())
        return redirect("import-start")
    templates = import_templates_for_user(request.user, kind=draft.kind)
    show_team = teams_by_name(request.user)[:2].count() > 1
    template_form = TemplateChoiceForm(
        request.GET if "template" in request.GET else None, templates=templates, show_team=show_team
    )
    initial = draft.mapping or suggest_mapping(shape.header, custom_field_names(draft.team_id))
    initial_date_order = draft.date_order
    applied = None
    if request.method == "GET" and template_form.is_bound and template_form.is_valid():
        applied = template_form.cleaned_data["template"]
        initial = _mapping_from_template(applied, shape.header)
        initial_date_order = applied.date_order
    can_save_template = request.user.has_perm(permission_name(ImportTemplate, "add"))
    form = ImportMappingForm(
        request.POST if request.method == "POST" else None,
        header=shape.header,
        initial_mapping=initial,
        can_save_template=can_save_template,
        initial_date_order=initial_date_order,
        custom_choices=custom_mapping_choices(draft.team_id),
    )
    if request.method == "POST" and form.is_valid():
        draft.mapping = form.mapping
        draft.date_order = form.cleaned_data["date_order"] or DateOrder.AUTO
        _draft_keep(request, draft)
        name = form.cleaned_data.get("template_name")
        if name:
            team = teams_by_name(request.user).filter(pk=draft.team_id).first()
            if team is None:
                raise NotFound("No team matches the given query.")
            import_template_save(
                user=request.user,
                team=team,
                name=name,
                kind=draft.kind,
                mapping=form.mapping,
                date_order=draft.date_order,
            )
            messages.success(
                request,
                _("Saved this mapping as the template “%(name)s”.") % {"name": name},
            )
        return redirect("import-preview")
    missing_columns = (
        sorted(
            column
            for column, field in applied.mapping.items()
            if field and column not in shape.header
        )
        if applied is not None
        else []
    )
    return render(
        request,
        "customers/imports/mapping.html",
        {
            "form": form,
            "template_form": template_form,
            "has_templates": templates.exists(),
            "applied_template": applied,
            "missing_columns": missing_columns,
            "draft": draft,
            "step": 2,
        },
    )


@require_http_methods(["GET", "POST"])
@_import_wizard
def import_preview(request: HttpRequest) -> HttpResponse:
    """Step 3: the first rows as they will be stored; then a dry run or the import itself."""
    draft = _draft_or_restart(request)
    if isinstance(draft, HttpResponse):
        return draft
    if draft.mapping is None:
        return redirect("import-mapping")
    errors: list[str] = []
    if request.method == "POST":
        action = request.POST.get("action")
        if action not in {"import", "dry-run"}:
            errors.append(_("Choose “Dry run” or “Import”."))
        else:
            team = teams_by_name(request.user).filter(pk=draft.team_id).first()
            if team is None:
                raise NotFound("No team matches the given query.")
            try:
                with import_file_open(default_storage, draft.file_name) as handle:
                    job = import_job_create(
                        user=request.user,
                        team=team,
                        upload=File(handle, name=draft.original_filename or "import.csv"),
                        kind=draft.kind,
                        mapping=draft.mapping,
                        options=draft.options(),
                        is_dry_run=action == "dry-run",
                    )
            except ValidationError as error:
                errors.extend(
                    message
                    for field_messages in error.message_dict.values()
                    for message in field_messages
                )
            else:
                _draft_discard(request)
                messages.success(
                    request,
                    _("The dry run has started. Nothing will be saved.")
                    if job.is_dry_run
                    else _("The import has started. You can leave this page; it keeps running."),
                )
                return redirect("import-detail", pk=job.pk)
    try:
        prepared = import_job_preview(job=_draft_job(draft), limit=PREVIEW_ROWS)
    except FileProblem as problem:
        _draft_discard(request)
        messages.error(request, problem.translated())
        return redirect("import-start")
    columns, rows = preview_table(
        prepared,
        mapping=draft.mapping,
        can_see_personal_data=can_view_personal_data(request.user),
    )
    team = teams_by_name(request.user).filter(pk=draft.team_id).first()
    return render(
        request,
        "customers/imports/preview.html",
        {
            "columns": columns,
            "rows": rows,
            "errors": errors,
            "draft": draft,
            "team": team,
            "step": 3,
        },
    )


@require_POST
@_import_wizard
def import_cancel(request: HttpRequest) -> HttpResponse:
    """Leave the wizard: the draft file is deleted."""
    _draft_discard(request)
    messages.info(request, _("The import was cancelled; the uploaded file was deleted."))
    return redirect("import-list")


def _job_for(request: HttpRequest, pk: int) -> ImportJob:
    return get_for_user(
        request.user,
        ImportJob.objects.select_related("owner_team__group", "created_by"),
        pk=pk,
        action="view",
    )


def _progress_context(request: HttpRequest, job: ImportJob) -> dict:
    is_not_queued = job.status == ImportStatus.PENDING and bool(job.error)
    return {
        "job": job,
        "can_download_report": can_export_personal_data(request.user),
        # A job that could not be queued waits for staff, not for a worker: no polling.
        "is_finished": job.status in FINISHED_STATUSES or is_not_queued,
        "is_not_queued": is_not_queued,
        "can_restart": job.status in RESTARTABLE_STATUSES and can_start_import(request.user),
        "problem_rows": import_problem_rows(job, limit=PROBLEM_ROWS_SHOWN),
        "problem_count": job.rejected_count + job.warning_count,
        "problem_rows_shown": PROBLEM_ROWS_SHOWN,
    }


@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job_for(request, pk)
    return render(request, "customers/imports/detail.html", _progress_context(request, job))


@require_GET
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress section alone, polled by htmx until the job has finished."""
    job = _job_for(request, pk)
    return render(request, "customers/imports/_progress.html", _progress_context(request, job))


def _restart(request: HttpRequest, pk: int, service, done: str) -> HttpResponse:
    """Retry or cancel a job: what starting an import takes, on a job the user may reach."""
    job = get_for_user(request.user, ImportJob.objects.all(), pk=pk, action="add")
    try:
        service(user=request.user, job=job)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        job.refresh_from_db()
        if job.status == ImportStatus.PENDING and job.error:
            messages.error(request, _("The import could not be queued. Try again later."))
        else:
            messages.success(request, done)
    return redirect("import-detail", pk=job.pk)


@require_POST
def import_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue again a job that is waiting to start (perhaps never queued) or that failed."""
    return _restart(request, pk, import_job_retry, _("The import was queued again."))


@require_POST
def import_job_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Cancel a job that is waiting to start or that failed; no worker runs it afterwards."""
    return _restart(request, pk, import_job_cancel, _("The import was cancelled."))


@require_GET
def import_report(request: HttpRequest, pk: int) -> HttpResponse:
    """The row report (line, outcome, reason, customer number): an export of personal data.

    Needs ``privacy.export_personal_data`` and a recent re-authentication (asked for after the
    permission check, so nobody is asked in vain), like the customer and audit exports.
    """
    if not can_export_personal_data(request.user):
        raise NotFound
    if not reauth_is_recent(request):
        return reauth_redirect(request)
    job = _job_for(request, pk)
    lines = import_report_csv_export(actor=request.user, job=job)
    return csv_response(lines, filename=f"import-{job.pk}-report.csv")
