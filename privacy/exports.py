"""Safe spreadsheet exports."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> str:
    """A cell value that a spreadsheet will not run as a formula (OWASP CSV injection).

    Cells starting with ``= + - @``, a tab or a carriage return get a leading apostrophe.
    """
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


class _Echo:
    """A file-like object whose write returns the line, so csv.writer can feed a stream."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: Iterable[object], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """The lines of a CSV file, for a ``StreamingHttpResponse``; every cell through ``csv_safe``.

    Starts with a byte-order mark so spreadsheet programs read the file as UTF-8.
    """
    writer = csv.writer(_Echo())
    yield "\ufeff"
    yield writer.writerow([csv_safe(cell) for cell in header])
    for row in rows:
        yield writer.writerow([csv_safe(cell) for cell in row])
