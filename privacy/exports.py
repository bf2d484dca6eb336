"""Safe spreadsheet exports."""

from __future__ import annotations

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> str:
    """A cell value that a spreadsheet will not run as a formula (OWASP CSV injection).

    Cells starting with ``= + - @``, a tab or a carriage return get a leading apostrophe.
    """
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text
