"""The access package of a data subject (GDPR Art. 15 copy, Art. 20 portability): one ZIP.

The privacy core cannot know the tables of the apps built on it, so each app registers its part
in its ``AppConfig.ready()``::

    register_exporter("customers", customers_export, collect=..., sources=...)

- ``collect(*, team, customer_ids)`` says which customers the request really concerns (the
  team's own customers among ``customer_ids`` plus the profiles merged into them);
- ``exporter(*, team, customer_ids)`` describes the app's categories of data about them
  (``ExportCategory``): a name, a title, a description, the columns, and the rows as either
  an SQL query, streamed with PostgreSQL ``COPY … TO STDOUT`` (big tables: events, purchases),
  or Python rows (small data that must be decrypted in Python: the profile, identities);
- ``sources(*, team, customer_ids)`` says where the data came from (``DataSource``).

The consent history is the privacy core's own category; it comes after every app's.

``subject_package_write`` writes, to a binary file object:

- ``data.json``: every category, values decrypted (this is the person's own copy);
- ``schema.json``: a JSON Schema (draft 2020-12) of ``data.json`` describing every category
  and column;
- one CSV per category (``profile.csv``, ``events.csv`` …), every cell neutralised against
  spreadsheet formulas (``privacy.core.exports.csv_safe``);
- ``information.json`` and ``README.txt``: what Art. 15 asks to tell the person besides the
  data (purposes, categories, recipients, retention, sources, rights).

Memory stays flat and the number of queries constant, whatever the number of rows: an SQL
category is one ``COPY`` whose output rows carry both the JSON object (``row_to_json``) and the
CSV cells; the JSON goes to a temporary file that becomes ``data.json`` at the end (a ZIP has
one entry open at a time) while the CSV goes straight into its entry.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import io
import json
import re
import shutil
import tempfile
import textwrap
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any, Protocol

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, transaction
from django.utils import timezone

from privacy.core.exports import FORMULA_STARTS, csv_safe
from privacy.core.processing import CATEGORIES, NOT_PERSONAL, RETENTION_CLASSES
from privacy.core.services.audit import audit_record
from privacy.models import ConsentEvent, ConsentPurpose, PrivacyNotice, RetentionPolicy, Team

FORMAT = "marketbase-subject-export"
INFORMATION_FORMAT = "marketbase-subject-information"
VERSION = 1
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
CONSENT_CATEGORY = "consent_history"

JSON_TYPES = ("string", "integer", "number", "boolean", "object", "array")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# Rows of an SQL category are handed to the ZIP in blocks of about this many bytes.
_BLOCK_BYTES = 1 << 18
_CSV_DIALECT = {"quoting": csv.QUOTE_ALL, "lineterminator": "\n"}
# A cell that starts like a formula (or like one after NFKC normalisation, e.g. a full-width
# equals sign), in a CSV line where every cell is quoted. Searching a whole block finds the rare
# line that needs csv_safe; a value holding a quote followed by such a character matches too,
# which only sends that line through the exact (slower) path.
_FORMULA_CELL = re.compile(
    b'"(?:' + b"|".join(re.escape(start.encode()) for start in FORMULA_STARTS) + b")"
)
_TEXT_FILE_NAME = "README.txt"


@dataclass(frozen=True)
class ExportColumn:
    """One column of a category: its name in ``data.json`` and the CSV header, what it holds,
    and its JSON type (one of ``JSON_TYPES``; ``None`` for any JSON value)."""

    name: str
    description: str
    type: str | None = "string"
    # A JSON Schema format for strings: "date-time", "date", "email".
    format: str | None = None
    nullable: bool = True
    # The type of the items of an array column.
    items: str | None = None


@dataclass(frozen=True)
class ExportCategory:
    """One category of data about the person, with its rows given in one of two ways.

    ``sql`` (with ``params``) selects exactly the columns, named and ordered as ``columns``;
    its rows never enter Python as objects. ``rows`` is an iterable of mappings (column name →
    value), read once, lazily: use it for the few rows that must be decrypted in Python.
    """

    name: str
    title: str
    description: str
    columns: Sequence[ExportColumn]
    sql: str | None = None
    params: Sequence[Any] | Mapping[str, Any] | None = None
    rows: Iterable[Mapping[str, Any]] | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"Category names are lower-case identifiers: {self.name!r}")
        if (self.sql is None) == (self.rows is None):
            raise ValueError(f"Category {self.name!r}: give either sql or rows, not both.")
        names = [column.name for column in self.columns]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"Category {self.name!r}: columns must be distinct and not empty.")
        for column in self.columns:
            if column.type is not None and column.type not in JSON_TYPES:
                raise ValueError(f"Column {self.name}.{column.name}: unknown type {column.type}")


@dataclass(frozen=True)
class DataSource:
    """Where some of the person's data came from, for the information part of the package."""

    category: str
    source: str
    description: str
    rows: int | None = None
    fields: tuple[str, ...] = ()


class Collector(Protocol):
    def __call__(self, *, team: Team, customer_ids: list[int]) -> Iterable[int]: ...


class Exporter(Protocol):
    def __call__(self, *, team: Team, customer_ids: list[int]) -> list[ExportCategory]: ...


class SourceDescriber(Protocol):
    def __call__(self, *, team: Team, customer_ids: list[int]) -> list[DataSource]: ...


@dataclass(frozen=True)
class _Registration:
    export: Exporter
    collect: Collector | None
    sources: SourceDescriber | None


_exporters: dict[str, _Registration] = {}


def register_exporter(
    label: str,
    exporter: Exporter,
    *,
    collect: Collector | None = None,
    sources: SourceDescriber | None = None,
) -> None:
    """Let an app take part in every access package (call it from ``AppConfig.ready()``).

    Categories appear in the package in the order of registration, the privacy core's consent
    history last. Registering a label again replaces the earlier registration.
    """
    _exporters[label] = _Registration(export=exporter, collect=collect, sources=sources)


def exporters() -> dict[str, _Registration]:
    return dict(_exporters)


@dataclass(frozen=True)
class PackageSummary:
    team_id: int
    requested_ids: list[int]
    # The customers the package is about: the requested ones of the team and every profile
    # merged into them.
    customer_ids: list[int]
    # Rows per category, in the order of the package.
    counts: dict[str, int] = field(default_factory=dict)
    bytes_written: int = 0
    files: list[str] = field(default_factory=list)

    @property
    def holds_data(self) -> bool:
        """Whether anything at all is held about the person (else: answer "no data held")."""
        return any(self.counts.values())


def subject_package_write(
    *,
    team: Team,
    customer_ids: Iterable[int],
    fileobj: IO[bytes],
    request_reference: str | None = None,
    actor: AbstractBaseUser | AnonymousUser | None = None,
) -> PackageSummary:
    """Write the access package of the customers ``customer_ids`` of ``team`` to ``fileobj``.

    ``fileobj`` is a binary file object open for writing; it need not be seekable.
    ``request_reference`` names the data-subject request in the package, when there is one.
    Customers of other teams among ``customer_ids`` are left out, like missing ones; when none
    is left (unknown, or already erased) the package still builds, with every category empty.

    Reads in one snapshot (REPEATABLE READ, when not called inside a transaction already) and
    runs a constant number of queries, whatever the number of rows. Writes one
    ``subject.export`` audit entry with ids and counts, never a personal value.
    """
    requested = sorted({int(pk) for pk in customer_ids})
    if connection.in_atomic_block:
        return _package_write(
            team=team,
            requested=requested,
            fileobj=fileobj,
            request_reference=request_reference,
            actor=actor,
        )
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        return _package_write(
            team=team,
            requested=requested,
            fileobj=fileobj,
            request_reference=request_reference,
            actor=actor,
        )


def _package_write(
    *,
    team: Team,
    requested: list[int],
    fileobj: IO[bytes],
    request_reference: str | None,
    actor: AbstractBaseUser | AnonymousUser | None,
) -> PackageSummary:
    registered = list(_exporters.values())
    found: set[int] = set()
    collected = False  # whether any app said who the request concerns
    if requested:
        for registration in registered:
            if registration.collect is not None:
                collected = True
                found |= {int(pk) for pk in registration.collect(team=team, customer_ids=requested)}
    # Without a collector (no app holds customers) the requested ids are taken as they are;
    # every query is scoped to the team anyway.
    subject_ids = sorted(found) if collected else requested

    categories: list[ExportCategory] = []
    sources: list[DataSource] = []
    for registration in registered:
        categories += registration.export(team=team, customer_ids=subject_ids)
        if registration.sources is not None:
            sources += registration.sources(team=team, customer_ids=subject_ids)
    # Consent events outlive the customer when they are kept as proof: look for the requested
    # ids too, so a package never hides data still held.
    categories.append(
        consent_history_category(team=team, customer_ids=sorted({*subject_ids, *requested}))
    )
    names = [category.name for category in categories]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"Two exporters describe the same categories: {duplicates}")

    generated_at = timezone.now()
    seekable = _is_seekable(fileobj)
    target: Any = fileobj if seekable else _CountingWriter(fileobj)
    start = fileobj.tell() if seekable else 0
    counts: dict[str, int] = {}
    with (
        tempfile.TemporaryFile() as data_json,
        # The fastest deflate: JSON and CSV still shrink about tenfold, at a fraction of the CPU.
        zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
        connection.cursor() as cursor,
    ):
        data_json.write(
            _json_bytes(
                {
                    "format": FORMAT,
                    "version": VERSION,
                    "generated_at": generated_at,
                    "team": team.slug,
                    "request_reference": request_reference,
                }
            )[:-1]
            + b', "categories": {'
        )
        for position, category in enumerate(categories):
            data_json.write(b", " if position else b"")
            data_json.write(_json_bytes(category.name) + b": [")
            with archive.open(f"{category.name}.csv", "w", force_zip64=True) as csv_file:
                csv_file.write(_csv_line([column.name for column in category.columns], bom=True))
                if category.sql is not None:
                    counts[category.name] = _sql_rows_write(
                        cursor, category, json_file=data_json, csv_file=csv_file
                    )
                else:
                    counts[category.name] = _python_rows_write(
                        category, json_file=data_json, csv_file=csv_file
                    )
            data_json.write(b"]")
        data_json.write(b"}}\n")
        size = data_json.tell()
        data_json.seek(0)
        with archive.open("data.json", "w", force_zip64=size > zipfile.ZIP64_LIMIT) as entry:
            shutil.copyfileobj(data_json, entry, 1 << 20)

        archive.writestr("schema.json", _json_bytes(package_schema(categories), indent=2))
        purposes = list(ConsentPurpose.objects.order_by("code"))
        policies = list(RetentionPolicy.objects.order_by("category"))
        information = _information(
            team=team,
            generated_at=generated_at,
            request_reference=request_reference,
            customer_ids=subject_ids,
            categories=categories,
            counts=counts,
            sources=sources,
            purposes=purposes,
            policies=policies,
        )
        archive.writestr("information.json", _json_bytes(information, indent=2))
        archive.writestr(_TEXT_FILE_NAME, _readme(information).encode())
        files = [info.filename for info in archive.infolist()]
    written = fileobj.tell() - start if seekable else target.written

    summary = PackageSummary(
        team_id=team.pk,
        requested_ids=requested,
        customer_ids=subject_ids,
        counts=counts,
        bytes_written=written,
        files=files,
    )
    audit_record(
        action="subject.export",
        actor=actor,
        target=team,
        metadata={
            "customer_ids": requested,
            "exported_customer_ids": summary.customer_ids,
            "counts": counts,
            "bytes": written,
            "holds_data": summary.holds_data,
            "request_reference": request_reference,
        },
    )
    return summary


# --- The privacy core's own category ------------------------------------------------------------


def consent_history_category(*, team: Team, customer_ids: list[int]) -> ExportCategory:
    """Every consent event of the customers: what they agreed to or refused, when and how."""
    events = _table(ConsentEvent)
    purposes = _table(ConsentPurpose)
    notices = _table(PrivacyNotice)
    return ExportCategory(
        name=CONSENT_CATEGORY,
        title="Consent history",
        description="Every change of your consent, oldest first: what you agreed to or "
        "refused, on which channel, when, how we learnt it and its proof. The current state "
        "of a purpose on a channel is its latest event.",
        columns=(
            ExportColumn("id", "Number of the consent event.", "integer", nullable=False),
            ExportColumn("customer_id", "Customer number the event belongs to.", "integer"),
            ExportColumn("purpose", "Code of the purpose.", nullable=False),
            ExportColumn("purpose_name", "Name of the purpose.", nullable=False),
            ExportColumn(
                "channel", "Channel the decision is about (email, sms …).", nullable=False
            ),
            ExportColumn("status", "granted, denied or withdrawn.", nullable=False),
            ExportColumn("lawful_basis", "Lawful basis of the processing.", nullable=False),
            ExportColumn("source", "How the decision reached us (form, import, staff …)."),
            ExportColumn("source_reference", "Reference of the form, file or campaign."),
            ExportColumn(
                "evidence", "Proof of the decision: address, browser, form details.", "object"
            ),
            ExportColumn("notice_version", "Version of the privacy notice shown."),
            ExportColumn("notice_language", "Language of the privacy notice shown."),
            ExportColumn("occurred_at", "When it happened.", format="date-time", nullable=False),
            ExportColumn("expires_at", "When a grant expires, if it does.", format="date-time"),
        ),
        sql=f"""
            SELECT event.id, event.customer_id, purpose.code AS purpose,
                   purpose.name AS purpose_name, event.channel, event.status, event.lawful_basis,
                   event.source, event.source_reference, event.evidence,
                   notice.version AS notice_version, notice.language AS notice_language,
                   event.occurred_at, event.expires_at
            FROM {events} AS event
            JOIN {purposes} AS purpose ON purpose.id = event.purpose_id
            LEFT JOIN {notices} AS notice ON notice.id = event.notice_id
            WHERE event.owner_team_id = %(team)s AND event.customer_id = ANY(%(ids)s::bigint[])
            ORDER BY event.occurred_at, event.id
        """,  # noqa: S608
        params={"team": team.pk, "ids": list(customer_ids)},
    )


# --- Writing rows -------------------------------------------------------------------------------


def _sql_rows_write(cursor, category: ExportCategory, *, json_file, csv_file) -> int:
    """Stream one SQL category with one ``COPY``: each output row is the row's JSON object and
    its CSV line, both made by PostgreSQL.

    The two columns are framed with control characters as delimiter (``\\x02``) and quote
    (``\\x01``), which JSON never holds raw, so PostgreSQL escapes nothing: a block of rows is
    split into JSON objects and CSV lines by C-level byte operations, not row by row in Python.
    A block where PostgreSQL had to quote a column (a value holding a line break or one of those
    control characters) goes through the csv module instead.
    """
    statement = (
        f"COPY (SELECT row_to_json(q)::text, {_csv_line_sql(category.columns)} "  # noqa: S608
        f"FROM ({category.sql}) AS q) TO STDOUT "
        "WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')"
    )
    rows = 0
    block: list[bytes] = []
    block_bytes = 0

    def flush() -> None:
        nonlocal block_bytes
        if not block:
            return
        data = b"".join(block)
        if b"\x01" in data:
            pairs = [_framed_row_split(bytes(row)) for row in block]
            json_parts = [json_part for json_part, _csv in pairs]
            csv_lines = [csv_part for _json, csv_part in pairs]
        else:
            # j1 \x02 c1 \n j2 \x02 c2 \n … : translated and split, objects and lines alternate.
            parts = data.translate(_FRAME_TO_LINES).split(b"\n")
            json_parts, csv_lines = parts[0:-1:2], parts[1::2]
        json_file.write((b"," if rows > len(block) else b"") + b",".join(json_parts))
        csv_text = b"\n".join(csv_lines) + b"\n"
        if _FORMULA_CELL.search(csv_text):
            csv_text = b"".join(_csv_line_neutralise(line + b"\n") for line in csv_lines)
        csv_file.write(csv_text)
        block.clear()
        block_bytes = 0

    with _copy_out(cursor, statement, category.params) as copy:
        for chunk in copy:
            block.append(chunk)
            rows += 1
            block_bytes += len(chunk)
            if block_bytes >= _BLOCK_BYTES:
                flush()
        flush()
    return rows


_FRAME_TO_LINES = bytes.maketrans(b"\x02", b"\n")


def _framed_row_split(row: bytes) -> tuple[bytes, bytes]:
    """One ``COPY`` row with a quoted column: (JSON object, CSV line without its line end)."""
    json_text, csv_text = next(
        csv.reader(io.StringIO(row.decode(), newline=""), delimiter="\x02", quotechar="\x01")
    )
    return json_text.encode(), csv_text.encode()


def _csv_line_sql(columns: Sequence[ExportColumn]) -> str:
    """SQL of the row's CSV line: every cell quoted, its quotes doubled (RFC 4180)."""
    quoted = [f"""replace({_cell_sql(column)}, '"', '""')""" for column in columns]
    return "concat('\"', " + """, '","', """.join(quoted) + ", '\"')"


def _cell_sql(column: ExportColumn) -> str:
    """SQL of one cell: the value's text (NULL becomes an empty cell); arrays, booleans and
    untyped JSON values in their JSON form, as the Python-written categories have them."""
    reference = f"q.{connection.ops.quote_name(column.name)}"
    if column.type in (None, "array", "boolean"):
        return f"(to_json({reference}) #>> '{{}}')"
    return f"{reference}::text"


@contextlib.contextmanager
def _copy_out(cursor, statement: str, params) -> Iterator[Any]:
    """``COPY … TO STDOUT`` on the psycopg cursor under Django's, logged like any other query
    (so query counts in tests and debug tooling see it)."""
    logged = getattr(cursor, "debug_sql", None)
    with (
        logged(statement, params) if logged else contextlib.nullcontext(),
        cursor.cursor.copy(statement, params) as copy,
    ):
        yield copy


def _csv_line_neutralise(line: bytes) -> bytes:
    """The CSV line with every cell through ``csv_safe`` (the exact, slower path)."""
    if not _FORMULA_CELL.search(line):
        return line
    return _csv_line(next(csv.reader(io.StringIO(line.decode(), newline=""))))


def _python_rows_write(category: ExportCategory, *, json_file, csv_file) -> int:
    names = [column.name for column in category.columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer, **_CSV_DIALECT)
    rows = 0
    for row in category.rows or ():
        values = [row.get(name) for name in names]
        json_file.write(
            (b", " if rows else b"") + _json_bytes(dict(zip(names, values, strict=True)))
        )
        writer.writerow([csv_safe(_cell_text(value)) for value in values])
        rows += 1
        if buffer.tell() >= _BLOCK_BYTES:
            csv_file.write(buffer.getvalue().encode())
            buffer.seek(0)
            buffer.truncate()
    csv_file.write(buffer.getvalue().encode())
    return rows


def _csv_line(cells: Iterable[object], *, bom: bool = False) -> bytes:
    buffer = io.StringIO()
    if bom:
        # Spreadsheet programs read the file as UTF-8 only with a byte-order mark.
        buffer.write("\ufeff")
    csv.writer(buffer, **_CSV_DIALECT).writerow([csv_safe(cell) for cell in cells])
    return buffer.getvalue().encode()


def _cell_text(value: Any) -> str:
    """A value as a CSV cell: its text, the JSON text for lists and mappings."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, datetime.datetime):
        # As PostgreSQL writes times in the streamed categories: a space before the time.
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=_json_default)
    return str(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _json_bytes(value: Any, *, indent: int | None = None) -> bytes:
    return json.dumps(value, ensure_ascii=False, default=_json_default, indent=indent).encode()


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _is_seekable(fileobj: IO[bytes]) -> bool:
    try:
        return bool(fileobj.seekable()) and fileobj.tell() >= 0
    except (AttributeError, OSError, ValueError):
        return False


class _CountingWriter:
    """A write-only stream that counts bytes (ZIP writes data descriptors when it cannot seek)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self.written = 0

    def write(self, data: bytes) -> int:
        self._stream.write(data)
        self.written += len(data)
        return len(data)

    def flush(self) -> None:
        flush: Callable[[], None] | None = getattr(self._stream, "flush", None)
        if flush is not None:
            flush()


# --- The JSON Schema of data.json ---------------------------------------------------------------


def package_schema(categories: Sequence[ExportCategory]) -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) of ``data.json`` for these categories."""
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"urn:marketbase:{FORMAT}:{VERSION}",
        "title": "Personal data held about you",
        "description": "A copy of the personal data one company holds about you in Marketbase, "
        "by category. Each category is a list of rows; each row an object whose keys are the "
        "category's columns. The same rows are in the CSV file named after the category.",
        "type": "object",
        "additionalProperties": False,
        "required": ["format", "version", "generated_at", "team", "categories"],
        "properties": {
            "format": {"const": FORMAT, "description": "Names this file format."},
            "version": {"const": VERSION, "description": "Version of the file format."},
            "generated_at": {
                "type": "string",
                "format": "date-time",
                "description": "When the package was made.",
            },
            "team": {"type": "string", "description": "The team holding the data."},
            "request_reference": {
                "type": ["string", "null"],
                "description": "Reference of the request this package answers.",
            },
            "categories": {
                "type": "object",
                "description": "The categories of personal data.",
                "additionalProperties": False,
                "required": [category.name for category in categories],
                "properties": {
                    category.name: _category_schema(category) for category in categories
                },
            },
        },
    }


def _category_schema(category: ExportCategory) -> dict[str, Any]:
    return {
        "title": category.title,
        "description": category.description,
        "type": "array",
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": [column.name for column in category.columns],
            "properties": {column.name: _column_schema(column) for column in category.columns},
        },
    }


def _column_schema(column: ExportColumn) -> dict[str, Any]:
    schema: dict[str, Any] = {"description": column.description}
    if column.type is not None:
        schema["type"] = [column.type, "null"] if column.nullable else column.type
    if column.format:
        schema["format"] = column.format
    if column.items:
        schema["items"] = {"type": column.items}
    return schema


# --- What Art. 15 asks to tell besides the data ---------------------------------------------------

_RIGHTS = (
    (
        "access",
        "GDPR Art. 15",
        "To know whether we process data about you and to get a copy of it: this package.",
    ),
    (
        "rectification",
        "GDPR Art. 16",
        "To have inaccurate data about you corrected and incomplete data completed.",
    ),
    (
        "erasure",
        "GDPR Art. 17",
        "To have your data erased, for example when it is no longer needed or you withdraw the "
        "consent it relies on.",
    ),
    (
        "restriction",
        "GDPR Art. 18",
        "To have the processing of your data restricted: we then keep it but no longer use it, "
        "for example while its accuracy is checked.",
    ),
    (
        "objection",
        "GDPR Art. 21",
        "To object to processing based on legitimate interests and, at any time and without "
        "giving reasons, to direct marketing and the profiling done for it.",
    ),
    (
        "withdraw_consent",
        "GDPR Art. 7(3)",
        "To withdraw a consent at any time, as easily as it was given; processing before the "
        "withdrawal stays lawful.",
    ),
    (
        "portability",
        "GDPR Art. 20",
        "To receive the data you gave us in a machine-readable format (data.json and the CSV "
        "files of this package) and to have it sent to another company.",
    ),
    (
        "complaint",
        "GDPR Art. 77",
        "To lodge a complaint with a supervisory authority, in particular in the country where "
        "you live or work or where you think your rights were infringed.",
    ),
)

# Categories that later features will add; the package says they are not there yet.
_PLANNED_CATEGORIES = {
    "segment_memberships": "Segment memberships (the audience groups you belong to)",
    "campaign_messages": "Campaign messages (what was sent to you and what you did with it)",
}

_AUTOMATED_DECISIONS = (
    "Your purchases are scored (recency, frequency and monetary value) and you are given a "
    "lifecycle status and a customer group, to choose which marketing to send you. No decision "
    "with legal or similarly significant effects on you is taken by automated means."
)


def _information(
    *,
    team: Team,
    generated_at: datetime.datetime,
    request_reference: str | None,
    customer_ids: list[int],
    categories: Sequence[ExportCategory],
    counts: Mapping[str, int],
    sources: Sequence[DataSource],
    purposes: Sequence[ConsentPurpose],
    policies: Sequence[RetentionPolicy],
) -> dict[str, Any]:
    recipients = [str(name) for name in settings.PRIVACY_RECIPIENTS if name]
    exported = {category.name for category in categories}
    return {
        "format": INFORMATION_FORMAT,
        "version": VERSION,
        "generated_at": generated_at,
        "team": team.slug,
        "request_reference": request_reference,
        "customer_ids": customer_ids,
        "holds_data": any(counts.values()),
        "categories": [
            {
                "name": category.name,
                "title": category.title,
                "description": category.description,
                "rows": counts.get(category.name, 0),
                "csv_file": f"{category.name}.csv",
            }
            for category in categories
        ],
        "purposes": [
            {
                "code": purpose.code,
                "name": purpose.name,
                "description": purpose.description,
                "channels": list(purpose.channels),
                "lawful_basis": "consent",
                "is_active": purpose.is_active,
            }
            for purpose in purposes
        ],
        "personal_data_categories": [
            {"code": code, "description": description}
            for code, description in CATEGORIES.items()
            if code not in NOT_PERSONAL
        ],
        "recipients": recipients,
        "recipients_statement": (
            "Your data is disclosed to these recipients: " + "; ".join(recipients) + "."
            if recipients
            else "Your data is not disclosed to any recipient outside the company."
        ),
        "retention": [
            {"class": code, "description": description}
            for code, description in RETENTION_CLASSES.items()
            if code not in NOT_PERSONAL and code != "staff_account"
        ],
        "retention_policies": [
            {
                "category": policy.category,
                "title": str(policy.get_category_display()),
                "retain_days": policy.retain_days,
                "purged_automatically": policy.is_active,
            }
            for policy in policies
        ],
        "sources": [
            {
                "category": source.category,
                "source": source.source,
                "description": source.description,
                "rows": source.rows,
                "fields": list(source.fields),
            }
            for source in sources
        ],
        "automated_decisions": _AUTOMATED_DECISIONS,
        "rights": [
            {"right": code, "legal_basis": article, "description": description}
            for code, article, description in _RIGHTS
        ],
        "not_yet_included": [
            description for name, description in _PLANNED_CATEGORIES.items() if name not in exported
        ],
    }


def _readme(information: Mapping[str, Any]) -> str:
    """The human-readable version of ``information``."""
    lines: list[str] = ["Your personal data: a copy and what we do with it", "=" * 50, ""]
    lines += [
        f"Made on {information['generated_at']:%d %B %Y at %H:%M} UTC by the team "
        f"\u201c{information['team']}\u201d."
    ]
    if information["request_reference"]:
        lines.append(f"Your request: {information['request_reference']}.")
    if information["holds_data"]:
        numbers = ", ".join(f"#{pk}" for pk in information["customer_ids"])
        lines.append(f"Customer records about you: {numbers or 'none'}.")
    else:
        lines.append("We hold no personal data about you: every file of this package is empty.")
    lines += [
        "",
        "Files",
        "-----",
        "data.json         all your data, for computers (data portability)",
        "schema.json       describes data.json: each category and column",
        "information.json  this text's information, for computers",
        "*.csv             one table per category, for spreadsheet programs (UTF-8)",
        "",
        "Cells of the CSV files that start with = + - or @ begin with an apostrophe, so that a",
        "spreadsheet program shows them rather than running them as formulas.",
        "",
        "Your data, by category",
        "----------------------",
    ]
    for category in information["categories"]:
        lines += _wrapped(
            f"{category['title']} ({category['csv_file']}, {_rows(category['rows'])}): "
            f"{category['description']}"
        )
    for description in information["not_yet_included"]:
        lines += _wrapped(
            f"{description}: Marketbase does not hold these yet; they are included in this "
            "package once those features exist."
        )
    lines += ["", "Why we process your data (purposes)", "-----------------------------------"]
    for purpose in information["purposes"]:
        channels = ", ".join(purpose["channels"])
        text = f"{purpose['name']} ({channels}), with your consent"
        text += f": {purpose['description']}" if purpose["description"] else "."
        lines += _wrapped(text)
    lines += _wrapped(
        "To keep your customer record, your purchases and what you did (events) so that we can "
        "serve you, and to measure our marketing."
    )
    lines += ["", "Kinds of personal data", "----------------------"]
    for category in information["personal_data_categories"]:
        lines += _wrapped(f"{category['code']}: {category['description']}")
    lines += ["", "Profiling and automated decisions", "---------------------------------"]
    lines += _wrapped(information["automated_decisions"])
    lines += ["", "Who receives your data", "----------------------"]
    lines += _wrapped(information["recipients_statement"])
    lines += ["", "How long we keep it", "-------------------"]
    for retention in information["retention"]:
        lines += _wrapped(retention["description"])
    if information["retention_policies"]:
        lines.append("Periods set for the automatic purge:")
    for policy in information["retention_policies"]:
        automatic = "purged automatically" if policy["purged_automatically"] else "purged by hand"
        lines += _wrapped(f"{policy['title']}: {policy['retain_days']:,} days ({automatic}).")
    lines += ["", "Where your data came from", "-------------------------"]
    if information["sources"]:
        for source in information["sources"]:
            lines += _wrapped(source["description"])
    else:
        lines.append("Nothing: we hold no data about you.")
    lines += ["", "Your rights", "-----------"]
    for right in information["rights"]:
        lines += _wrapped(f"{right['description']} ({right['legal_basis']})")
    lines += [
        "",
        "To use any of these rights, answer the message this package came with.",
        "",
    ]
    return "\n".join(lines)


def _rows(count: int) -> str:
    return f"{count:,} row" if count == 1 else f"{count:,} rows"


def _wrapped(text: str, width: int = 92) -> list[str]:
    return textwrap.wrap(text, width=width, initial_indent="- ", subsequent_indent="  ")
