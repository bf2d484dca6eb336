"""Safe spreadsheet exports: every CSV the application writes goes through ``csv_safe``."""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Characters that Unicode NFKC normalisation turns into a formula start (FULLWIDTH EQUALS SIGN
# U+FF1D, SMALL COMMERCIAL AT U+FE6B, SUPERSCRIPT PLUS SIGN U+207A …), as of the Unicode
# version of the running Python; a spreadsheet program may read them as the ASCII character.
# ``csv_safe`` normalises rather than relying on this list, which exists for searches over raw
# bytes (``privacy.requests.package.writer``); a test checks it against ``unicodedata``.
FORMULA_LOOKALIKES = (
    "\u207a\u207c\u208a\u208c\u2a75\u2a76\ufb29\ufe62\ufe63\ufe66\ufe6b\uff0b\uff0d\uff1d\uff20"
)
# Every character a cell cannot start with unless neutralised.
FORMULA_STARTS = "".join(_FORMULA_STARTS) + FORMULA_LOOKALIKES


def csv_safe(value: object) -> str:
    """A cell value that a spreadsheet will not run as a formula (OWASP CSV injection).

    A cell that starts with ``= + - @``, a tab or a carriage return, as written or after Unicode
    NFKC normalisation (a full-width equals sign, U+FF1D, before ``SUM(…)``), gets a leading
    apostrophe; the text itself is kept as it was, so the cell still shows what was stored.
    """
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_STARTS) or unicodedata.normalize("NFKC", text).startswith(
        _FORMULA_STARTS
    ):
        return f"'{text}"
    return text


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a stream."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Iterable[object], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The lines of a CSV file, for a ``StreamingHttpResponse`` or joined into one text; every
    cell through ``csv_safe``.

    Starts with a byte-order mark so spreadsheet programs read the file as UTF-8.
    """
    writer = csv.writer(_Echo())
    yield "\ufeff"
    yield writer.writerow([csv_safe(cell) for cell in header])
    for row in rows:
        yield writer.writerow([csv_safe(cell) for cell in row])


def csv_response(lines: Iterable[str], *, filename: str) -> StreamingHttpResponse:
    """A download of the CSV ``lines``, streamed, never kept by a cache."""
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
