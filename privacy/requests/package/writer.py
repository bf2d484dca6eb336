"""The ZIP of an access package: ``subject_package_write`` streams every registered category
(SQL categories through PostgreSQL ``COPY … TO STDOUT``) into ``data.json``, one CSV per
category, ``schema.json``, ``information.json`` and ``README.txt``.

Memory stays flat and the number of queries constant, whatever the number of rows: an SQL
category is one ``COPY`` whose output rows carry both the JSON object (``row_to_json``) and the
CSV cells; the JSON goes to a temporary file that becomes ``data.json`` at the end (a ZIP has
one entry open at a time) while the CSV goes straight into its entry. Every CSV cell is
neutralised against spreadsheet formulas (``privacy.core.exports.csv_safe``).
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
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, transaction
from django.utils import timezone

from privacy.core.exports import FORMULA_STARTS, csv_safe
from privacy.core.services.audit import audit_record
from privacy.models import ConsentPurpose, RetentionPolicy, Team
from privacy.requests.package.information import package_information, package_readme
from privacy.requests.package.registry import (
    FORMAT,
    VERSION,
    DataSource,
    ExportCategory,
    ExportColumn,
    consent_history_category,
    exporters,
)
from privacy.requests.package.schema import package_schema

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
    registered = list(exporters().values())
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
        information = package_information(
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
        archive.writestr(_TEXT_FILE_NAME, package_readme(information).encode())
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
