"""Where, if anywhere, the database still holds a person's values: the check behind
``manage.py privacy_scan``.

It walks every table of every schema (PostgreSQL's own aside): the project's tables, Django's
admin log and sessions, guardian's grants, Celery beat's schedules, API tokens, and whatever a
later app or package adds, without a list to keep up to date. In each text, varchar, char,
JSON, array, tsvector, xml and bytea column it looks, in SQL, for

- each value as given and normalised (an email lower-cased, a phone as ``+`` and digits),
  case-insensitively in text and byte for byte in bytea (AES-GCM ciphertext never matches);
- the JSON-escaped form of a value with non-ASCII characters (``json.dumps`` writes ``\\u738b``
  into text columns);
- its blind-index forms: ``blind_index(email, purpose="email")``,
  ``blind_index(phone, purpose="phone")``, and the keyed tokens of a name
  (``privacy.core.crypto.name_index``).

A name is found where one value holds all its tokens (plain or keyed), so another "Jane" is not
reported for "Jane Doe"; two people of exactly the same name are indistinguishable here.

Phones are compared as given: pass them in E.164 (``+4915123456789``), the form the database
uses, since the normalisation rules live in the customers app, above this one.

The media directory (``MEDIA_ROOT``) is searched too, file by file and line by line: sealed
files (``privacy.core.sealed_files``, the stored import uploads) are read through the field
keys, others as they are, for each value as given and normalised, and for any payment card
number. A sealed file that the configured keys cannot open is reported as not readable.

Some columns keep blind indexes of erased people on purpose (the suppression list; with
``ERASURE_KEEP_CONSENT_PROOF``, consent events' ``subject_key``): the package that keeps them
registers them (``scan_kept_register``, ``docs/registries.md``), and those hits are reported as
kept, not as found.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import connections

from privacy.core.cards import holds_card_number
from privacy.core.crypto import DecryptionError, blind_index, name_index, name_tokens
from privacy.core.registry import Registry
from privacy.core.sealed_files import plaintext_reader

BLIND_INDEX = "blind index"
MEDIA = "media"
CARD_NUMBER = "card number"
_CELL_SEPARATORS = frozenset(",;\t")


@dataclass(frozen=True)
class KeptColumn:
    """A column that holds blind indexes of erased people by design: why, and under which
    setting (``None``: always)."""

    reason: str
    setting: str | None = None


# "model label.field name" -> why the column keeps blind indexes of erased people.
_kept: Registry[KeptColumn] = Registry("columns the privacy scan reports as kept")


def scan_kept_register(
    model_label: str, field_name: str, *, reason: str, setting: str | None = None
) -> None:
    """Report blind-index hits in this column as kept on purpose (while ``setting`` is true,
    when one is named); called from ``AppConfig.ready()`` of the package that keeps them."""
    _kept.register(f"{model_label}.{field_name}", KeptColumn(reason=reason, setting=setting))


def scan_kept() -> dict[str, KeptColumn]:
    return dict(_kept)


_COLUMNS_SQL = r"""
SELECT n.nspname, c.relname, a.attname, t.typname = 'bytea' AS is_bytea,
       has_table_privilege(c.oid, 'SELECT') AS is_readable
FROM pg_attribute AS a
JOIN pg_class AS c ON c.oid = a.attrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
JOIN pg_type AS t ON t.oid = a.atttypid
LEFT JOIN pg_type AS element ON t.typcategory = 'A' AND element.oid = t.typelem
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND a.attnum > 0 AND NOT a.attisdropped
  AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
  AND (
    t.typcategory = 'S'
    OR t.typname IN ('json', 'jsonb', 'bytea', 'tsvector', 'xml')
    OR element.typcategory = 'S'
    OR element.typname IN ('json', 'jsonb', 'bytea')
  )
ORDER BY n.nspname, c.relname, a.attnum
"""


@dataclass(frozen=True)
class Needle:
    """Something to look for: a column matches where one value holds every pattern."""

    kind: str  # email, phone or name
    form: str  # as given, normalised, JSON-escaped, blind index
    patterns: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.kind} ({self.form})"


@dataclass(frozen=True)
class ScanHit:
    schema: str
    table: str
    column: str
    needle: str  # Needle.label; never the value itself
    rows: int
    kept_because: str = ""  # why the value stays on purpose, for residue kept by design

    @property
    def location(self) -> str:
        if self.schema == MEDIA:
            return f"{MEDIA}:{self.table}"
        return f"{self.schema}.{self.table}.{self.column}"


@dataclass
class ScanResult:
    found: list[ScanHit] = field(default_factory=list)
    kept: list[ScanHit] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    columns_scanned: int = 0
    unreadable_tables: list[str] = field(default_factory=list)

    @property
    def is_clean(self) -> bool:
        return not self.found


def scan_needles(
    *,
    emails: Iterable[str] = (),
    phones: Iterable[str] = (),
    names: Iterable[str] = (),
    texts: Iterable[str] = (),
) -> list[Needle]:
    """The patterns ``subject_scan`` looks for, for these values."""
    needles: list[Needle] = []

    def add(kind: str, form: str, *patterns: str) -> None:
        patterns = tuple(pattern for pattern in patterns if pattern)
        # Text matches ignore case, so "Ann@X.org" and "ann@x.org" are one needle.
        folded = tuple(pattern.casefold() for pattern in patterns)
        if patterns and all(
            tuple(pattern.casefold() for pattern in needle.patterns) != folded for needle in needles
        ):
            needles.append(Needle(kind, form, patterns))

    def add_plain(kind: str, value: str) -> None:
        add(kind, "as given", value)
        escaped = json.dumps(value)[1:-1]
        if escaped != value:
            add(kind, "JSON-escaped", escaped)

    for email in emails:
        normalised = email.strip().lower()
        add_plain("email", email.strip())
        add("email", "normalised", normalised)
        add("email", BLIND_INDEX, blind_index(normalised, purpose="email"))
    for phone in phones:
        compact = re.sub(r"[\s().\-/]", "", phone.strip())
        add_plain("phone", phone.strip())
        add("phone", "normalised", compact)
        add("phone", BLIND_INDEX, blind_index(compact, purpose="phone"))
    for name in names:
        add_plain("name", name.strip())
        tokens = name_tokens(name)
        if len(tokens) > 1:
            add("name", "tokens", *tokens)
        add("name", BLIND_INDEX, *name_index(name))
    for text in texts:
        add_plain("text", text.strip())
    return needles


def _kept_on_purpose() -> dict[str, str]:
    """Columns (``table.column``) that hold blind indexes of erased people by design, and why."""
    kept = {}
    for key, column in _kept.items():
        if column.setting is None or getattr(settings, column.setting, False):
            model_label, field_name = key.rsplit(".", 1)
            model = apps.get_model(model_label)
            kept[f"{model._meta.db_table}.{model._meta.get_field(field_name).column}"] = (
                column.reason
            )
    return kept


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _like(pattern: str) -> str:
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _condition(column: str, *, is_bytea: bool, needle: Needle) -> tuple[str, list]:
    quoted = _quote(column)
    if is_bytea and not all(pattern.isascii() for pattern in needle.patterns):
        # Escape encoding turns non-ASCII bytes into octal: compare the UTF-8 bytes exactly.
        return (
            " AND ".join(f"position(%s::bytea in {quoted}) > 0" for _ in needle.patterns),
            [pattern.encode() for pattern in needle.patterns],
        )
    value = f"encode({quoted}, 'escape')" if is_bytea else f"{quoted}::text"
    return f"{value} ILIKE ALL(%s::text[])", [[_like(pattern) for pattern in needle.patterns]]


def subject_scan(
    *,
    emails: Iterable[str] = (),
    phones: Iterable[str] = (),
    names: Iterable[str] = (),
    texts: Iterable[str] = (),
    using: str = "default",
    media_root: str | Path | None = None,
) -> ScanResult:
    """Search every text, JSON, array and bytea column of every table for a person's values.

    One query per table. Returns the columns that hold them (with row counts), never the
    values; blind indexes that the suppression list keeps on purpose are listed in ``kept``.
    Then every file under ``media_root`` (``MEDIA_ROOT`` by default) is searched, see
    ``media_scan``. ``texts`` are any other values (an order number...), searched as given.
    """
    needles = scan_needles(emails=emails, phones=phones, names=names, texts=texts)
    if not needles:
        raise ValueError("Name at least one email, phone or name to look for.")
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(_COLUMNS_SQL)
        columns = cursor.fetchall()
    tables: dict[tuple[str, str], list[tuple[str, bool]]] = {}
    result = ScanResult()
    for schema, table, column, is_bytea, is_readable in columns:
        if not is_readable:
            if f"{schema}.{table}" not in result.unreadable_tables:
                result.unreadable_tables.append(f"{schema}.{table}")
            continue
        tables.setdefault((schema, table), []).append((column, is_bytea))
    kept_on_purpose = _kept_on_purpose()
    with connection.cursor() as cursor:
        for (schema, table), table_columns in tables.items():
            result.tables.append(table if schema == "public" else f"{schema}.{table}")
            result.columns_scanned += len(table_columns)
            probes: list[tuple[str, Needle]] = []
            filters: list[str] = []
            params: list = []
            for column, is_bytea in table_columns:
                for needle in needles:
                    condition, condition_params = _condition(
                        column, is_bytea=is_bytea, needle=needle
                    )
                    probes.append((column, needle))
                    filters.append(f"count(*) FILTER (WHERE {condition})")
                    params.extend(condition_params)
            cursor.execute(
                f"SELECT {', '.join(filters)} FROM {_quote(schema)}.{_quote(table)}",  # noqa: S608
                params,
            )
            for (column, needle), rows in zip(probes, cursor.fetchone(), strict=True):
                if not rows:
                    continue
                reason = (
                    kept_on_purpose.get(f"{table}.{column}", "")
                    if needle.form == BLIND_INDEX
                    else ""
                )
                hit = ScanHit(schema, table, column, needle.label, rows, kept_because=reason)
                (result.kept if reason else result.found).append(hit)
    media_scan(
        root=Path(settings.MEDIA_ROOT if media_root is None else media_root),
        needles=needles,
        result=result,
    )
    return result


def _text_lines(handle) -> Iterator[str]:
    """The lines of a file as text: UTF-16 or UTF-8 by their BOM, else UTF-8, else GB18030."""
    start = handle.read(64 * 1024)
    handle.seek(0)
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"
    else:
        try:
            start.decode("utf-8-sig")
            encoding = "utf-8-sig"
        except UnicodeDecodeError as error:
            # A character cut at the end of the sample is no reason to doubt UTF-8.
            encoding = "utf-8-sig" if error.start >= len(start) - 3 else "gb18030"
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    pending = ""
    while chunk := handle.read(64 * 1024):
        pending += decoder.decode(chunk)
        *lines, pending = pending.split("\n")
        yield from lines
    pending += decoder.decode(b"", final=True)
    yield pending


def media_scan(*, root: Path, needles: Iterable[Needle], result: ScanResult) -> None:
    """Search every file under ``root`` for the needles' plain forms and for card numbers.

    A file matches a needle on the lines that hold all of its patterns (case-insensitively);
    any line holding a payment card number is a hit too. Hits go to ``result.found`` with the
    file's path below ``root`` and the number of lines.
    """
    plain = [needle for needle in needles if needle.form != BLIND_INDEX]
    if not root.is_dir():
        return
    for path in sorted(item for item in root.rglob("*") if item.is_file()):
        relative = path.relative_to(root).as_posix()
        result.tables.append(f"{MEDIA}:{relative}")
        counts = dict.fromkeys([*(needle.label for needle in plain), CARD_NUMBER], 0)
        try:
            with plaintext_reader(path.open("rb")) as handle:
                for line in _text_lines(handle):
                    folded = line.casefold()
                    for needle in plain:
                        if all(pattern.casefold() in folded for pattern in needle.patterns):
                            counts[needle.label] += 1
                    # A line without a comma, semicolon or tab is one of whitespace-separated
                    # columns (as import files may be): a space there separates values.
                    if holds_card_number(line, spaces_separate=not _CELL_SEPARATORS & set(line)):
                        counts[CARD_NUMBER] += 1
        except (DecryptionError, OSError):
            result.unreadable_tables.append(f"{MEDIA}:{relative}")
            continue
        result.found.extend(
            ScanHit(MEDIA, relative, "", label, lines) for label, lines in counts.items() if lines
        )
