"""Payment card numbers (PANs): found in text, and taken out of it before anything is stored.

A card number is 13 to 19 digits, possibly grouped by single spaces or dashes, that pass the
Luhn check. Runs of groups are also searched for a card number followed or preceded by other
digit groups ("4111 1111 1111 1111 123" with a security code).

``card_numbers_removed`` replaces each one with ``[card-removed:<keyed hash>]``: the hash is
the blind index of the digits, so the same number gives the same marker (a file imported twice
stays the same file, an order reference that looked like a card stays unique) while the number
cannot be read back. Only what cannot be a phone number is removed: no card number starts with
0, while ``00``, ``011`` and ``+`` start international phone numbers (13 to 15 digits, a tenth
of which pass the Luhn check), so a run of digits after ``+`` or starting with 0 is a phone.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

from privacy.core.crypto import blind_index

# Runs of at least 13 digits, grouped by single spaces or dashes: the candidates.
_DIGIT_GROUPS = re.compile(r"[0-9\uff10-\uff19](?:[ -]?[0-9\uff10-\uff19]){12,}")
# Where a space separates columns (files of whitespace-separated columns), only dashes group.
_DASHED_GROUPS = re.compile(r"[0-9\uff10-\uff19](?:-?[0-9\uff10-\uff19]){12,}")
_GROUP = re.compile(r"[0-9\uff10-\uff19]+")
_THIRTEEN_DIGITS = re.compile(r"\d(?:[ -]?\d){12}")
_REMOVED = re.compile(r"\[card-removed:[0-9a-f]{16}\]")
_FULL_WIDTH_DIGITS = {0xFF10 + digit: 0x30 + digit for digit in range(10)}


def _passes_luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        if position % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _card_spans(
    text: str, *, runs: re.Pattern[str] = _DIGIT_GROUPS, phones_skipped: bool = False
) -> Iterator[tuple[int, int, str]]:
    """``(start, end, digits)`` of each card number in ``text``, left to right; with
    ``phones_skipped``, runs of digits that start with 0 or follow ``+`` are not looked into."""
    for match in runs.finditer(text):
        if phones_skipped and (
            match[0][0] in "0\uff10" or text[match.start() - 1 : match.start()] == "+"
        ):
            continue
        groups = list(_GROUP.finditer(match[0]))
        first = 0
        while first < len(groups):
            digits = ""
            for last in range(first, len(groups)):
                digits += groups[last][0].translate(_FULL_WIDTH_DIGITS)
                if len(digits) > 19:
                    break
                if len(digits) >= 13 and _passes_luhn(digits):
                    yield (
                        match.start() + groups[first].start(),
                        match.start() + groups[last].end(),
                        digits,
                    )
                    first = last
                    break
            first += 1


def _removable_spans(text: str, *, spaces_separate: bool) -> Iterator[tuple[int, int, str]]:
    """The card numbers that cannot be phone numbers (see the module's docstring)."""
    runs = _DASHED_GROUPS if spaces_separate else _DIGIT_GROUPS
    for start, stop, digits in _card_spans(text, runs=runs, phones_skipped=True):
        if digits[0] != "0" and text[max(start - 1, 0) : start] != "+":
            yield start, stop, digits


def holds_card_number(text: str | None, *, spaces_separate: bool = False) -> bool:
    """Whether ``text`` holds a card number that ``card_numbers_removed`` would take out."""
    text = text or ""
    if not _THIRTEEN_DIGITS.search(unicodedata.normalize("NFKC", text)):
        return False
    return next(_removable_spans(text, spaces_separate=spaces_separate), None) is not None


def contains_card_number(text: str | None) -> bool:
    """Whether a text field holds what looks like a payment card number (any 13 to 19 digits
    passing the Luhn check), or the marker left where one was removed: such a field is never
    stored."""
    if _REMOVED.search(text or ""):
        return True
    text = unicodedata.normalize("NFKC", text or "")
    if not _THIRTEEN_DIGITS.search(text):
        return False
    return next(_card_spans(text), None) is not None


def card_numbers_removed(text: str, *, spaces_separate: bool = False) -> str:
    """``text`` with each card number replaced by its marker (never a phone number).

    With ``spaces_separate`` (a file of whitespace-separated columns) digit groups split by a
    space are separate values, never one card number.
    """
    if not _THIRTEEN_DIGITS.search(unicodedata.normalize("NFKC", text)):
        return text
    pieces: list[str] = []
    end = 0
    for start, stop, digits in _removable_spans(text, spaces_separate=spaces_separate):
        pieces.append(text[end:start])
        pieces.append(f"[card-removed:{blind_index(digits, purpose='card')[:16]}]")
        end = stop
    pieces.append(text[end:])
    return "".join(pieces)
