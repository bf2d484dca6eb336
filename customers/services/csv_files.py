"""Reading uploaded CSV files: encoding, delimiter, header, column mapping, rows by line."""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, TextIO

from django.utils.translation import gettext, gettext_noop

MEGABYTE = 1024 * 1024
MAX_UPLOAD_BYTES = 512 * MEGABYTE
MAX_COLUMNS = 200
MAX_COLUMN_NAME_CHARACTERS = 200
MAX_FIELD_CHARACTERS = 10_000
SAMPLE_BYTES = 64 * 1024  # read to detect the encoding and delimiter; the first line ends in it
# Files whose sample has invalid byte sequences on at most this share of its lines are read,
# rejecting those rows; with more, the file is refused (it is in another encoding).
DAMAGED_LINES_TOLERATED = 0.01
DELIMITERS = ",;\t"

# Canonical field names and the header spellings (English and Chinese) that map to them.
HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "email": ("email", "e-mail", "email address", "mail", "邮箱", "电子邮件", "电子邮箱", "邮件"),
    "phone": (
        "phone",
        "mobile",
        "phone number",
        "telephone",
        "tel",
        "cell",
        "手机",
        "手机号",
        "电话",
        "联系电话",
        "手机号码",
    ),
    "first_name": ("first name", "firstname", "given name", "forename", "名", "名字"),
    "last_name": ("last name", "lastname", "surname", "family name", "姓", "姓氏"),
    "full_name": ("full name", "name", "fullname", "customer name", "姓名", "客户姓名"),
    "country": ("country", "country code", "nation", "国家", "国家/地区"),
    "city": ("city", "town", "城市"),
    "postal_address": ("address", "postal address", "street", "地址", "邮寄地址"),
    "postal_code": ("postal code", "postcode", "zip", "zip code", "邮编", "邮政编码"),
    "birth_date": (
        "birth date",
        "birthdate",
        "date of birth",
        "dob",
        "birthday",
        "生日",
        "出生日期",
    ),
    "birth_year": ("year of birth", "birth year", "year birth", "出生年份", "出生年"),
    "gender": ("gender", "sex", "性别"),
    "language": ("language", "preferred language", "语言"),
    "company": ("company", "organisation", "organization", "employer", "公司", "单位"),
    "industry": ("industry", "sector", "行业"),
    "job_title": ("job title", "title", "position", "职位", "职务"),
    "signup_date": (
        "signup date",
        "sign-up date",
        "registered",
        "registration date",
        "created",
        "注册日期",
        "注册时间",
    ),
    "source": ("source", "channel", "source channel", "来源", "渠道"),
    "external_id": (
        "external id",
        "id",
        "customer id",
        "crm id",
        "member id",
        "会员号",
        "客户编号",
        "外部编号",
    ),
    "wechat_id": ("wechat id", "wechat", "weixin", "微信", "微信号"),
    "tags": ("tags", "labels", "标签"),
    "marketing_opt_in": (
        "marketing opt in",
        "opt in",
        "opt-in",
        "newsletter",
        "consent",
        "营销同意",
        "订阅",
    ),
    "notes": ("notes", "note", "comment", "comments", "备注"),
}

# What a column of a customers file may be mapped to, beside the team's custom fields
# (``attributes.<key>``): the canonical fields and the other names the normalisation reads.
CUSTOMER_TARGETS = frozenset({*HEADER_SYNONYMS, "given_name", "family_name", "source_channel"})

# What a column of a purchases or events file may be mapped to (the names the ingestion of
# file rows reads). An events file also maps columns to single properties, ``properties.<name>``.
PURCHASE_FIELDS = (
    "customer_external_id",
    "email",
    "order_reference",
    "occurred_at",
    "amount",
    "currency",
    "quantity",
)
EVENT_FIELDS = (
    "customer_external_id",
    "email",
    "type",
    "occurred_at",
    "properties",
    "client_id",
)
EVENT_PROPERTY_PREFIX = "properties."


class FileProblem(ValueError):
    """The file as a whole cannot be read; the message says why, for a person.

    ``message`` is marked for translation with its ``%(name)s`` parameters unfilled, so the
    views show it in the user's language (``translated()``); ``str()`` is the English text.
    """

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message % params if params else message)
        self.message = message
        self.params = params

    def translated(self) -> str:
        text = gettext(self.message)
        return text % self.params if self.params else text


WHITESPACE = "whitespace"  # columns separated by runs of spaces or tabs, no quoting


@dataclass(frozen=True)
class FileShape:
    encoding: str
    delimiter: str
    header: list[str]
    has_header: bool = True


def _normalise_header(name: str) -> str:
    return " ".join(name.replace("_", " ").replace("-", " ").strip().lower().split())


_SYNONYM_LOOKUP = {
    _normalise_header(synonym): field
    for field, synonyms in HEADER_SYNONYMS.items()
    for synonym in (field, *synonyms)
}


def suggest_mapping(
    header: list[str], custom_names: dict[str, str] | None = None
) -> dict[str, str]:
    """Map each column to a canonical field by its header, or to "" (ignored) when unknown.

    ``custom_names`` (a name → ``attributes.<key>``) are the team's custom fields by key and
    labels; the canonical fields' spellings come first."""
    lookup = _SYNONYM_LOOKUP
    if custom_names:
        extra = {_normalise_header(name): target for name, target in custom_names.items()}
        lookup = {**extra, **_SYNONYM_LOOKUP}
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for column in header:
        field = lookup.get(_normalise_header(column), "")
        if field in taken:
            field = ""
        mapping[column] = field
        if field:
            taken.add(field)
    return mapping


# Bytes that are not text in the file's encoding are decoded to lone surrogates (U+DC00 plus
# the byte), which no decoder makes of valid text: the row holding them is reported, and
# every other row is read as usual.
UNDECODABLE = "marketbase.undecodable"
_UNDECODED = re.compile("[\udc00-\udcff]+")
# What ends a line when a file is read with ``newline=""``, as the csv module reads it.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8", "utf-16": "UTF-16", "gb18030": "GB18030"}


def _mark_undecodable(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    damaged = error.object[error.start : error.end]
    return "".join(chr(0xDC00 + byte) for byte in damaged), error.end


codecs.register_error(UNDECODABLE, _mark_undecodable)


def _decode(data: bytes, encoding: str, *, final: bool) -> str:
    """``data`` as text; a multi-byte character cut at the end waits unless ``final``."""
    return codecs.getincrementaldecoder(encoding)(errors=UNDECODABLE).decode(data, final=final)


def detect_encoding(sample: bytes, *, is_whole_file: bool = False) -> str:
    """UTF-8 (with or without BOM), UTF-16 (by BOM) or GB18030, which covers GBK and GB2312.

    A few damaged lines do not make a file unreadable: when invalid byte sequences are on at
    most ``DAMAGED_LINES_TOLERATED`` of the sample's lines (never the header), the encoding
    that fits best is used and those rows are rejected one by one. Otherwise the file is
    refused, naming the first line that is not text.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    best: tuple[str, list[int], int] | None = None
    for encoding in ("utf-8", "gb18030"):
        lines = _LINE_BREAK.split(_decode(sample, encoding, final=is_whole_file))
        damaged = [number for number, line in enumerate(lines, start=1) if _UNDECODED.search(line)]
        if not damaged:
            return encoding
        if best is None or len(damaged) < len(best[1]):
            best = (encoding, damaged, len(lines))
    encoding, damaged, line_count = best
    if damaged[0] > 1 and len(damaged) <= line_count * DAMAGED_LINES_TOLERATED:
        return encoding
    raise FileProblem(
        gettext_noop(
            "Line %(line)s of the file is not text in UTF-8, UTF-16 or GB18030/GBK. Save the "
            "file as CSV UTF-8 and upload it again."
        ),
        line=damaged[0],
    )


class _Lines:
    """The physical lines of a text stream, counted; the lines of the current record can be
    put back to be read again (after a quote that is never closed)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._put_back: deque[str] = deque()
        self.number = 0  # of the line handed out last
        self.record: list[str] = []  # the lines handed out since ``record_start``
        self.exhausted = False  # the current record asked for a line after the last one

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self._put_back.popleft() if self._put_back else self._stream.readline()
        if not line:
            self.exhausted = True
            raise StopIteration
        self.number += 1
        self.record.append(line)
        return line

    def record_start(self) -> int:
        """Forget the lines read so far; the number of the line the next record starts on."""
        self.record = []
        self.exhausted = False
        return self.number + 1

    def record_reread(self) -> None:
        """Read the current record's lines again, all but its first."""
        again = self.record[1:]
        self._put_back.extendleft(reversed(again))
        self.number -= len(again)


class _WhitespaceReader:
    """Rows of a file whose columns are separated by runs of white space (no quoting)."""

    def __init__(self, lines: _Lines) -> None:
        self._lines = lines

    def __iter__(self) -> _WhitespaceReader:
        return self

    def __next__(self) -> list[str]:
        return next(self._lines).split()


def _reader(lines: _Lines, delimiter: str) -> Iterator[list[str]]:
    if delimiter == WHITESPACE:
        return _WhitespaceReader(lines)
    return csv.reader(lines, delimiter=delimiter)


def _first_record(sample: str, delimiter: str, *, is_whole_file: bool) -> list[str]:
    """The first row of the file, read as the rows after it are; it must end in the sample."""
    lines = _Lines(io.StringIO(sample))
    try:
        record = next(_reader(lines, delimiter), [])
    except csv.Error:
        record, lines.exhausted = [], True
    ends = not lines.exhausted and (is_whole_file or lines.record[-1].endswith(("\n", "\r")))
    if lines.record and not ends:
        raise FileProblem(
            gettext_noop(
                "The first line does not end within its first %(limit)s KB: it is too long, or "
                "a quote in it is not closed. The first line must name the columns."
            ),
            limit=SAMPLE_BYTES // 1024,
        )
    return record


def _sniff_delimiter(sample: str) -> str:
    sample = sample[: SAMPLE_BYTES // 2]
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        first_line = _LINE_BREAK.split(sample, maxsplit=1)[0]
        counts = {candidate: first_line.count(candidate) for candidate in DELIMITERS}
        return max(counts, key=counts.get) if any(counts.values()) else ","


def inspect_file(
    handle: BinaryIO, *, delimiter: str | None = None, has_header: bool = True
) -> FileShape:
    """Find the encoding, delimiter and header of an uploaded file, or explain the problem.

    The one check of a file's shape, made when it is uploaded (the wizard's first step and the
    API alike) and again when it is read: its size, text in a supported encoding, a first line
    that ends within ``SAMPLE_BYTES`` with at most ``MAX_COLUMNS`` unique column names of at
    most ``MAX_COLUMN_NAME_CHARACTERS`` each. ``delimiter`` forces one (``WHITESPACE`` for
    fixed-width-like exports such as the CDNOW transaction log); without a header line the
    columns are named ``column_1``, ``column_2``...
    """
    handle.seek(0, io.SEEK_END)
    size = handle.tell()
    if size == 0:
        raise FileProblem(gettext_noop("The file is empty."))
    if size > MAX_UPLOAD_BYTES:
        raise FileProblem(
            gettext_noop(
                "The file is %(size)s MB; the limit is %(limit)s MB. Split it into smaller files."
            ),
            size=size // MEGABYTE,
            limit=MAX_UPLOAD_BYTES // MEGABYTE,
        )
    handle.seek(0)
    sample_bytes = handle.read(SAMPLE_BYTES)
    if b"\x00" in sample_bytes and not sample_bytes.startswith(
        (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    ):
        raise FileProblem(
            gettext_noop("This looks like a binary file (a spreadsheet?), not CSV text.")
        )
    is_whole_file = size <= SAMPLE_BYTES
    encoding = detect_encoding(sample_bytes, is_whole_file=is_whole_file)
    sample = _decode(sample_bytes, encoding, final=is_whole_file)
    if delimiter != WHITESPACE and not delimiter:
        delimiter = _sniff_delimiter(sample)
    header = [
        column.strip() for column in _first_record(sample, delimiter, is_whole_file=is_whole_file)
    ]
    if len(header) > MAX_COLUMNS:
        raise FileProblem(
            gettext_noop("The file has %(count)s columns; at most %(limit)s are read."),
            count=len(header),
            limit=MAX_COLUMNS,
        )
    if not has_header:
        if not any(header):
            raise FileProblem(gettext_noop("The first line is empty."))
        header = [f"column_{number}" for number in range(1, len(header) + 1)]
        return FileShape(encoding=encoding, delimiter=delimiter, header=header, has_header=False)
    if not any(header):
        raise FileProblem(gettext_noop("The first line must name the columns; it is empty."))
    if any(len(column) > MAX_COLUMN_NAME_CHARACTERS for column in header):
        raise FileProblem(
            gettext_noop(
                "A column name is longer than %(limit)s characters. The first line must name "
                "the columns."
            ),
            limit=MAX_COLUMN_NAME_CHARACTERS,
        )
    if any("\x00" in column or _UNDECODED.search(column) for column in header):
        raise FileProblem(
            gettext_noop(
                "The column names hold a NUL character or bytes that are not text. Save the "
                "file as CSV UTF-8 and upload it again."
            )
        )
    if len(set(header)) != len(header):
        duplicates = sorted({name for name in header if header.count(name) > 1})
        raise FileProblem(
            gettext_noop("Column names must be unique; repeated: %(names)s."),
            names=", ".join(duplicates),
        )
    known = set(suggest_mapping(header).values()) - {""}
    if not known and all(_looks_like_data(column) for column in header):
        raise FileProblem(
            gettext_noop("The first line looks like data, not column names. Add a header line.")
        )
    return FileShape(encoding=encoding, delimiter=delimiter, header=header)


def _looks_like_data(value: str) -> bool:
    return "@" in value or value.replace("+", "").replace("-", "").replace(" ", "").isdigit()


@dataclass(frozen=True)
class SourceRow:
    line_number: int
    values: dict[str, str] | None
    problem: str = ""


UNCLOSED_QUOTE = (
    "a quoted value that starts on this line is not closed or longer than 10,000 characters"
)
TOO_LONG = "a value is longer than 10,000 characters"


def read_rows(handle: BinaryIO, shape: FileShape, *, start_line: int = 0) -> Iterator[SourceRow]:
    """Yield data rows with the file line on which each starts; skip rows before ``start_line``.

    Line numbers count physical lines (a quoted field may span several), so a person can find
    the row in a text editor or spreadsheet. The header is line 1. A row that cannot be
    imported (bytes that are not text, a NUL character, too many values, a value too long)
    comes without values and with its problem, and costs no other row: after a quote that is
    never closed, the lines after the row's first are read again as rows. Reading from
    ``start_line`` yields exactly the rows a whole reading yields from there, so a resumed
    import neither repeats nor loses a row.
    """
    handle.seek(0)
    stream = io.TextIOWrapper(handle, encoding=shape.encoding, errors=UNDECODABLE, newline="")
    lines = _Lines(stream)
    reader = _reader(lines, shape.delimiter)
    try:
        if shape.has_header:
            next(reader, None)
        while True:
            line_number = lines.record_start()
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error:  # a value longer than the csv module's field size limit
                cells = None
            if cells is None or (lines.exhausted and len(lines.record) > 1):
                problem = UNCLOSED_QUOTE if len(lines.record) > 1 else TOO_LONG
                lines.record_reread()
                if line_number >= start_line:
                    yield SourceRow(line_number, None, problem)
                continue
            if line_number < start_line or not any(cell.strip() for cell in cells):
                continue
            problem = _row_problem(cells, shape, line_number=line_number, last_line=lines.number)
            if problem:
                yield SourceRow(line_number, None, problem)
                continue
            cells += [""] * (len(shape.header) - len(cells))
            yield SourceRow(line_number, dict(zip(shape.header, cells, strict=True)))
    finally:
        stream.detach()


def _row_problem(cells: list[str], shape: FileShape, *, line_number: int, last_line: int) -> str:
    """Why a row cannot be imported, or "". The report is English, like normalisation's."""
    for index, cell in enumerate(cells):
        damaged = _UNDECODED.search(cell)
        if damaged is None:
            continue
        before = [*cells[:index], cell[: damaged.start()]]
        line = line_number + sum(len(_LINE_BREAK.findall(text)) for text in before)
        where = f" on line {line}" if line != line_number else ""
        data = [f"0x{ord(character) - 0xDC00:02X}" for character in damaged.group()[:4]]
        noun = "byte" if len(data) == 1 else "bytes"
        encoding = _ENCODING_NAMES.get(shape.encoding, shape.encoding)
        return f"not valid {encoding} text{where} ({noun} {' '.join(data)})"
    width = len(shape.header)
    span = (
        f"; lines {line_number} to {last_line} were read as one row: is a quote not closed?"
        if last_line > line_number
        else ""
    )
    if len(cells) > width:
        return f"{len(cells)} values for {width} columns (too many){span}"
    if any(len(cell) > MAX_FIELD_CHARACTERS for cell in cells):
        return f"{TOO_LONG}{span}"
    for column, cell in zip(shape.header, cells, strict=False):
        if "\x00" in cell:
            return f"“{column}” holds a NUL character"
    return ""


def apply_mapping(values: dict[str, str], mapping: dict[str, str]) -> dict[str, str]:
    """Rename columns to canonical field names; unmapped columns are dropped."""
    return {field: values.get(column, "") for column, field in mapping.items() if field}
