"""Masked forms of contact details for people without the "view personal data" permission.

A masked value may keep a hint of the real one (an initial, a country code, the last digits)
but never a whole part of it: from the masked form alone nobody can tell the value, nor a whole
name, local part or number.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

from django.db import models

from privacy.core.processing import masked_fields

Mask = Callable[[object], str]

MASK = "•••"

# Letters of alphabets with capitals (Latin, Greek, Cyrillic, Armenian, ...): one sound of a
# word. Chinese characters, Japanese kana and Korean syllables have no case ("Lo"): each is a
# syllable or a whole word.
_CASED_LETTERS = frozenset({"Lu", "Ll", "Lt"})
# An initial is shown only of a word this long: it leaves at least two of three characters
# hidden, where a shorter word (an initial "J.", a name like "Li" or "Wu") would be given away
# whole or by half.
_SHORTEST_WORD_WITH_INITIAL = 3
# A phone number keeps its first three characters and last two only when at least this many
# digits stay hidden between them.
_FEWEST_HIDDEN_PHONE_DIGITS = 6


def _initial(word: str) -> str:
    """The first character of ``word`` when it may be shown, else an empty string.

    It may be shown when it is a letter of a cased alphabet and ``word`` has at least three
    letters or digits. A Chinese, Japanese or Korean character is never shown: a one-character
    family name (李) is the whole name part, and one character of a two-character given name
    (娜娜) is half of it.
    """
    if not word or unicodedata.category(word[0]) not in _CASED_LETTERS:
        return ""
    significant = sum(1 for character in word if character.isalnum())
    return word[0] if significant >= _SHORTEST_WORD_WITH_INITIAL else ""


def mask_email(email: str | None) -> str:
    """``ann@example.com`` → ``a•••@example.com``; the domain stays, the local part is hidden.

    The local part's initial is shown by the rule of ``mask_name``: ``a@x.com`` and
    ``li@x.com`` become ``•••@x.com``, and a local part in Chinese characters is hidden whole.
    """
    if not email:
        return ""
    local, _, domain = email.partition("@")
    if not domain:
        return f"{_initial(email)}{MASK}"
    return f"{_initial(local)}{MASK}@{domain}"


def mask_phone(phone: str | None) -> str:
    """``+4915123456789`` → ``+49•••89``; a short number is hidden whole.

    The first three characters (the country code, as numbers are stored in E.164) and the last
    two digits are shown only when at least six digits stay hidden between them, so a short
    number cannot be guessed from the rest.
    """
    if not phone:
        return ""
    hidden_digits = sum(1 for character in phone[3:-2] if character.isdigit())
    if hidden_digits < _FEWEST_HIDDEN_PHONE_DIGITS:
        return MASK
    return f"{phone[:3]}{MASK}{phone[-2:]}"


def mask_name(name: str | None) -> str:
    """A name, or a part of one, masked: ``Ann Lee`` → ``A•••``, ``李娜`` → ``•••``.

    Only the first character of the first word may be shown, and only when it is a letter of
    a cased alphabet (Latin, Greek, Cyrillic, ...) and the word has at least three letters:
    ``Ann`` → ``A•••``, while ``Li``, ``J.`` and ``Al`` become ``•••``. Chinese, Japanese (kanji
    and kana) and Korean names are masked whole, whatever their length: each character is a
    syllable or a word, so one of them is a whole family name (李, 김) or half of a given name.
    """
    if not name:
        return ""
    words = name.split()
    return f"{_initial(words[0]) if words else ''}{MASK}"


def mask_text(text: str | None) -> str:
    return MASK if text else ""


# How a masked field is masked, by the kind of value it holds. The fields that are masked are
# those the record of processing says (``privacy.core.processing.masked_fields``).
MASKS: dict[str, Mask] = {
    "email": mask_email,
    "phone": mask_phone,
    "name": mask_name,
    # a postal address, a date, free text: hidden whole
    "text": mask_text,
}


def value_kind(name: str) -> str:
    """The kind of value (a key of ``MASKS``) a masked field holds, by what its name ends with:
    ``email`` and ``subject_email`` hold an email, ``display_name`` a name; anything else is
    text, hidden whole."""
    return next(
        (kind for kind in ("email", "phone", "name") if name == kind or name.endswith(f"_{kind}")),
        "text",
    )


def field_mask(name: str) -> Mask:
    """The masking function of the masked field (or property) called ``name``."""
    return MASKS[value_kind(name)]


def masks_for(model: type[models.Model]) -> dict[str, Mask]:
    """Each field of ``model`` the record of processing masks, with its masking function."""
    return {name: field_mask(name) for name in masked_fields(model)}
