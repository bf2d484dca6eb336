"""Reading uploaded CSV files: encoding, delimiter, header, column mapping, rows by line."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from django.utils.translation import gettext_noop

MAX_UPLOAD_BYTES = 512 * 1024 * 1024
MAX_COLUMNS = 200
MAX_FIELD_CHARACTERS = 10_000
SAMPLE_BYTES = 64 * 1024
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

PURCHASE_FIELDS = (
    "customer_external_id",
    "email",
    "order_reference",
    "occurred_at",
    "amount",
    "currency",
    "quantity",
)


class FileProblem(ValueError):
    """The file as a whole cannot be read; the message says why, for a person."""


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


def suggest_mapping(header: list[str]) -> dict[str, str]:
    """Map each column to a canonical field by its header, or to "" (ignored) when unknown."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for column in header:
        field = _SYNONYM_LOOKUP.get(_normalise_header(column), "")
        if field in taken:
            field = ""
        mapping[column] = field
        if field:
            taken.add(field)
    return mapping


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM), UTF-16 (by BOM) or GB18030, which covers GBK and GB2312."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        # A multi-byte character may be cut at the end of the sample.
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as error:
        if error.start >= len(sample) - 3:
            return "utf-8"
    try:
        sample.decode("gb18030")
    except UnicodeDecodeError as error:
        raise FileProblem(
            gettext_noop(
                "The file is not text in UTF-8, UTF-16 or GB18030/GBK. Save it as CSV UTF-8 and "
                "upload it again."
            )
        ) from error
    return "gb18030"


def _text_stream(handle: BinaryIO, encoding: str) -> io.TextIOWrapper:
    handle.seek(0)
    return io.TextIOWrapper(handle, encoding=encoding, newline="", errors="strict")


def inspect_file(
    handle: BinaryIO, *, delimiter: str | None = None, has_header: bool = True
) -> FileShape:
    """Find the encoding, delimiter and header of an uploaded file, or explain the problem.

    ``delimiter`` forces one (``WHITESPACE`` for fixed-width-like exports such as the CDNOW
    transaction log); without a header line the columns are named ``column_1``, ``column_2``...
    """
    handle.seek(0, io.SEEK_END)
    size = handle.tell()
    if size == 0:
        raise FileProblem(gettext_noop("The file is empty."))
    if size > MAX_UPLOAD_BYTES:
        raise FileProblem(
            f"The file is {size // (1024 * 1024)} MB; the limit is "
            f"{MAX_UPLOAD_BYTES // (1024 * 1024)} MB. Split it into smaller files."
        )
    handle.seek(0)
    sample_bytes = handle.read(SAMPLE_BYTES)
    if b"\x00" in sample_bytes and not sample_bytes.startswith(
        (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
    ):
        raise FileProblem(
            gettext_noop("This looks like a binary file (a spreadsheet?), not CSV text.")
        )
    encoding = detect_encoding(sample_bytes)
    stream = _text_stream(handle, encoding)
    try:
        sample = stream.read(SAMPLE_BYTES // 2)
    except UnicodeDecodeError as error:
        raise FileProblem(f"The file cannot be decoded as {encoding}.") from error
    finally:
        stream.detach()
    first_line = sample.splitlines()[0] if sample.splitlines() else ""
    if delimiter == WHITESPACE:
        header = first_line.split()
    else:
        if not delimiter:
            try:
                delimiter = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
            except csv.Error:
                counts = {candidate: first_line.count(candidate) for candidate in DELIMITERS}
                delimiter = max(counts, key=counts.get) if any(counts.values()) else ","
        header = next(csv.reader(io.StringIO(first_line), delimiter=delimiter), [])
        header = [column.strip() for column in header]
    if not has_header:
        if not any(header):
            raise FileProblem(gettext_noop("The first line is empty."))
        header = [f"column_{number}" for number in range(1, len(header) + 1)]
        return FileShape(encoding=encoding, delimiter=delimiter, header=header, has_header=False)
    if not any(header):
        raise FileProblem(gettext_noop("The first line must name the columns; it is empty."))
    if len(header) > MAX_COLUMNS:
        raise FileProblem(f"The file has {len(header)} columns; at most {MAX_COLUMNS} are read.")
    if len(set(header)) != len(header):
        duplicates = sorted({name for name in header if header.count(name) > 1})
        raise FileProblem(f"Column names must be unique; repeated: {', '.join(duplicates)}.")
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


def read_rows(handle: BinaryIO, shape: FileShape, *, start_line: int = 0) -> Iterator[SourceRow]:
    """Yield data rows with the file line on which each starts; skip rows before ``start_line``.

    Line numbers count physical lines (a quoted field may span several), so a person can find
    the row in a text editor or spreadsheet. The header is line 1.
    """
    stream = _text_stream(handle, shape.encoding)
    csv.field_size_limit(MAX_FIELD_CHARACTERS * 4)
    if shape.delimiter == WHITESPACE:
        reader = _WhitespaceReader(stream)
    else:
        reader = csv.reader(stream, delimiter=shape.delimiter)
    width = len(shape.header)
    try:
        if shape.has_header:
            next(reader, None)
        line_start = reader.line_num + 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                yield SourceRow(line_start, None, f"unreadable row: {error}")
                line_start = reader.line_num + 1
                continue
            line_number, line_start = line_start, reader.line_num + 1
            if line_number < start_line or not any(cell.strip() for cell in cells):
                continue
            if len(cells) > width:
                yield SourceRow(
                    line_number, None, f"{len(cells)} values for {width} columns (too many)"
                )
                continue
            if any(len(cell) > MAX_FIELD_CHARACTERS for cell in cells):
                yield SourceRow(line_number, None, "a value is longer than 10,000 characters")
                continue
            cells += [""] * (width - len(cells))
            yield SourceRow(line_number, dict(zip(shape.header, cells, strict=True)))
    except UnicodeDecodeError as error:
        yield SourceRow(line_start, None, f"the file stops being valid {shape.encoding} here")
        del error
    finally:
        stream.detach()


class _WhitespaceReader:
    """Rows of a file whose columns are separated by runs of white space (no quoting)."""

    def __init__(self, stream) -> None:
        self._stream = stream
        self.line_num = 0

    def __iter__(self):
        return self

    def __next__(self) -> list[str]:
        line = self._stream.readline()
        if not line:
            raise StopIteration
        self.line_num += 1
        return line.split()


def apply_mapping(values: dict[str, str], mapping: dict[str, str]) -> dict[str, str]:
    """Rename columns to canonical field names; unmapped columns are dropped."""
    return {field: values.get(column, "") for column, field in mapping.items() if field}
