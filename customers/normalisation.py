"""Normalisation of customer data: the one set of rules every door uses.

CSV import, the REST API, the admin and the staff forms all turn raw values into stored values
through these functions, so an email typed in the admin and the same email in a CRM dump end
up identical and identity resolution can match them. Everything here is a pure function of its
arguments (no database, no network, no clock unless ``today`` is left out), fast enough to run
on every imported row: regular expressions are compiled once and the country and language
look-ups are built once per process, on first use.

Errors are raised as :class:`NormalisationError`; its ``reason`` is one of the module-level
reason constants, which is what import error reports and API error messages show.

Over 600 lines because every normalisation rule lives in this one module, the one set of rules.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import NamedTuple, TypeVar

import phonenumbers
from babel import Locale, UnknownLocaleError
from babel.core import get_global, parse_locale
from babel.languages import get_official_languages
from django.utils.translation import gettext, gettext_noop
from email_validator import EmailNotValidError, validate_email

from privacy.core.cards import contains_card_number
from privacy.core.labels import FIELD, labels

_T = TypeVar("_T")

# --- Reasons -----------------------------------------------------------------------------------
# Field-level reasons (raised by the single-value functions).
INVALID_EMAIL = gettext_noop("invalid email")
INVALID_PHONE = gettext_noop("invalid phone")
UNKNOWN_COUNTRY = gettext_noop("unknown country")
UNKNOWN_LANGUAGE = gettext_noop("unknown language")
UNPARSEABLE_DATE = gettext_noop("unparseable date")
DATE_OUT_OF_RANGE = gettext_noop("date out of range")
BIRTH_DATE_IN_FUTURE = gettext_noop("birth date in the future")
SIGNUP_DATE_IN_FUTURE = gettext_noop("signup date in the future")
NOT_A_YEAR = gettext_noop("not a year")
NOT_A_YES_NO_VALUE = gettext_noop("not a yes/no value")
UNKNOWN_GENDER = gettext_noop("unknown gender")
CARD_NUMBER_REASON = gettext_noop("payment card number in {field} must not be stored")

# Row-level rejection reasons (a rejected row creates or changes no customer).
REJECTED_INVALID_EMAIL = gettext_noop("invalid email and no other identifier")
REJECTED_INVALID_PHONE = gettext_noop("invalid phone and no other identifier")
REJECTED_NO_IDENTIFIER = gettext_noop("no identifier at all")


class NormalisationError(ValueError):
    """A value that cannot be normalised; ``reason`` says why in words a user understands."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def card_number_reason(field_name: str) -> str:
    """The warning for a payment card number found in ``field_name`` (``"postal_code"``...)."""
    return CARD_NUMBER_REASON.format(field=field_name.replace("_", " "))


# --- Reasons, shown in the reader's language ----------------------------------------------------
# Reasons and warnings are stored as English text (row reports keep them so, and rows stored by
# earlier releases too). They are translated when shown: a fixed reason by its catalogue entry,
# a formatted one by recognising its template and translating the template and its words.
_QUOTED_COLUMN_PREFIX = re.compile(r"^(“[^”]*”: )(.+)$", re.DOTALL)


@cache
def _formatted_reasons() -> tuple[tuple[re.Pattern[str], str], ...]:
    templates = (CARD_NUMBER_REASON, AMBIGUOUS_DATE_REASON)
    patterns = []
    for template in templates:
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>.+?)", re.escape(template))
        patterns.append((re.compile(f"^{pattern}$", re.DOTALL), template))
    return tuple(patterns)


def reason_display(reason: str) -> str:
    """A stored reason or warning in the active language; text it does not know, as stored."""
    if not reason:
        return ""
    translated = gettext(reason)
    if translated != reason:
        return translated
    for pattern, template in _formatted_reasons():
        if match := pattern.match(reason):
            values = match.groupdict()
            if "field" in values:
                name = labels(FIELD).get(values["field"].replace(" ", "_"))
                values["field"] = values["field"] if name is None else str(name)
            if "order" in values:
                values["order"] = gettext(values["order"])
            return gettext(template).format(**values)
    if match := _QUOTED_COLUMN_PREFIX.match(reason):
        return match.group(1) + reason_display(match.group(2))
    return reason


# --- Text --------------------------------------------------------------------------------------
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")
_LINE_BREAK = re.compile(r"\r\n?|[\v\f\x1c-\x1e\x85\u2028\u2029]")


def normalise_text(value: str | None, *, multiline: bool = False) -> str:
    """Trim and collapse whitespace (full-width spaces included); drop zero-width characters.

    With ``multiline`` (notes, postal addresses) line breaks survive: each line is collapsed
    and trimmed, and blank lines at the start and end are dropped. Case and content are kept
    exactly; in particular spreadsheet formulas are stored verbatim and only neutralised when
    exported to CSV.
    """
    if not value:
        return ""
    text = value.translate(_INVISIBLE)
    if not multiline:
        return " ".join(text.split())
    lines = [
        _HORIZONTAL_SPACE.sub(" ", line).strip() for line in _LINE_BREAK.sub("\n", text).split("\n")
    ]
    return "\n".join(lines).strip("\n")


# --- Email -------------------------------------------------------------------------------------
def normalise_email(value: str | None) -> str | None:
    """Trimmed, lower-cased, syntactically valid email address; ``None`` when empty.

    The whole address is lower-cased: mail systems treat local parts case-insensitively in
    practice, and identity resolution needs one spelling. No DNS look-up is made.
    """
    text = (value or "").strip()
    if not text:
        return None
    try:
        result = validate_email(text.lower(), check_deliverability=False)
    except EmailNotValidError:
        raise NormalisationError(INVALID_EMAIL) from None
    return result.normalized.lower()


# --- Countries and languages -------------------------------------------------------------------
# CLDR territory codes that are not ISO 3166-1 countries (groupings, reserved, pseudo).
_NOT_COUNTRIES = frozenset(
    {"AC", "CP", "CQ", "DG", "EA", "EU", "EZ", "IC", "QO", "TA", "UN", "XA", "XB", "ZZ"}
)
# The locales whose names for every country are always understood.
_COUNTRY_NAME_LOCALES = ("en", "zh", "zh_Hant", "ja", "de", "fr", "es")
_COUNTRY_ALIASES = {
    "US": (
        "USA",
        "U.S.A.",
        "U.S.",
        "America",
        "United States of America",
        "the United States",
        "美利坚合众国",
        "美利堅合眾國",
        "米国",
    ),
    "GB": (
        "UK",
        "U.K.",
        "Great Britain",
        "Britain",
        "England",
        "Scotland",
        "Wales",
        "Northern Ireland",
        "United Kingdom of Great Britain and Northern Ireland",
        "英格兰",
        "大不列颠",
        "大不列顛",
        "英国本土",
    ),
    "CN": (
        "PRC",
        "P.R.C.",
        "P.R. China",
        "People's Republic of China",
        "Mainland China",
        "China Mainland",
        "中华人民共和国",
        "中華人民共和國",
        "中華人民共和国",
        "中国大陆",
        "中國大陸",
        "大陆",
        "内地",
    ),
    "HK": ("Hong Kong", "Hongkong", "香港", "中国香港", "中國香港"),
    "MO": ("Macao", "Macau", "澳门", "澳門", "中国澳门", "中國澳門"),
    "TW": ("Taiwan", "Republic of China", "台灣", "臺灣", "中国台湾", "中華民國", "中华民国"),
    "JP": ("Nippon", "Nihon", "日本国", "日本國"),
    "DE": ("Federal Republic of Germany", "德意志联邦共和国", "德意志聯邦共和國", "BRD"),
    "FR": ("République française", "法兰西共和国", "法蘭西共和國"),
    "KR": ("Korea", "Republic of Korea", "大韩民国", "大韓民國", "大韓民国", "韩国", "南韩"),
    "RU": ("Russian Federation", "俄罗斯联邦"),
    "NL": ("Holland", "The Netherlands"),
    "CZ": ("Czech Republic",),
    "TR": ("Turkey",),
    "CI": ("Ivory Coast",),
    "MK": ("Macedonia",),
    "SZ": ("Swaziland",),
    "VA": ("Vatican", "Holy See"),
    "MM": ("Burma",),
    "CV": ("Cabo Verde",),
    "AE": ("UAE", "U.A.E."),
}
_PUNCTUATION_IN_NAMES = re.compile(r"[.,'`()\-\u2013\u2019\u00b4]+")
_PARENTHESISED = re.compile(r"\s*\(.*?\)")
_LATIN_ACCENTS = re.compile(r"[\u0300-\u036f]")


def _lookup_key(name: str) -> str:
    """Case-, accent-, punctuation- and width-insensitive key for names of places and languages."""
    text = _LATIN_ACCENTS.sub("", unicodedata.normalize("NFKD", name.casefold()))
    text = _PUNCTUATION_IN_NAMES.sub(" ", text.replace("&", " and "))
    return " ".join(text.split())


def _name_variants(name: str) -> set[str]:
    """A CLDR display name plus the short forms people actually type."""
    variants = {name, _PARENTHESISED.sub("", name)}
    for suffix in (" SAR China", "特别行政区", "特別行政區", "特別行政区"):
        variants |= {variant.removesuffix(suffix) for variant in variants}
    variants |= {variant.replace("St. ", "Saint ") for variant in variants}
    return {variant for variant in variants if variant}


@cache
def _country_codes() -> frozenset[str]:
    return frozenset(
        code
        for code in Locale("en").territories
        if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
    )


def country_codes() -> frozenset[str]:
    """The ISO 3166-1 alpha-2 codes a stored ``country`` may hold."""
    return _country_codes()


@cache
def _country_names() -> dict[str, str]:
    """Lookup key -> ISO code, from names in common locales, aliases and alpha-3 codes."""
    codes = _country_codes()
    names: dict[str, str] = {}
    for code, aliases in _COUNTRY_ALIASES.items():
        for alias in aliases:
            names[_lookup_key(alias)] = code
    for alias, targets in get_global("territory_aliases").items():
        if len(alias) == 3 and alias.isalpha() and len(targets) == 1 and targets[0] in codes:
            names.setdefault(_lookup_key(alias), targets[0])
    for locale_name in _COUNTRY_NAME_LOCALES:
        for code, name in Locale.parse(locale_name).territories.items():
            if code in codes:
                for variant in _name_variants(name):
                    names.setdefault(_lookup_key(variant), code)
    return names


@cache
def _country_names_in_own_languages() -> dict[str, str]:
    """Each country's name in its own main language ("Deutschland", "España", "Россия").

    Loading ~90 locales takes a few tenths of a second, so this is only built the first time a
    name is not found among the common locales.
    """
    names: dict[str, str] = {}
    for code in sorted(_country_codes()):
        for language in get_official_languages(code, de_facto=True)[:2]:
            try:
                name = Locale.parse(language).territories.get(code)
            except (UnknownLocaleError, ValueError):
                continue
            if name:
                for variant in _name_variants(name):
                    names.setdefault(_lookup_key(variant), code)
    return names


def normalise_country(value: str | None) -> str | None:
    """ISO 3166-1 alpha-2 code, upper-case; ``None`` when empty.

    Accepts a code in any case, an alpha-3 code, or a name in English, Chinese (simplified and
    traditional), Japanese, German, French, Spanish or the country's own language, plus common
    aliases (USA, UK, Great Britain, 中华人民共和国...).
    """
    text = normalise_text(value)
    if not text:
        return None
    code = text.upper()
    if code in _country_codes():
        return code
    key = _lookup_key(text)
    found = _country_names().get(key) or _country_names_in_own_languages().get(key)
    if found is None:
        raise NormalisationError(UNKNOWN_COUNTRY)
    return found


_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
_LANGUAGE_ALIASES = {
    "zh-Hans": ("简体中文", "簡體中文", "简体"),
    "zh-Hant": ("繁體中文", "繁体中文", "繁體"),
}


@cache
def _language_codes() -> frozenset[str]:
    return frozenset(code for code in Locale("en").languages if "_" not in code)


@cache
def _language_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for tag, aliases in _LANGUAGE_ALIASES.items():
        for alias in aliases:
            names[_lookup_key(alias)] = tag
    for locale_name in _COUNTRY_NAME_LOCALES:
        for code, name in Locale.parse(locale_name).languages.items():
            if "_" not in code:
                names.setdefault(_lookup_key(name), code)
    official = {language for code in _country_codes() for language in get_official_languages(code)}
    for language in sorted(official):
        try:
            name = Locale.parse(language).languages.get(language)
        except (UnknownLocaleError, ValueError):
            continue
        if name:
            names.setdefault(_lookup_key(name), language)
    return names


def normalise_language(value: str | None) -> str:
    """BCP 47 language tag ("en", "zh-Hans", "pt-BR") from a tag or a language name; "" if empty."""
    text = normalise_text(value)
    if not text:
        return ""
    if _LANGUAGE_TAG.match(text):
        try:
            language, territory, script, _variant = parse_locale(text.replace("-", "_"))
        except ValueError:
            pass
        else:
            language = get_global("language_aliases").get(language, language)
            if language in _language_codes() and (
                territory is None or territory in _country_codes()
            ):
                return "-".join(part for part in (language, script, territory) if part)
    found = _language_names().get(_lookup_key(text))
    if found is None:
        raise NormalisationError(UNKNOWN_LANGUAGE)
    return found


# --- Phones ------------------------------------------------------------------------------------
_PHONE_SEPARATORS = re.compile(r"[\s\-./()\u2010-\u2015\u3000]+")
_PHONE_SHAPE = re.compile(r"^\+?\d{3,20}$")


def normalise_phone(value: str | None, *, region: str | None) -> str | None:
    """E.164 phone number (``+4915183186386``); ``None`` when empty.

    ``region`` is the ISO code of the row's country: it says which country a national number
    (``0151 83186386``) belongs to and which international access code is dialled there
    (``00`` in most of the world, ``011`` in North America, ``010`` in Japan). Numbers written
    with ``+``, or in a region's international form, keep their own country code; a number
    that starts with the region's country code but not with its trunk prefix
    (``4915183186386`` for DE) is read as international. Without a region, only ``+`` and
    ``00`` numbers can be understood. The result must be a valid number for its country.
    """
    text = normalise_text(value)
    if not text:
        return None
    compact = _PHONE_SEPARATORS.sub("", unicodedata.normalize("NFKC", text))
    if not _PHONE_SHAPE.match(compact):
        raise NormalisationError(INVALID_PHONE)
    number = _parse_phone(compact, region.upper() if region else None)
    if (number is None or not phonenumbers.is_valid_number(number)) and compact.startswith("00"):
        # 00 is the access code in most of the world, so people write it whatever the region.
        number = _parse_or_none("+" + compact[2:], None)
    if number is None or not phonenumbers.is_valid_number(number):
        raise NormalisationError(INVALID_PHONE)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _parse_phone(compact: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    if region is not None and not compact.startswith("+"):
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if metadata is not None:
            country_code = str(metadata.country_code)
            trunk_prefix = metadata.national_prefix or ""
            if compact.startswith(country_code) and not (
                trunk_prefix and compact.startswith(trunk_prefix)
            ):
                with_country_code = _parse_or_none("+" + compact, None)
                if with_country_code is not None and phonenumbers.is_valid_number(
                    with_country_code
                ):
                    return with_country_code
    return _parse_or_none(compact, region)


def _parse_or_none(text: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


# --- Dates -------------------------------------------------------------------------------------
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_ISO_DATE = re.compile(
    # The text is lower-cased before matching, hence "t" and "z" in timestamps.
    r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[t ][\d:.]+(?:z|[+-]\d\d:?\d\d)?)?$"
)
_DOTTED_DATE = re.compile(r"^(\d{1,2})\.\s?(\d{1,2})\.\s?(\d{4})$")
_SLASHED_DATE = re.compile(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{4})$")
_CJK_DATE = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号號]?$")
_MONTH_FIRST_DATE = re.compile(r"^([a-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})$")
_DAY_FIRST_DATE = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?\.?\s+([a-z]+)\.?,?\s+(\d{4})$")
EARLIEST_DATE = date(1900, 1, 1)
# Countries whose numeric dates put the month first (03/07/1985 is March 7th).
_MONTH_FIRST_COUNTRIES = frozenset(
    {"US", "PH", "FM", "MH", "PW", "AS", "GU", "MP", "PR", "VI", "UM"}
)


# How a numeric date's first two parts are read: an import's choice, or the file's evidence.
DAY_FIRST = "day_first"
MONTH_FIRST = "month_first"
AUTO = "auto"
DATE_ORDERS = (AUTO, DAY_FIRST, MONTH_FIRST)
AMBIGUOUS_DATE_REASON = gettext_noop(
    "ambiguous date in column “{column}”: read {order}; choose the date order of the import"
)
_ORDER_WORDS = {DAY_FIRST: gettext_noop("day first"), MONTH_FIRST: gettext_noop("month first")}


def ambiguous_date_reason(column: str, order: str) -> str:
    """The warning for a date in ``column`` that was read ``order`` (a guess) and could be
    read the other way round."""
    return AMBIGUOUS_DATE_REASON.format(column=column[:60], order=_ORDER_WORDS[order])


class ParsedDate(NamedTuple):
    """A date read from text, and whether another reading was just as plausible (04/06/2008).

    ``order`` is how an ambiguous date was read (``DAY_FIRST`` or ``MONTH_FIRST``).
    """

    value: date
    is_ambiguous: bool
    order: str = ""


def day_month_parts(value: str) -> tuple[int, int] | None:
    """The first two numbers of a numeric day/month date (``07/12/1946``, ``7.12.1946``,
    ``07-12-1946``), in the order written; ``None`` for any other text."""
    text = "".join(unicodedata.normalize("NFKC", value or "").split())
    match = _DOTTED_DATE.match(text) or _SLASHED_DATE.match(text)
    return (int(match[1]), int(match[2])) if match else None


@dataclass
class DateOrderEvidence:
    """What the values of one column say about its date order, value by value.

    A value with a first part above 12 (``25/03/1980``) can only be day first, one with a
    second part above 12 (``03/25/1980``) only month first. A column with evidence one way
    only is read that way; a column with none, or with both (a file merged from several
    exports), is read row by row from the country.
    """

    has_day_first: bool = False
    has_month_first: bool = False

    def add(self, value: str) -> None:
        parts = day_month_parts(value)
        if parts is not None:
            first, second = parts
            self.has_day_first |= first > 12 >= second
            self.has_month_first |= second > 12 >= first

    @property
    def order(self) -> str | None:
        if self.has_day_first == self.has_month_first:
            return None
        return DAY_FIRST if self.has_day_first else MONTH_FIRST


def parse_date(
    value: str, *, country: str | None = None, order: str | None = None
) -> ParsedDate | None:
    """Read a date in any of the supported formats, without range checks; ``None`` if empty.

    ``order`` (``DAY_FIRST`` or ``MONTH_FIRST``) says how numeric day/month dates are read.
    Without it, ``dd.mm.yyyy`` is read day first and ``dd/mm/yyyy`` (or with dashes) day first
    except for month-first countries (US), and a date whose day and month could be swapped is
    returned with ``is_ambiguous`` set: it is a guess, which imports warn about and a merge
    does not prefer over a certain value. Either way a reading that is impossible (13/25)
    gives way to the other one. Raises :class:`NormalisationError` for text that is not a date.
    """
    text = " ".join(unicodedata.normalize("NFKC", value or "").split()).lower()
    if not text:
        return None
    year = month = day = 0
    is_ambiguous = False
    if match := _ISO_DATE.match(text):
        year, month, day = (int(part) for part in match.groups())
    elif match := _DOTTED_DATE.match(text) or _SLASHED_DATE.match(text):
        first, second, year = (int(part) for part in match.groups())
        if order is None:
            is_dotted = match.re is _DOTTED_DATE
            order = (
                MONTH_FIRST if not is_dotted and country in _MONTH_FIRST_COUNTRIES else DAY_FIRST
            )
            is_ambiguous = first != second and first <= 12 and second <= 12
        day, month = (first, second) if order == DAY_FIRST else (second, first)
        if month > 12 >= day:
            month, day = day, month
    elif match := _CJK_DATE.match(text):
        year, month, day = (int(part) for part in match.groups())
    elif match := _MONTH_FIRST_DATE.match(text):
        month, day, year = _MONTHS.get(match[1], 0), int(match[2]), int(match[3])
    elif match := _DAY_FIRST_DATE.match(text):
        day, month, year = int(match[1]), _MONTHS.get(match[2], 0), int(match[3])
    else:
        raise NormalisationError(UNPARSEABLE_DATE)
    try:
        return ParsedDate(date(year, month, day), is_ambiguous, order if is_ambiguous else "")
    except ValueError:
        raise NormalisationError(UNPARSEABLE_DATE) from None


def normalise_date(
    value: str | None,
    *,
    country: str | None = None,
    today: date | None = None,
    earliest: date = EARLIEST_DATE,
    future_reason: str = BIRTH_DATE_IN_FUTURE,
) -> date | None:
    """A calendar date from ``YYYY-MM-DD``, ``YYYY/MM/DD``, ``dd.mm.yyyy``, ``dd/mm/yyyy``
    (``mm/dd/yyyy`` for US rows), ``1985年3月7日``, ``March 7, 1985`` or ``7 March 1985``.

    ``None`` when empty. Dates after ``today`` raise ``future_reason`` (pass
    ``SIGNUP_DATE_IN_FUTURE`` for sign-up dates), dates before ``earliest`` raise
    ``DATE_OUT_OF_RANGE``, anything else that is not a date raises ``UNPARSEABLE_DATE``.
    """
    parsed = parse_date(value or "", country=country)
    if parsed is None:
        return None
    return _check_date_range(
        parsed.value, today=today, earliest=earliest, future_reason=future_reason
    )


def _check_date_range(
    value: date, *, today: date | None, earliest: date, future_reason: str
) -> date:
    if value > (today or date.today()):
        raise NormalisationError(future_reason)
    if value < earliest:
        raise NormalisationError(DATE_OUT_OF_RANGE)
    return value


_YEAR_ONLY = re.compile(r"^\d{4}$")


def normalise_birth_year(value: str | int | None, *, today: date | None = None) -> int | None:
    """A year of birth from "1957" (or 1957); ``None`` when empty. Years after this one raise
    ``BIRTH_DATE_IN_FUTURE``, years before ``EARLIEST_DATE``'s ``DATE_OUT_OF_RANGE``."""
    if value is None or isinstance(value, bool):
        return None
    text = unicodedata.normalize("NFKC", str(value)).strip()
    if not text:
        return None
    if not _YEAR_ONLY.match(text):
        raise NormalisationError(NOT_A_YEAR)
    year = int(text)
    if year > (today or date.today()).year:
        raise NormalisationError(BIRTH_DATE_IN_FUTURE)
    if year < EARLIEST_DATE.year:
        raise NormalisationError(DATE_OUT_OF_RANGE)
    return year


# --- Small vocabularies ------------------------------------------------------------------------
_BOOLEANS = {
    **dict.fromkeys(
        ("yes", "y", "1", "true", "t", "on", "ja", "oui", "是", "是的", "对", "はい"), True
    ),
    **dict.fromkeys(
        ("no", "n", "0", "false", "f", "off", "nein", "non", "否", "不", "不是", "いいえ"), False
    ),
}
_GENDERS = {
    **dict.fromkeys(
        ("f", "female", "w", "woman", "weiblich", "frau", "femme", "女", "女性"),
        "female",
    ),
    **dict.fromkeys(("m", "male", "man", "männlich", "mann", "homme", "男", "男性"), "male"),
    **dict.fromkeys(
        ("o", "other", "d", "diverse", "divers", "x", "non-binary", "nonbinary", "其他", "その他"),
        "other",
    ),
    **dict.fromkeys(
        ("u", "unknown", "prefer not to say", "not specified", "未知", "保密", "不明"), "unknown"
    ),
}


def normalise_bool(value: str | bool | int | None) -> bool | None:
    """``True``/``False`` from yes/no, y/n, 1/0, true/false, on/off, 是/否...; ``None`` if empty."""
    if value is None or isinstance(value, bool):
        return value
    key = normalise_text(str(value)).lower().rstrip(".")
    if not key:
        return None
    try:
        return _BOOLEANS[key]
    except KeyError:
        raise NormalisationError(NOT_A_YES_NO_VALUE) from None


def normalise_gender(value: str | None) -> str | None:
    """One of ``female``, ``male``, ``other``, ``unknown``; ``None`` when empty."""
    key = normalise_text(value).lower().rstrip(".")
    if not key:
        return None
    try:
        return _GENDERS[key]
    except KeyError:
        raise NormalisationError(UNKNOWN_GENDER) from None


# ; , | and their full-width forms, the ideographic comma, line breaks.
_TAG_SEPARATORS = re.compile(r"[;,|\uff0c\u3001\uff1b\uff5c\n]")


def normalise_tags(value: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """Lower-case tags split on ``; , |``, full-width forms and 、; no empties, no repeats."""
    if not value:
        return []
    parts = _TAG_SEPARATORS.split(value) if isinstance(value, str) else value
    tags: dict[str, None] = {}
    for part in parts:
        if tag := normalise_text(part).lower():
            tags[tag] = None
    return list(tags)


# --- Payment cards -----------------------------------------------------------------------------
# Found (and removed from stored files) by the privacy core: ``contains_card_number(text)``.


# --- Names -------------------------------------------------------------------------------------
_HAN = r"\u3005\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_KANA_RANGES = r"\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f"
_CJK_NAME = re.compile(rf"^[{_HAN}{_KANA_RANGES}・ ]+$")
_KANA = re.compile(rf"[{_KANA_RANGES}]")
_LEADING_KANJI = re.compile(rf"^[{_HAN}]+")
_CHINESE_COUNTRIES = frozenset({"CN", "TW", "HK", "MO", "SG"})
_CHINESE_COMPOUND_SURNAMES = frozenset(
    """
    欧阳 歐陽 司马 司馬 诸葛 諸葛 上官 东方 東方 皇甫 尉迟 尉遲 公孙 公孫 慕容 令狐 夏侯 长孙 長孫
    宇文 司徒 端木 申屠 轩辕 軒轅 独孤 獨孤 南宫 南宮 西门 西門 闻人 聞人 澹台 澹臺 公冶 宗政 濮阳
    濮陽 太叔 仲孙 仲孫 钟离 鍾離 宰父 谷梁 穀梁 百里 东郭 東郭 呼延 万俟 萬俟 闾丘 閭丘 左丘 梁丘
    第五 羊舌 微生 公羊 拓跋 赫连 赫連 乐正 樂正 漆雕 壤驷 壤駟 公良 段干 巫马 巫馬 亓官 司寇 子车
    子車 颛孙 顓孫 公西 司空 单于 單于 呼延 鲜于 鮮于 淳于 申屠 公冶
    """.split()  # noqa: SIM905 - a block of words is easier to read than a list of strings
)
# Common Japanese family names. Full names are written without a space, so the family name is
# found by its known spelling; _japanese_family_length falls back to length rules otherwise.
_JAPANESE_SURNAMES = frozenset(
    """
    林 森 原 関 東 辻 堀 西 北 南 岡 谷 泉 星 畑 杉 菅 島 嶋 宮 沢 岸 桜 柳 萩 梶 浜 楠 椎 乾 堤 岩
    佐藤 鈴木 高橋 田中 伊藤 渡辺 渡邉 渡邊 山本 中村 小林 加藤 吉田 山田 山口 松本 井上 木村 斎藤
    齋藤 齊藤 斉藤 清水 山崎 阿部 池田 橋本 山下 石川 中島 前田 藤田 後藤 小川 岡田 村上 近藤 石井
    遠藤 坂本 青木 藤井 西村 福田 太田 三浦 藤原 松田 岡本 中川 中野 原田 小野 田村 竹内 金子 和田
    中山 石田 上田 森田 小島 柴田 原口 宮崎 酒井 工藤 横山 宮本 内田 高木 安藤 谷口 大野 丸山 今井
    河野 藤本 村田 武田 上野 杉山 増田 小山 大塚 平野 菅原 久保 松井 千葉 岩崎 桜井 木下 野口 松尾
    菊地 野村 新井 渡部 佐野 杉本 古川 大西 市川 水野 島田 高田 吉川 山内 西田 飯田 菊池 西川 小松
    北村 安田 川口 平田 中田 服部 岩田 土屋 川崎 福島 本田 樋口 秋山 田口 永井 山中 中西 吉村 川上
    石原 大橋 松岡 馬場 浜田 森本 星野 矢野 浅野 松下 吉井 小池 野田 荒木 大谷 内藤 松浦 熊谷 黒田
    尾崎 永田 川村 望月 田辺 松村 荒井 堀内 大島 平井 早川 菅野 栗原 西山 広瀬 横田 石橋 萩原 岩本
    片山 関口 宮田 大石 高山 本間 吉岡 小田 藤川 河合 岡崎 飯塚 森下 森川 森山 林田 原田 関根 東山
    西岡 北川 南部 岡野 岡部 谷川 星川 宮下 宮川 沢田 岸本 桜田 柳田 堀田 堀江 岩井 岩瀬 岩佐 村井
    今村 三上 三宅 大川 大森 大木 大山 大村 小西 小泉 小沢 小野田 上原 中澤 中沢 長田 長井 長野 長尾
    永野 青山 赤木 秋元 浅井 足立 荒川 有田 安部 新田 飯島 五十嵐 池上 石崎 石塚 市村 伊東 稲垣 今泉
    入江 上村 内山 江口 遠山 大久保 大竹 大西 大橋 太田 岡村 奥田 奥村 小倉 尾形 片岡 金井 金田 川島
    河村 神田 北野 木内 楠本 工藤 久保田 栗田 黒川 桑原 小池 河内 児玉 後藤 小松 今野 斎木 坂口 坂井
    坂田 佐久間 桜木 笹木 佐々木 佐竹 佐野 沢井 塩田 篠原 柴崎 島村 清水 下田 白井 白石 新谷 菅井
    杉田 鈴村 関 瀬戸 高井 高野 高松 高村 滝沢 竹田 竹中 竹本 武井 田島 田代 立花 辰巳 田畑 玉井
    千田 辻本 土井 筒井 寺田 寺本 土居 徳田 徳永 富田 豊田 内藤 長岡 中井 中尾 中谷 中原 中本 中森
    成田 西尾 西本 野崎 野中 野原 萩野 橋口 長谷川 長谷部 浜口 早坂 春田 久田 平川 平山
    広田 福井 福本 福原 藤岡 藤木 藤沢 藤野 藤村 藤山 古田 星 細川 細田 堀 本多 前川 牧 牧野 増井
    町田 松原 松永 松山 丸井 三木 水谷 溝口 三谷 光田 緑川 宮内 宮沢 向井 村山 茂木 本山 森 森岡
    八木 安井 矢島 柳 山岸 山根 山村 湯川 横井 横川 吉野 吉原 米田 若林 和田 渡 宇佐美 小野寺 小笠原
    宇都宮 阿久津 勅使河原 長谷 大和田 日比野 寺島 越智 鬼塚 加納 神谷 亀井 喜多 木原 国分 熊田
    """.split()  # noqa: SIM905 - a block of words is easier to read than a list of strings
)
_WESTERN_SURNAME_PARTICLES = frozenset(
    """
    de da di do dos das du del della dei der den des la le lo van von ten ter te zu zum zur
    st st. saint ste mac bin ibn al el ben ap
    """.split()  # noqa: SIM905 - a block of words is easier to read than a list of strings
)

# Honorifics and titles written before a name ("Dr. Anna Schmidt", "Herr Koch"), compared
# case-insensitively without their dots. Given names that double as titles ("Don") are left out.
_NAME_TITLES = frozenset(
    """
    mr mrs ms miss mx dr prof professor sir dame rev herr frau fräulein monsieur madame mme
    mlle mademoiselle señor senor señora senora sr sra srta signor signora sig dott ing mag
    """.split()  # noqa: SIM905 - a block of words is easier to read than a list of strings
)
# Generational suffixes and post-nominals written after a name ("Vinzenz Koch II").
_NAME_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv", "v", "vi", "phd", "esq"})
# A single letter is more often an initial ("Anna V") than a suffix: only taken as a suffix
# after a given and a family name.
_INITIAL_LIKE_SUFFIXES = frozenset({"v"})


def _name_word(token: str) -> str:
    return token.casefold().strip(".")


def _without_titles(tokens: list[str]) -> list[str]:
    start = 0
    while start < len(tokens) - 1 and _name_word(tokens[start]) in _NAME_TITLES:
        start += 1
    return tokens[start:]


def _without_suffixes(tokens: list[str]) -> list[str]:
    end = len(tokens)
    while end > 1:
        word = _name_word(tokens[end - 1])
        if word not in _NAME_SUFFIXES or (word in _INITIAL_LIKE_SUFFIXES and end < 3):
            break
        end -= 1
    return tokens[:end]


def _is_suffix_only(text: str) -> bool:
    words = [_name_word(token) for token in text.split(" ")]
    return all(word in _NAME_SUFFIXES - _INITIAL_LIKE_SUFFIXES for word in words)


def _split_western_name(full: str) -> tuple[str, str]:
    """``(given, family)`` of a name written given name first, or "Family, Given".

    Titles before the name and generational suffixes after it are recognised and left out
    of both parts: "Dr. Anna Maria Schmidt" is Anna Maria Schmidt, "Vinzenz Koch II" and
    "Koch II, Vinzenz" are Vinzenz Koch. A title before a lone name marks a family name
    ("Herr Koch").
    """
    parts = [normalise_text(part) for part in full.split(",")]
    # "Koch, Vinzenz, Jr.": a part that is only a suffix is not the given name.
    parts = [part for part in parts if part and not _is_suffix_only(part)]
    if len(parts) >= 2:
        family = " ".join(_without_suffixes(_without_titles(parts[0].split(" "))))
        given = " ".join(_without_titles(" ".join(parts[1:]).split(" ")))
        return given, family
    tokens = (parts[0] if parts else full).split(" ")
    titled = _without_titles(tokens)
    has_title = len(titled) < len(tokens)
    tokens = _without_suffixes(titled)
    if len(tokens) == 1:
        return ("", tokens[0]) if has_title else (tokens[0], "")
    family_start = len(tokens) - 1
    while family_start > 1 and tokens[family_start - 1].casefold() in _WESTERN_SURNAME_PARTICLES:
        family_start -= 1
    return " ".join(tokens[:family_start]), " ".join(tokens[family_start:])


def split_name(
    *, first: str = "", last: str = "", full: str = "", country: str | None = None
) -> tuple[str, str]:
    """``(given_name, family_name)`` from split name fields or a full name.

    Split fields win when either is filled. A full name is split by its conventions: Chinese
    and Japanese names are written family name first and usually without a space (Chinese:
    one character, or two for compound surnames such as 欧阳; Japanese: the known family name,
    e.g. 高橋 in 高橋亮介 and 佐々木 in 佐々木加奈); Western names put the family name last,
    together with particles such as "de", "van der" ("Gérard De Sousa"); "Family, Given" is
    understood too. Titles ("Dr.", "Herr") and generational suffixes ("Jr.", "II") in a full
    name belong to neither part and are left out; split fields are kept as they were typed.
    """
    first, last = normalise_text(first), normalise_text(last)
    if first or last:
        return first, last
    full = normalise_text(full)
    if not full:
        return "", ""
    if _CJK_NAME.match(full):
        if " " in full:
            family, given = full.split(" ", 1)
            return given.replace(" ", ""), family
        if "・" in full:
            # Foreign names in katakana keep their own order: ジョン・スミス.
            given, _, family = full.rpartition("・")
            return given, family
        country = (country or "").upper()
        japanese = (
            country == "JP"
            or bool(_KANA.search(full))
            or (country not in _CHINESE_COUNTRIES and "\u3005" in full)  # 々, as in 佐々木
        )
        family_length = _japanese_family_length(full) if japanese else _chinese_family_length(full)
        return full[family_length:], full[:family_length]
    return _split_western_name(full)


def _chinese_family_length(name: str) -> int:
    if len(name) <= 1:
        return 0
    return 2 if len(name) >= 3 and name[:2] in _CHINESE_COMPOUND_SURNAMES else 1


def _japanese_family_length(name: str) -> int:
    if len(name) <= 1:
        return 0
    for length in (4, 3, 2, 1):
        if length <= len(name) and name[:length] in _JAPANESE_SURNAMES:
            return length
    # An unknown family name: it is usually written in kanji and followed by a given name in
    # kana (田所さゆり), otherwise two characters is by far the most common length.
    kanji = _LEADING_KANJI.match(name)
    if kanji and 0 < len(kanji[0]) < len(name):
        return min(len(kanji[0]), 3)
    return 1 if len(name) == 2 else 2


# --- Whole rows --------------------------------------------------------------------------------
# Free-text fields: searched for card numbers, stored trimmed with whitespace collapsed.
_TEXT_FIELDS = ("city", "company", "industry", "job_title", "postal_code")
_MULTILINE_FIELDS = ("postal_address", "notes")
_NAME_PARTS = {
    "given_name": ("given_name", "first_name"),
    "family_name": ("family_name", "last_name"),
    "full_name": ("full_name",),
}
DEFAULT_CHANNEL = "import"


@dataclass
class NormalisedCustomer:
    """One raw record after normalisation.

    ``fields`` holds values ready for the Customer model: ``email`` and ``phone`` are ``None``
    when absent, ``birth_date``/``birth_year``/``signup_date``/``marketing_opt_in`` are ``None``
    when absent or invalid (a year alone sets ``birth_year`` only), text fields (names,
    country, gender, language, city...) are ``""`` and ``tags``
    is a list. ``external_ids`` are ``(channel, id)`` pairs. ``warnings`` are ``(field,
    reason)`` pairs for values that were left empty or read by a guess (an ambiguous numeric
    date); ``rejection`` is set when the row must
    not be imported at all. ``ambiguous_fields`` names fields holding the more likely of two
    readings (``04/06/2008``), which a merge should not prefer over a certain value.
    """

    fields: dict[str, object]
    external_ids: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    rejection: str | None = None
    ambiguous_fields: list[str] = field(default_factory=list)
    # Values of the team's custom fields, checked (customers.services.custom_fields): plain and
    # personal ones apart, as the customer stores them.
    attributes: dict[str, object] = field(default_factory=dict)
    private_attributes: dict[str, object] = field(default_factory=dict)

    @property
    def is_rejected(self) -> bool:
        return self.rejection is not None


def normalise_customer_row(
    raw: Mapping[str, object],
    *,
    default_country: str | None = None,
    today: date | None = None,
    date_orders: Mapping[str, str] | None = None,
    columns: Mapping[str, str] | None = None,
) -> NormalisedCustomer:
    """Normalise one record keyed by canonical field names (the import's mapping, the API).

    Values are usually strings; the API may also pass a bool for ``marketing_opt_in``, a list
    for ``tags`` and dates as :class:`datetime.date`. Name parts may come as
    ``given_name``/``first_name``, ``family_name``/``last_name`` and ``full_name``; identities
    as ``source`` (or ``source_channel``) with ``external_id``, and ``wechat_id``.
    ``default_country`` is how national phone numbers and numeric dates are read when the row
    names no country; it is not stored as the customer's country. ``date_orders`` says how
    the numeric dates of a field are read (``{"birth_date": DAY_FIRST}``, from the import's
    choice or its file); a field without one is read by the row's country, and a date that
    could be read both ways is then kept with a warning naming its column (``columns`` maps
    field names to the file's column names; the field name is used without it).

    Policy: a row needs at least one identifier (an external id, a valid email or a valid
    phone) or it is rejected, naming the invalid identifier if there was one. Any other
    invalid value is left empty with a warning and the row is kept. Text holding a payment
    card number is never kept, whatever the field.
    """
    today = today or date.today()
    result = NormalisedCustomer(fields={})
    fields = result.fields

    def value_of(*names: str) -> object:
        for name in names:
            value = raw.get(name)
            if value is not None and value != "":
                return value
        return None

    def text(*names: str) -> str:
        value = value_of(*names)
        return "" if value is None else str(value)

    def without_card_number(field_name: str, value: str) -> str:
        if contains_card_number(value):
            result.warnings.append((field_name, card_number_reason(field_name)))
            return ""
        return value

    def attempt(field_name: str, function: Callable[..., _T], *args, **kwargs) -> _T | None:
        try:
            return function(*args, **kwargs)
        except NormalisationError as error:
            result.warnings.append((field_name, error.reason))
            return None

    # Country first: it decides how phones and dates are read.
    country = attempt("country", normalise_country, text("country"))
    fields["country"] = country or ""
    region = country or (default_country.upper() if default_country else None)

    invalid_identifiers: list[str] = []
    try:
        fields["email"] = normalise_email(text("email"))
    except NormalisationError:
        fields["email"] = None
        invalid_identifiers.append("email")
    try:
        fields["phone"] = normalise_phone(text("phone"), region=region)
    except NormalisationError:
        fields["phone"] = None
        invalid_identifiers.append("phone")

    given, family, full = (
        without_card_number(name, text(*keys)) for name, keys in _NAME_PARTS.items()
    )
    fields["given_name"], fields["family_name"] = split_name(
        first=given, last=family, full=full, country=region
    )
    for name in _TEXT_FIELDS:
        fields[name] = normalise_text(without_card_number(name, text(name)))
    for name in _MULTILINE_FIELDS:
        fields[name] = normalise_text(without_card_number(name, text(name)), multiline=True)
    tags = value_of("tags")
    if isinstance(tags, list | tuple):
        fields["tags"] = normalise_tags([without_card_number("tags", str(tag)) for tag in tags])
    else:
        fields["tags"] = normalise_tags(without_card_number("tags", text("tags")))

    for name, future_reason in (
        ("birth_date", BIRTH_DATE_IN_FUTURE),
        ("signup_date", SIGNUP_DATE_IN_FUTURE),
    ):
        fields[name] = None
        value = value_of(name)
        if name == "birth_date" and _YEAR_ONLY.match(text(name).strip()):
            # A year alone ("1957") is a year of birth, not a broken date.
            fields["birth_year"] = attempt(name, normalise_birth_year, text(name), today=today)
            continue
        if isinstance(value, datetime):
            value = value.date()
        parsed = (
            ParsedDate(value, is_ambiguous=False)
            if isinstance(value, date)
            else attempt(
                name,
                parse_date,
                text(name),
                country=region,
                order=(date_orders or {}).get(name),
            )
        )
        if parsed is not None:
            fields[name] = attempt(
                name,
                _check_date_range,
                parsed.value,
                today=today,
                earliest=EARLIEST_DATE,
                future_reason=future_reason,
            )
            if fields[name] is not None and parsed.is_ambiguous:
                result.ambiguous_fields.append(name)
                column = (columns or {}).get(name, name)
                result.warnings.append((name, ambiguous_date_reason(column, parsed.order)))

    if fields["birth_date"] is not None:
        fields["birth_year"] = fields["birth_date"].year
    elif fields.get("birth_year") is None:
        fields["birth_year"] = attempt(
            "birth_year", normalise_birth_year, value_of("birth_year"), today=today
        )
    fields["gender"] = attempt("gender", normalise_gender, text("gender")) or ""
    fields["language"] = attempt("language", normalise_language, text("language")) or ""
    opt_in = value_of("marketing_opt_in")
    fields["marketing_opt_in"] = attempt(
        "marketing_opt_in",
        normalise_bool,
        opt_in if isinstance(opt_in, bool) else text("marketing_opt_in"),
    )
    source_channel = normalise_text(text("source_channel", "source")).lower()
    fields["source_channel"] = source_channel

    if external_id := normalise_text(text("external_id")):
        result.external_ids.append((source_channel or DEFAULT_CHANNEL, external_id))
    if wechat_id := normalise_text(text("wechat_id")):
        result.external_ids.append(("wechat", wechat_id))

    if not (result.external_ids or fields["email"] or fields["phone"]):
        if "email" in invalid_identifiers:
            result.rejection = REJECTED_INVALID_EMAIL
        elif "phone" in invalid_identifiers:
            result.rejection = REJECTED_INVALID_PHONE
        else:
            result.rejection = REJECTED_NO_IDENTIFIER
    else:
        reasons = {"email": INVALID_EMAIL, "phone": INVALID_PHONE}
        result.warnings.extend((name, reasons[name]) for name in invalid_identifiers)
    return result
