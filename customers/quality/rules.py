"""The fields the data-quality measures cover, and what "filled" and "valid" mean for each.

Every condition is a ``Q`` on ``Customer``, so a figure is a ``COUNT(*) FILTER (WHERE …)`` and
the customers behind it are the same condition in the customer list (``empty`` and
``invalid`` filters). Validity re-runs the entry checks of ``customers.normalisation`` on the
stored plain value:

- email: its domain (kept plain beside the encrypted address) is a domain name;
- country: an ISO 3166-1 alpha-2 code;
- postal code: shaped as in its country where the shape is known (``POSTAL_CODE_PATTERNS``),
  two to ten letters, digits, spaces or hyphens elsewhere;
- birth date: from 1900 to today;
- gender: one of the stored choices; language: a language tag (``en``, ``zh-Hans``);
- source channel: a known channel.

Phone and names are stored encrypted; they are validated on entry and have completeness only.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from customers.models import Channel, Gender
from customers.normalisation import country_codes

EMAIL_DOMAIN_PATTERN = r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$"
LANGUAGE_PATTERN = r"^[a-z]{2,3}([-_][a-z0-9]{2,8})*$"
POSTAL_CODE_PATTERNS = {
    "AT": r"^[0-9]{4}$",
    "AU": r"^[0-9]{4}$",
    "BE": r"^[0-9]{4}$",
    "CA": r"^[a-z][0-9][a-z] ?[0-9][a-z][0-9]$",
    "CH": r"^[0-9]{4}$",
    "CN": r"^[0-9]{6}$",
    "DE": r"^[0-9]{5}$",
    "DK": r"^[0-9]{4}$",
    "ES": r"^[0-9]{5}$",
    "FR": r"^[0-9]{5}$",
    "GB": r"^[a-z]{1,2}[0-9][a-z0-9]? ?[0-9][a-z]{2}$",
    "IT": r"^[0-9]{5}$",
    "JP": r"^[0-9]{3}-?[0-9]{4}$",
    "NL": r"^[0-9]{4} ?[a-z]{2}$",
    "US": r"^[0-9]{5}(-[0-9]{4})?$",
}
OTHER_POSTAL_CODE_PATTERN = r"^[a-z0-9][a-z0-9 -]{1,9}$"
EARLIEST_BIRTH_DATE = datetime.date(1900, 1, 1)


def _postal_code_valid(today: datetime.date) -> Q:
    condition = ~Q(country__in=POSTAL_CODE_PATTERNS) & Q(
        postal_code__iregex=OTHER_POSTAL_CODE_PATTERN
    )
    for country, pattern in POSTAL_CODE_PATTERNS.items():
        condition |= Q(country=country, postal_code__iregex=pattern)
    return condition


@dataclass(frozen=True)
class QualityField:
    """A measured field: ``is_nullable`` fields are empty when NULL (encrypted text, dates),
    the others when blank; ``validity`` gives the condition a filled value must meet."""

    key: str
    label: str | Promise
    is_nullable: bool = False
    validity: Callable[[datetime.date], Q] | None = None

    def filled(self) -> Q:
        if self.is_nullable:
            return Q(**{f"{self.key}__isnull": False})
        return ~Q(**{self.key: ""})

    def empty(self) -> Q:
        return ~self.filled()

    def valid(self, today: datetime.date) -> Q:
        """Filled and valid; every filled value when the field has no validity check."""
        if self.validity is None:
            return self.filled()
        return self.filled() & self.validity(today)

    def invalid(self, today: datetime.date) -> Q:
        return self.filled() & ~self.valid(today)


QUALITY_FIELDS: tuple[QualityField, ...] = (
    QualityField(
        "email",
        _("email"),
        is_nullable=True,
        validity=lambda today: Q(email_domain__iregex=EMAIL_DOMAIN_PATTERN),
    ),
    QualityField("phone", _("phone"), is_nullable=True),
    QualityField("given_name", _("given name"), is_nullable=True),
    QualityField("family_name", _("family name"), is_nullable=True),
    QualityField(
        "country", _("country"), validity=lambda today: Q(country__in=sorted(country_codes()))
    ),
    QualityField("city", _("city")),
    QualityField("postal_code", _("postal code"), validity=_postal_code_valid),
    QualityField(
        "birth_date",
        _("birth date"),
        is_nullable=True,
        validity=lambda today: Q(birth_date__range=(EARLIEST_BIRTH_DATE, today)),
    ),
    QualityField("gender", _("gender"), validity=lambda today: Q(gender__in=Gender.values)),
    QualityField(
        "language", _("language"), validity=lambda today: Q(language__iregex=LANGUAGE_PATTERN)
    ),
    QualityField(
        "source_channel",
        _("source channel"),
        validity=lambda today: Q(source_channel__in=Channel.values),
    ),
)
QUALITY_FIELDS_BY_KEY = {field.key: field for field in QUALITY_FIELDS}


def quality_field_choices() -> list[tuple[str, str | Promise]]:
    return [(field.key, field.label) for field in QUALITY_FIELDS]


def checked_field_choices() -> list[tuple[str, str | Promise]]:
    """The fields with a validity check (the customer list's ``invalid`` filter)."""
    return [(field.key, field.label) for field in QUALITY_FIELDS if field.validity]
