"""Ingestion of behaviour events and purchases, from the REST API and from CSV import chunks.

Both doors go through the same steps, so an event or purchase is checked, attributed and
stored the same way wherever it comes from:

1. every item is validated on its own; a bad item is rejected with errors whose ``field`` is
   a path inside the item (``occurred_at``, ``items.3``), and never stops the others;
2. the customers of the whole batch are resolved in one query, whatever the batch size and
   however they are named (``customer_id``, ``external_id`` + ``channel``, ``email`` through
   the blind index), following merges to the surviving profile; a customer of another team
   is "unknown", exactly like one that does not exist; an item naming an erased person by an
   external id or email is refused as suppressed;
3. the valid items are inserted in one ``INSERT ... ON CONFLICT DO NOTHING`` statement.
   Events with a ``client_id`` are unique per (team, source, client id) and purchases per
   (team, source, order reference), so a retried batch stores nothing twice and reports the
   stored items as ``duplicate`` with their existing ids (found in one more query);
4. one audit entry per batch records the counts, never a value.

Over 600 lines because both doors (API batches, CSV chunks) share each step here, in order.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from babel.numbers import list_currencies
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from customers.models import Event, IdentityKind, Purchase, RowOutcome
from customers.normalisation import (
    NormalisationError,
    ambiguous_date_reason,
    day_month_parts,
    normalise_email,
    normalise_text,
    parse_date,
)
from customers.services.metrics import customer_metrics_queue
from customers.services.suppression import SUPPRESSED, identities_suppressed
from privacy.core.crypto import blind_index
from privacy.core.services.audit import audit_record
from privacy.models import Team

MAX_BATCH = 1000
MAX_PROPERTIES_BYTES = 16 * 1024
MAX_LINE_ITEMS_BYTES = 64 * 1024
MAX_KEY_LENGTH = 128  # client ids, order references, external ids
MAX_QUANTITY = 2_147_483_647  # PostgreSQL integer
MAX_ID = 9_223_372_036_854_775_807  # PostgreSQL bigint
MAX_AMOUNT = Decimal("9999999999.99")  # numeric(12, 2)
FUTURE_TOLERANCE = timedelta(days=1)
DEFAULT_IMPORT_CHANNEL = "import"

EVENT_TYPE = re.compile(r"[a-z0-9_.:-]{1,64}")
SOURCE = re.compile(r"[a-z0-9_.:-]{1,32}")
_COMPACT_DATE = re.compile(r"[0-9]{8}")
# ASCII digits, at most a bigint's: str.isdigit() and int() take other scripts' digits too.
_WHOLE_NUMBER = re.compile(r"[0-9]{1,19}")

CREATED = "created"
DUPLICATE = "duplicate"
REJECTED = "rejected"

UNKNOWN_CUSTOMER = "Unknown customer."
NO_CUSTOMER = "Name the customer: customer_id, external_id with channel, or email."
REQUIRED = "This field is required."

_REFERENCE_FIELDS = frozenset({"customer_id", "external_id", "channel", "email"})
EVENT_FIELDS = _REFERENCE_FIELDS | {"type", "occurred_at", "properties", "client_id"}
PURCHASE_FIELDS = _REFERENCE_FIELDS | {
    "order_reference",
    "occurred_at",
    "amount",
    "currency",
    "quantity",
    "items",
}


@dataclass
class IngestResult:
    """What happened to one item: ``created``, ``duplicate`` (already stored) or ``rejected``.

    ``id`` is the stored event or purchase (the existing one for a duplicate); ``errors`` name
    the field inside the item, e.g. ``{"field": "items.3", "message": "Expected an object."}``.
    """

    index: int
    status: str
    id: int | None = None
    errors: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class ImportRowResult:
    """The outcome of one CSV line: ``created``, ``unchanged`` (stored before) or ``rejected``."""

    line_number: int
    outcome: str
    object_id: int | None = None
    customer_id: int | None = None
    reason: str = ""
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class CustomerReference:
    """How an item names its customer. ``value`` is an id, an external id or an email index."""

    kind: str  # "id", IdentityKind.EXTERNAL or IdentityKind.EMAIL
    value: int | str
    channel: str = ""

    @property
    def field(self) -> str:
        return {"id": "customer_id", IdentityKind.EXTERNAL: "external_id"}.get(self.kind, "email")


@dataclass(frozen=True)
class _Activity:
    """What differs between events and purchases."""

    name: str
    fields: frozenset[str]
    key_field: str  # the idempotency key inside a row: client_id / order_reference
    validate: Callable[[dict[str, Any], datetime, list[dict[str, str]]], dict[str, Any]]
    insert: Callable[[list[tuple[int, int, int, dict[str, Any]]], str, datetime], dict[int, int]]
    existing: Callable[[int, str, set[str]], dict[str, int]]


# --- Public services ---------------------------------------------------------------------------
def events_ingest(
    *,
    actor: AbstractBaseUser | None,
    team: Team,
    items: list[Any],
    source: str = "api",
) -> list[IngestResult]:
    """Store up to 1,000 behaviour events of ``team``'s customers; one result per item.

    Item: ``type`` (1-64 of ``a-z 0-9 _ . : -``), ``occurred_at`` (ISO 8601 with a time zone,
    at most a day ahead), ``properties`` (a JSON object of at most 16 KB), ``client_id``
    (optional, at most 128 characters: the key that makes a retry safe; events without one
    are never recognised as duplicates) and the customer, by ``customer_id``, ``external_id``
    with ``channel``, or ``email`` (the first of these that is given is used).
    Raises ``ValueError`` for more than 1,000 items or an invalid ``source``.
    """
    _check_batch(items)
    results, _customers = _ingest(
        _EVENTS, actor=actor, team=team, items=items, source=_source(source)
    )
    return results


def purchases_ingest(
    *,
    actor: AbstractBaseUser | None,
    team: Team,
    items: list[Any],
    source: str = "api",
) -> list[IngestResult]:
    """Store up to 1,000 purchases of ``team``'s customers; one result per item.

    Item: ``order_reference`` (required, unique per team and source: the key that makes a
    retry safe), ``occurred_at`` (as for events), ``amount`` (a decimal of at least 0 with at
    most two places; a string such as ``"19.90"`` keeps it exact), ``currency`` (ISO 4217,
    upper case), ``quantity`` (a whole number of at least 1, default 1), ``items`` (a list of
    JSON objects, the order lines) and the customer, named as for events.
    Raises ``ValueError`` for more than 1,000 items or an invalid ``source``.
    """
    _check_batch(items)
    results, customers = _ingest(
        _PURCHASES, actor=actor, team=team, items=items, source=_source(source)
    )
    # Their order count, spend, RFM and lifecycle follow within seconds (imports enrich the
    # whole team when the job ends instead).
    customer_metrics_queue(
        team_id=team.pk,
        customer_ids=[customers[result.index] for result in results if result.status == CREATED],
    )
    return results


def purchases_import_rows(
    *,
    actor: AbstractBaseUser | None,
    team: Team,
    rows: list[tuple[int, dict[str, str]]],
    options: dict[str, Any] | None = None,
    date_orders: Mapping[str, str] | None = None,
    columns: Mapping[str, str] | None = None,
) -> list[ImportRowResult]:
    """Import one chunk of a purchases CSV: ``(line number, mapped row)`` pairs.

    Mapped fields: ``customer_external_id`` (an id on the job's ``source_channel``, default
    "import") or ``email``, ``order_reference``, ``occurred_at`` (ISO, ``YYYYMMDD`` or a
    numeric day/month date read as ``date_orders["occurred_at"]`` says, else as the job's
    ``default_country`` writes dates, with a warning naming the column from ``columns`` when
    it could be read both ways; a date alone is midnight UTC, a time without offset is UTC),
    ``amount``, ``currency`` (default:
    the job's ``currency`` option; upper-cased) and ``quantity``. Purchases are stored with
    the job's ``source_channel`` as source. When the file has no order reference column, a
    stable one is derived from the customer, time, amount and line number, so importing the
    same file again creates nothing. Any chunk size is accepted.
    """
    options = options or {}
    channel = _import_channel(options)
    currency = str(options.get("currency") or "")
    reading = _DateReading.of(options, date_orders, columns)
    items = [
        _purchase_item_from_row(
            line, raw, channel=channel, default_currency=currency, reading=reading
        )
        for line, raw in rows
    ]
    results, customers = _ingest(_PURCHASES, actor=actor, team=team, items=items, source=channel)
    return _import_results(rows, results, customers, reading)


def events_import_rows(
    *,
    actor: AbstractBaseUser | None,
    team: Team,
    rows: list[tuple[int, dict[str, str]]],
    options: dict[str, Any] | None = None,
    date_orders: Mapping[str, str] | None = None,
    columns: Mapping[str, str] | None = None,
) -> list[ImportRowResult]:
    """Import one chunk of an events CSV: ``(line number, mapped row)`` pairs.

    Mapped fields: ``customer_external_id`` or ``email`` (as for purchases), ``type``
    (lower-cased), ``occurred_at`` (as for purchases, with the same date order),
    ``client_id``, ``properties`` (a JSON object) and ``properties.<name>`` columns, which
    become properties of that name. Without a ``client_id`` column a stable id is derived
    from the customer, type, time and line number, so importing the same file again creates
    nothing.
    """
    options = options or {}
    channel = _import_channel(options)
    reading = _DateReading.of(options, date_orders, columns)
    items = [
        _event_item_from_row(line, raw, channel=channel, reading=reading) for line, raw in rows
    ]
    results, customers = _ingest(_EVENTS, actor=actor, team=team, items=items, source=channel)
    return _import_results(rows, results, customers, reading)


# --- The shared pipeline -----------------------------------------------------------------------
def _check_batch(items: list[Any]) -> None:
    if not isinstance(items, list):
        raise ValueError("Give the items as a list.")
    if len(items) > MAX_BATCH:
        raise ValueError(f"At most {MAX_BATCH} items per request.")


def _source(value: Any) -> str:
    source = str(value or "").strip().lower()
    if not SOURCE.fullmatch(source):
        raise ValueError("A source is 1 to 32 characters: a-z, 0-9 and _ . : -")
    return source


@dataclass
class _Checked:
    index: int
    reference: CustomerReference | None
    row: dict[str, Any]
    errors: list[dict[str, str]]


def _ingest(
    activity: _Activity,
    *,
    actor: AbstractBaseUser | None,
    team: Team,
    items: list[Any],
    source: str,
) -> tuple[list[IngestResult], dict[int, int]]:
    """Validate, resolve, store and audit; the results and ``{item index: customer id}``."""
    now = timezone.now()
    checked = [_check_item(activity, index, item, now) for index, item in enumerate(items)]
    results = [IngestResult(index, REJECTED) for index in range(len(items))]
    with transaction.atomic():
        references = {entry.reference for entry in checked if entry.reference is not None}
        resolved = _resolve_customers(team, references)
        # An item naming an erased person by any identifier is refused, whether or not a
        # profile answers to it: nothing is attached to, or collected for, that person.
        suppressed = identities_suppressed(
            team=team,
            identities={
                reference: [(reference.kind, reference.channel, str(reference.value))]
                for reference in references
                if reference.kind != "id"
            },
        )
        to_insert: list[tuple[int, int, int, dict[str, Any]]] = []
        first_with_key: dict[str, int] = {}
        repeated: dict[int, int] = {}  # item index -> index of the earlier item with its key
        customers: dict[int, int] = {}
        for entry in checked:
            customer = resolved.get(entry.reference) if entry.reference else None
            if entry.reference in suppressed:
                entry.errors.insert(0, {"field": entry.reference.field, "message": SUPPRESSED})
            elif entry.reference is not None and customer is None:
                entry.errors.insert(
                    0, {"field": entry.reference.field, "message": UNKNOWN_CUSTOMER}
                )
            if entry.errors:
                results[entry.index].errors = entry.errors
                continue
            customer_id, owner_team_id = customer
            customers[entry.index] = customer_id
            key = entry.row[activity.key_field]
            if key and key in first_with_key:
                repeated[entry.index] = first_with_key[key]
                continue
            if key:
                first_with_key[key] = entry.index
            to_insert.append((entry.index, owner_team_id, customer_id, entry.row))
        created = activity.insert(to_insert, source, now) if to_insert else {}
        missing = {
            row[activity.key_field]
            for index, _team, _customer, row in to_insert
            if index not in created and row[activity.key_field]
        }
        existing = activity.existing(team.pk, source, missing) if missing else {}
        for index, _team, _customer, row in to_insert:
            result = results[index]
            if index in created:
                result.status, result.id = CREATED, created[index]
            else:
                result.status, result.id = DUPLICATE, existing.get(row[activity.key_field])
        for index, earlier in repeated.items():
            results[index].status, results[index].id = DUPLICATE, results[earlier].id
        counts = dict.fromkeys((CREATED, DUPLICATE, REJECTED), 0)
        for result in results:
            counts[result.status] += 1
        audit_record(
            action=f"{activity.name}.ingest",
            actor=actor,
            target=team,
            metadata={"source": source, **counts},
        )
    return results, customers


def _check_item(activity: _Activity, index: int, item: Any, now: datetime) -> _Checked:
    errors: list[dict[str, str]] = []
    if not isinstance(item, dict):
        return _Checked(index, None, {}, [{"field": "", "message": "Expected an object."}])
    reference = _parse_reference(item, errors)
    row = activity.validate(item, now, errors)
    errors.extend(
        {"field": str(name), "message": "Unknown field."}
        for name in item
        if name not in activity.fields
    )
    return _Checked(index, reference, row, errors)


# --- Customers ---------------------------------------------------------------------------------
def _parse_reference(
    item: dict[str, Any], errors: list[dict[str, str]]
) -> CustomerReference | None:
    """The customer an item names; the first of customer_id, external_id, email that is given."""
    if _given(item.get("customer_id")):
        value = item["customer_id"]
        if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value.strip()):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
            errors.append({"field": "customer_id", "message": "A customer id is a whole number."})
            return None
        return CustomerReference("id", value)
    if _given(item.get("external_id")):
        external_id = _text(item["external_id"])
        channel = _text(item.get("channel")).lower()
        is_valid = True
        if not 1 <= len(external_id) <= MAX_KEY_LENGTH or "\x00" in external_id:
            errors.append({"field": "external_id", "message": "1 to 128 characters."})
            is_valid = False
        if not channel:
            errors.append({"field": "channel", "message": "Required with external_id."})
            is_valid = False
        elif len(channel) > 32 or "\x00" in channel:
            errors.append({"field": "channel", "message": "At most 32 characters."})
            is_valid = False
        return CustomerReference(IdentityKind.EXTERNAL, external_id, channel) if is_valid else None
    if _given(item.get("email")):
        try:
            email = normalise_email(item["email"]) if isinstance(item["email"], str) else None
        except NormalisationError as error:
            errors.append({"field": "email", "message": error.reason})
            return None
        if email is None:
            errors.append({"field": "email", "message": "invalid email"})
            return None
        return CustomerReference(IdentityKind.EMAIL, blind_index(email, purpose="email"))
    errors.append({"field": "", "message": NO_CUSTOMER})
    return None


# One statement for every reference of a batch: ids directly, external ids and emails through
# the identity table; then merges are followed to the surviving profile. The survivors are
# locked FOR KEY SHARE until the batch commits, so a concurrent merge (which locks both
# customers FOR UPDATE) waits for the batch and then moves its rows, instead of leaving them on
# a merged-away profile.
_RESOLVE_SQL = """
WITH RECURSIVE reference AS (
    SELECT given.ref, given.customer_id
    FROM unnest(%s::int[], %s::bigint[]) AS given(ref, customer_id)
    UNION ALL
    SELECT given.ref, i.customer_id
    FROM unnest(%s::int[], %s::text[], %s::text[], %s::text[])
        AS given(ref, kind, channel, lookup_key)
    JOIN customers_identity i
        ON i.owner_team_id = %s
        AND i.kind = given.kind
        AND i.channel = given.channel
        AND i.lookup_key = given.lookup_key
),
chain AS (
    SELECT reference.ref, c.id, c.merged_into_id, 0 AS depth
    FROM reference JOIN customers_customer c ON c.id = reference.customer_id
    WHERE c.owner_team_id = %s
    UNION ALL
    SELECT chain.ref, c.id, c.merged_into_id, chain.depth + 1
    FROM chain JOIN customers_customer c ON c.id = chain.merged_into_id
    WHERE c.owner_team_id = %s AND chain.depth < 16
)
SELECT chain.ref, c.id, c.owner_team_id
FROM chain JOIN customers_customer c ON c.id = chain.id
WHERE c.merged_into_id IS NULL
FOR KEY SHARE OF c
"""


def _resolve_customers(
    team: Team, references: Iterable[CustomerReference]
) -> dict[CustomerReference, tuple[int, int]]:
    """Active customers of ``team`` for each reference: ``{reference: (id, owner team id)}``.

    References to other teams' customers, unknown ones and merged-away ones without a survivor
    are simply absent. One query whatever the number and kinds of references.
    """
    ordered = list(references)
    if not ordered:
        return {}
    by_id = [(ref, r.value) for ref, r in enumerate(ordered) if r.kind == "id"]
    by_key = [(ref, r.kind, r.channel, r.value) for ref, r in enumerate(ordered) if r.kind != "id"]
    with connection.cursor() as cursor:
        cursor.execute(
            _RESOLVE_SQL,
            [
                [ref for ref, _value in by_id],
                [value for _ref, value in by_id],
                [ref for ref, *_rest in by_key],
                [kind for _ref, kind, _channel, _value in by_key],
                [channel for _ref, _kind, channel, _value in by_key],
                [value for _ref, _kind, _channel, value in by_key],
                team.pk,
                team.pk,
                team.pk,
            ],
        )
        rows = cursor.fetchall()
    return {ordered[ref]: (customer_id, owner_team_id) for ref, customer_id, owner_team_id in rows}


# --- Field validation --------------------------------------------------------------------------
def _given(value: Any) -> bool:
    return value is not None and value != ""


def _text(value: Any) -> str:
    if value is None or isinstance(value, bool | dict | list):
        return ""
    return normalise_text(str(value))


def _moment(value: Any, name: str, now: datetime, errors: list[dict[str, str]]) -> datetime | None:
    if not _given(value):
        errors.append({"field": name, "message": REQUIRED})
        return None
    moment: datetime | None = None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = parse_datetime(value.strip())
        except ValueError:
            moment = None
    if moment is None:
        errors.append(
            {"field": name, "message": "An ISO 8601 date and time, e.g. 2026-03-01T12:00:00Z."}
        )
        return None
    if timezone.is_naive(moment):
        errors.append({"field": name, "message": "Give the time zone, e.g. Z or +08:00."})
        return None
    if moment > now + FUTURE_TOLERANCE:
        errors.append({"field": name, "message": "More than a day in the future."})
        return None
    return moment


def _json_text(value: Any) -> str | None:
    """Compact JSON for a jsonb column, or None when PostgreSQL could not store it."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return None
    return None if _holds_nul(value) else text


def _holds_nul(value: Any) -> bool:
    # jsonb refuses \u0000 in any string, key or value.
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def _key(value: Any, name: str, errors: list[dict[str, str]], *, required: bool) -> str:
    """A client id or order reference: text or a whole number, trimmed, at most 128."""
    if not _given(value):
        if required:
            errors.append({"field": name, "message": REQUIRED})
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        errors.append({"field": name, "message": "Expected text."})
        return ""
    text = str(value).strip()
    if not text or len(text) > MAX_KEY_LENGTH or "\x00" in text:
        errors.append({"field": name, "message": "1 to 128 characters."})
        return ""
    return text


def _validate_event(
    item: dict[str, Any], now: datetime, errors: list[dict[str, str]]
) -> dict[str, Any]:
    event_type = item.get("type")
    if not _given(event_type):
        errors.append({"field": "type", "message": REQUIRED})
    elif not isinstance(event_type, str) or not EVENT_TYPE.fullmatch(event_type):
        errors.append({"field": "type", "message": "1 to 64 characters: a-z, 0-9 and _ . : -"})
    occurred_at = _moment(item.get("occurred_at"), "occurred_at", now, errors)
    properties = item.get("properties")
    properties = {} if properties is None else properties
    properties_json = "{}"
    if not isinstance(properties, dict):
        errors.append({"field": "properties", "message": "Expected a JSON object."})
    else:
        properties_json = _json_text(properties) or ""
        if not properties_json:
            errors.append({"field": "properties", "message": "Not storable as JSON."})
        elif len(properties_json.encode()) > MAX_PROPERTIES_BYTES:
            errors.append({"field": "properties", "message": "At most 16 KB of JSON."})
    return {
        "type": event_type,
        "occurred_at": occurred_at,
        "properties": properties_json,
        "client_id": _key(item.get("client_id"), "client_id", errors, required=False),
    }


# ISO 4217 codes starting with X are units that are not money (gold, SDR, bond units, the
# testing and no-currency codes) except these currencies of monetary unions.
_X_CURRENCIES = frozenset({"XAF", "XCD", "XCG", "XOF", "XPF"})


@cache
def currencies() -> frozenset[str]:
    """ISO 4217 money codes known to CLDR (historic ones too)."""
    return frozenset(
        code for code in list_currencies() if not code.startswith("X") or code in _X_CURRENCIES
    )


def _amount(value: Any, errors: list[dict[str, str]]) -> Decimal | None:
    if not _given(value):
        errors.append({"field": "amount", "message": REQUIRED})
        return None
    amount = None
    if isinstance(value, str | int | float | Decimal) and not isinstance(value, bool):
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            amount = None
    if amount is None or not amount.is_finite():
        errors.append({"field": "amount", "message": "A decimal number, e.g. 19.90."})
        return None
    if amount < 0:
        errors.append({"field": "amount", "message": "Must not be negative."})
        return None
    if amount > MAX_AMOUNT:
        errors.append({"field": "amount", "message": "At most 9999999999.99."})
        return None
    if amount != amount.quantize(Decimal("0.01")):
        errors.append({"field": "amount", "message": "At most 2 decimal places."})
        return None
    return amount.quantize(Decimal("0.01"))


def _validate_purchase(
    item: dict[str, Any], now: datetime, errors: list[dict[str, str]]
) -> dict[str, Any]:
    order_reference = _key(item.get("order_reference"), "order_reference", errors, required=True)
    occurred_at = _moment(item.get("occurred_at"), "occurred_at", now, errors)
    amount = _amount(item.get("amount"), errors)
    currency = item.get("currency")
    if not _given(currency):
        errors.append({"field": "currency", "message": REQUIRED})
    elif not isinstance(currency, str) or currency not in currencies():
        errors.append({"field": "currency", "message": "An ISO 4217 code in upper case, e.g. USD."})
    quantity = item.get("quantity")
    quantity = 1 if quantity is None else quantity
    if (
        isinstance(quantity, bool)
        or not isinstance(quantity, int)
        or not (1 <= quantity <= MAX_QUANTITY)
    ):
        errors.append({"field": "quantity", "message": "A whole number of at least 1."})
    lines = item.get("items")
    lines = [] if lines is None else lines
    lines_json = "[]"
    if not isinstance(lines, list):
        errors.append({"field": "items", "message": "Expected a list."})
    else:
        errors.extend(
            {"field": f"items.{position}", "message": "Expected an object."}
            for position, line in enumerate(lines)
            if not isinstance(line, dict)
        )
        lines_json = _json_text(lines) or ""
        if not lines_json:
            errors.append({"field": "items", "message": "Not storable as JSON."})
        elif len(lines_json.encode()) > MAX_LINE_ITEMS_BYTES:
            errors.append({"field": "items", "message": "At most 64 KB of JSON."})
    return {
        "order_reference": order_reference,
        "occurred_at": occurred_at,
        "amount": amount,
        "currency": currency,
        "quantity": quantity,
        "items": lines_json,
    }


# --- Storage -----------------------------------------------------------------------------------
# Ids are drawn from the table's sequence before the insert, so the statement can say which
# input row each stored row came from; rows that hit a unique constraint are skipped (their
# sequence values are simply unused).
_INSERT_EVENTS_SQL = """
WITH input AS MATERIALIZED (
    SELECT nextval(pg_get_serial_sequence('customers_event', 'id')) AS id, given.*
    FROM unnest(
        %s::int[], %s::bigint[], %s::bigint[], %s::text[], %s::timestamptz[], %s::text[],
        %s::text[]
    ) AS given(item_index, owner_team_id, customer_id, type, occurred_at, properties, client_id)
),
inserted AS (
    INSERT INTO customers_event
        (id, owner_team_id, customer_id, type, occurred_at, properties, source, client_id,
         received_at)
    SELECT id, owner_team_id, customer_id, type, occurred_at, properties::jsonb, %s, client_id,
        %s
    FROM input
    ORDER BY item_index
    ON CONFLICT DO NOTHING
    RETURNING id
)
SELECT input.item_index, input.id FROM input JOIN inserted ON inserted.id = input.id
"""

_INSERT_PURCHASES_SQL = """
WITH input AS MATERIALIZED (
    SELECT nextval(pg_get_serial_sequence('customers_purchase', 'id')) AS id, given.*
    FROM unnest(
        %s::int[], %s::bigint[], %s::bigint[], %s::text[], %s::timestamptz[], %s::numeric[],
        %s::text[], %s::int[], %s::text[]
    ) AS given(item_index, owner_team_id, customer_id, order_reference, occurred_at, amount,
        currency, quantity, items)
),
inserted AS (
    INSERT INTO customers_purchase
        (id, owner_team_id, customer_id, source, order_reference, occurred_at, amount,
         currency, quantity, items, received_at)
    SELECT id, owner_team_id, customer_id, %s, order_reference, occurred_at, amount, currency,
        quantity, items::jsonb, %s
    FROM input
    ORDER BY item_index
    ON CONFLICT DO NOTHING
    RETURNING id
)
SELECT input.item_index, input.id FROM input JOIN inserted ON inserted.id = input.id
"""


def _insert(
    sql: str,
    columns: tuple[str, ...],
    rows: list[tuple[int, int, int, dict[str, Any]]],
    source: str,
    now: datetime,
) -> dict[int, int]:
    """Insert rows in one statement; ``{item index: new id}`` for the rows actually stored."""
    params: list[Any] = [
        [index for index, _team, _customer, _row in rows],
        [team_id for _index, team_id, _customer, _row in rows],
        [customer_id for _index, _team, customer_id, _row in rows],
    ]
    params += [[row[column] for *_ids, row in rows] for column in columns]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, source, now])
        return dict(cursor.fetchall())


def _insert_events(rows, source, now) -> dict[int, int]:
    columns = ("type", "occurred_at", "properties", "client_id")
    return _insert(_INSERT_EVENTS_SQL, columns, rows, source, now)


def _insert_purchases(rows, source, now) -> dict[int, int]:
    columns = ("order_reference", "occurred_at", "amount", "currency", "quantity", "items")
    return _insert(_INSERT_PURCHASES_SQL, columns, rows, source, now)


def _existing_events(team_id: int, source: str, keys: set[str]) -> dict[str, int]:
    return dict(
        Event.objects.filter(owner_team_id=team_id, source=source, client_id__in=keys).values_list(
            "client_id", "id"
        )
    )


def _existing_purchases(team_id: int, source: str, keys: set[str]) -> dict[str, int]:
    return dict(
        Purchase.objects.filter(
            owner_team_id=team_id, source=source, order_reference__in=keys
        ).values_list("order_reference", "id")
    )


_EVENTS = _Activity(
    name="event",
    fields=EVENT_FIELDS,
    key_field="client_id",
    validate=_validate_event,
    insert=_insert_events,
    existing=_existing_events,
)
_PURCHASES = _Activity(
    name="purchase",
    fields=PURCHASE_FIELDS,
    key_field="order_reference",
    validate=_validate_purchase,
    insert=_insert_purchases,
    existing=_existing_purchases,
)


# --- CSV rows ----------------------------------------------------------------------------------
def _import_channel(options: dict[str, Any]) -> str:
    # Spelled like the customers import spells channels, so external ids it stored match.
    channel = normalise_text(str(options.get("source_channel") or "")).lower()[:32]
    return channel or DEFAULT_IMPORT_CHANNEL


@dataclass
class _DateReading:
    """How a chunk's ``occurred_at`` dates are read, and the ambiguous ones, by line."""

    order: str | None
    country: str | None
    column: str
    ambiguous: dict[int, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        options: dict[str, Any],
        date_orders: Mapping[str, str] | None,
        columns: Mapping[str, str] | None,
    ) -> _DateReading:
        return cls(
            order=(date_orders or {}).get("occurred_at"),
            country=str(options.get("default_country") or "").upper() or None,
            column=(columns or {}).get("occurred_at", "occurred_at"),
        )

    def moment(self, line_number: int, value: str) -> Any:
        text = (value or "").strip()
        if day_month_parts(text) is None:
            return _file_moment(text)
        try:
            parsed = parse_date(text, country=self.country, order=self.order)
        except NormalisationError:
            return text  # validation reports it
        if parsed.is_ambiguous:
            self.ambiguous[line_number] = ambiguous_date_reason(self.column, parsed.order)
        return datetime.combine(parsed.value, datetime.min.time(), tzinfo=UTC)


def _file_moment(value: str) -> Any:
    """A moment from a file: ``YYYYMMDD`` or an ISO date is midnight UTC; no offset means UTC.

    Returns the text unchanged when it cannot be read, so validation reports it.
    """
    text = (value or "").strip()
    try:
        if _COMPACT_DATE.fullmatch(text):
            return datetime.strptime(text, "%Y%m%d").replace(tzinfo=UTC)
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
        moment = parse_datetime(text)
    except ValueError:
        return text
    if moment is not None and timezone.is_naive(moment):
        return moment.replace(tzinfo=UTC)
    return moment or text


def _file_reference(raw: dict[str, str], channel: str) -> tuple[dict[str, str], list[str]]:
    """The customer reference of a row as item fields, and its stable identity for keys."""
    external_id = (raw.get("customer_external_id") or "").strip()
    if external_id:
        return {"external_id": external_id, "channel": channel}, ["external", channel, external_id]
    email = (raw.get("email") or "").strip()
    if email:
        try:
            stable = normalise_email(email) or email
        except NormalisationError:
            stable = email
        return {"email": email}, ["email", stable]
    return {}, []


def _derived_key(prefix: str, parts: list[Any]) -> str:
    # Keyed hash: the reference may be an email, which must not appear in a stored column.
    canonical = json.dumps(parts, default=str, ensure_ascii=False, separators=(",", ":"))
    return f"{prefix}-{blind_index(canonical, purpose='import-' + prefix)}"


def _purchase_item_from_row(
    line_number: int,
    raw: dict[str, str],
    *,
    channel: str,
    default_currency: str,
    reading: _DateReading,
) -> dict[str, Any]:
    item, stable_reference = _file_reference(raw, channel)
    occurred_at = reading.moment(line_number, raw.get("occurred_at", ""))
    amount = (raw.get("amount") or "").strip()
    quantity_text = (raw.get("quantity") or "").strip()
    quantity: Any = None
    if quantity_text:
        quantity = int(quantity_text) if _WHOLE_NUMBER.fullmatch(quantity_text) else quantity_text
    item.update(
        occurred_at=occurred_at,
        amount=amount,
        currency=((raw.get("currency") or "").strip() or default_currency).upper(),
        quantity=quantity,
    )
    if "order_reference" in raw:
        item["order_reference"] = raw["order_reference"]
    else:
        item["order_reference"] = _derived_key(
            "order", [*stable_reference, str(occurred_at), amount, line_number]
        )
    return item


def _event_item_from_row(
    line_number: int, raw: dict[str, str], *, channel: str, reading: _DateReading
) -> dict[str, Any]:
    item, stable_reference = _file_reference(raw, channel)
    occurred_at = reading.moment(line_number, raw.get("occurred_at", ""))
    event_type = (raw.get("type") or "").strip().lower()
    properties: Any = {}
    if (raw.get("properties") or "").strip():
        try:
            properties = json.loads(raw["properties"])
        except ValueError:
            properties = raw["properties"]  # not an object: validation says so
    if isinstance(properties, dict):
        for name, value in raw.items():
            if name.startswith("properties.") and value.strip():
                properties[name.removeprefix("properties.")] = value.strip()
    item.update(type=event_type, occurred_at=occurred_at, properties=properties)
    if "client_id" in raw:
        item["client_id"] = raw["client_id"]
    else:
        item["client_id"] = _derived_key(
            "event", [*stable_reference, event_type, str(occurred_at), line_number]
        )
    return item


def _import_results(
    rows: list[tuple[int, dict[str, str]]],
    results: list[IngestResult],
    customers: dict[int, int],
    reading: _DateReading,
) -> list[ImportRowResult]:
    outcomes = {CREATED: RowOutcome.CREATED, DUPLICATE: RowOutcome.UNCHANGED}
    report = []
    for (line_number, _raw), result in zip(rows, results, strict=True):
        if result.status == REJECTED:
            reason = "; ".join(
                f"{error['field']}: {error['message']}" if error["field"] else error["message"]
                for error in result.errors
            )
            report.append(ImportRowResult(line_number, RowOutcome.REJECTED, reason=reason[:200]))
        else:
            report.append(
                ImportRowResult(
                    line_number,
                    outcomes[result.status],
                    object_id=result.id,
                    customer_id=customers.get(result.index),
                    warnings=tuple(filter(None, [reading.ambiguous.get(line_number)])),
                )
            )
    return report
