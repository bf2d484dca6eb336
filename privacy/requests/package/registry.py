"""The exporter registry of the access package (GDPR Art. 15 copy, Art. 20 portability).

The privacy core cannot know the tables of the apps built on it, so each app registers its part
in its ``AppConfig.ready()``::

    register_exporter("customers", customers_export, collect=..., sources=...)

- ``collect(*, team, customer_ids)`` says which customers the request really concerns (the
  team's own customers among ``customer_ids`` plus the profiles merged into them);
- ``exporter(*, team, customer_ids)`` describes the app's categories of data about them
  (``ExportCategory``): a name, a title, a description, the columns, and the rows as either
  an SQL query, streamed with PostgreSQL ``COPY … TO STDOUT`` (big tables: events, purchases),
  or Python rows (small data that must be decrypted in Python: the profile, identities);
- ``sources(*, team, customer_ids)`` says where the data came from (``DataSource``).

The consent history is the package's own category (``consent_history_category``); it comes
after every app's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.db import connection

from privacy.core.registry import Registry
from privacy.models import ConsentEvent, ConsentPurpose, PrivacyNotice, Team

FORMAT = "marketbase-subject-export"
VERSION = 1
CONSENT_CATEGORY = "consent_history"

JSON_TYPES = ("string", "integer", "number", "boolean", "object", "array")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class ExportColumn:
    """One column of a category: its name in ``data.json`` and the CSV header, what it holds,
    and its JSON type (one of ``JSON_TYPES``; ``None`` for any JSON value)."""

    name: str
    description: str
    type: str | None = "string"
    # A JSON Schema format for strings: "date-time", "date", "email".
    format: str | None = None
    nullable: bool = True
    # The type of the items of an array column.
    items: str | None = None


@dataclass(frozen=True)
class ExportCategory:
    """One category of data about the person, with its rows given in one of two ways.

    ``sql`` (with ``params``) selects exactly the columns, named and ordered as ``columns``;
    its rows never enter Python as objects. ``rows`` is an iterable of mappings (column name →
    value), read once, lazily: use it for the few rows that must be decrypted in Python.
    """

    name: str
    title: str
    description: str
    columns: Sequence[ExportColumn]
    sql: str | None = None
    params: Sequence[Any] | Mapping[str, Any] | None = None
    rows: Iterable[Mapping[str, Any]] | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"Category names are lower-case identifiers: {self.name!r}")
        if (self.sql is None) == (self.rows is None):
            raise ValueError(f"Category {self.name!r}: give either sql or rows, not both.")
        names = [column.name for column in self.columns]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"Category {self.name!r}: columns must be distinct and not empty.")
        for column in self.columns:
            if column.type is not None and column.type not in JSON_TYPES:
                raise ValueError(f"Column {self.name}.{column.name}: unknown type {column.type}")


@dataclass(frozen=True)
class DataSource:
    """Where some of the person's data came from, for the information part of the package."""

    category: str
    source: str
    description: str
    rows: int | None = None
    fields: tuple[str, ...] = ()


class Collector(Protocol):
    def __call__(self, *, team: Team, customer_ids: list[int]) -> Iterable[int]: ...


class Exporter(Protocol):
    def __call__(self, *, team: Team, customer_ids: list[int]) -> list[ExportCategory]: ...


class SourceDescriber(Protocol):
    def __call__(self, *, team: Team, customer_ids: list[int]) -> list[DataSource]: ...


@dataclass(frozen=True)
class _Registration:
    export: Exporter
    collect: Collector | None
    sources: SourceDescriber | None


_exporters: Registry[_Registration] = Registry("access package exporters")


def register_exporter(
    label: str,
    exporter: Exporter,
    *,
    collect: Collector | None = None,
    sources: SourceDescriber | None = None,
) -> None:
    """Let an app take part in every access package (call it from ``AppConfig.ready()``).

    Categories appear in the package in the order of registration, the privacy core's consent
    history last. Registering a label again is a no-op with the same functions and an error
    with others.
    """
    _exporters.register(label, _Registration(export=exporter, collect=collect, sources=sources))


def exporters() -> dict[str, _Registration]:
    return dict(_exporters)


# --- The privacy core's own category ------------------------------------------------------------


def consent_history_category(*, team: Team, customer_ids: list[int]) -> ExportCategory:
    """Every consent event of the customers: what they agreed to or refused, when and how."""
    events = _table(ConsentEvent)
    purposes = _table(ConsentPurpose)
    notices = _table(PrivacyNotice)
    return ExportCategory(
        name=CONSENT_CATEGORY,
        title="Consent history",
        description="Every change of your consent, oldest first: what you agreed to or "
        "refused, on which channel, when, how we learnt it and its proof. The current state "
        "of a purpose on a channel is its latest event.",
        columns=(
            ExportColumn("id", "Number of the consent event.", "integer", nullable=False),
            ExportColumn("customer_id", "Customer number the event belongs to.", "integer"),
            ExportColumn("purpose", "Code of the purpose.", nullable=False),
            ExportColumn("purpose_name", "Name of the purpose.", nullable=False),
            ExportColumn(
                "channel", "Channel the decision is about (email, sms …).", nullable=False
            ),
            ExportColumn("status", "granted, denied or withdrawn.", nullable=False),
            ExportColumn("lawful_basis", "Lawful basis of the processing.", nullable=False),
            ExportColumn("source", "How the decision reached us (form, import, staff …)."),
            ExportColumn("source_reference", "Reference of the form, file or campaign."),
            ExportColumn(
                "evidence", "Proof of the decision: address, browser, form details.", "object"
            ),
            ExportColumn("notice_version", "Version of the privacy notice shown."),
            ExportColumn("notice_language", "Language of the privacy notice shown."),
            ExportColumn("occurred_at", "When it happened.", format="date-time", nullable=False),
            ExportColumn("expires_at", "When a grant expires, if it does.", format="date-time"),
        ),
        sql=f"""
            SELECT event.id, event.customer_id, purpose.code AS purpose,
                   purpose.name AS purpose_name, event.channel, event.status, event.lawful_basis,
                   event.source, event.source_reference, event.evidence,
                   notice.version AS notice_version, notice.language AS notice_language,
                   event.occurred_at, event.expires_at
            FROM {events} AS event
            JOIN {purposes} AS purpose ON purpose.id = event.purpose_id
            LEFT JOIN {notices} AS notice ON notice.id = event.notice_id
            WHERE event.owner_team_id = %(team)s AND event.customer_id = ANY(%(ids)s::bigint[])
            ORDER BY event.occurred_at, event.id
        """,  # noqa: S608
        params={"team": team.pk, "ids": list(customer_ids)},
    )


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)
