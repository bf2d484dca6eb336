"""The customers app's part of the access package, registered into the exporter registry
(``privacy.requests.package.writer``).

``customers_export_collect`` finds the customers a request concerns, exactly as erasure does
(the team's own among the requested ids, plus every profile merged into them), without locking.
``customers_export`` describes the categories: the profile, identities, custom attributes and
tags (decrypted in Python, a few rows), events, purchases and the import history (streamed by
PostgreSQL, any number of rows), and the merge history. ``customers_export_sources`` says where
the data came from.

Left out on purpose: blind indexes and name search tokens (keyed hashes derived from the values
that are in the package), the profile snapshot a merge record keeps for undo beyond the values
the merge overwrote, other people's data (the rest of an import file, other profiles), and who
on the staff did what.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from typing import Any

from django.db import connection
from django.db.models import Q

from customers.models import (
    Channel,
    Customer,
    Event,
    Identity,
    IdentityKind,
    ImportJob,
    ImportRow,
    MergeRecord,
    Purchase,
)
from customers.services.custom_fields import custom_fields_by_key, private_attributes_of
from customers.services.erasure import SUBJECT_CTE
from privacy.models import Team
from privacy.requests.package.registry import DataSource, ExportCategory, ExportColumn

# The profile, as columns of ``Customer`` (tags and custom attributes are categories of their
# own). Name search tokens are keyed hashes of the names and are left out.
_PROFILE: tuple[ExportColumn, ...] = (
    ExportColumn("id", "Your customer number.", "integer", nullable=False),
    ExportColumn("email", "Email address.", format="email"),
    ExportColumn("phone", "Phone number, in international form."),
    ExportColumn("given_name", "Given name."),
    ExportColumn("family_name", "Family name."),
    ExportColumn("postal_address", "Postal address."),
    ExportColumn("postal_code", "Postal code."),
    ExportColumn("city", "City."),
    ExportColumn("country", "Country (ISO 3166 code)."),
    ExportColumn("birth_date", "Date of birth.", format="date"),
    ExportColumn("birth_year", "Year of birth.", "integer"),
    ExportColumn("age_band", "Age band derived from the date of birth."),
    ExportColumn("gender", "Gender."),
    ExportColumn("language", "Preferred language."),
    ExportColumn("company", "Employer."),
    ExportColumn("industry", "Industry of the employer."),
    ExportColumn("job_title", "Job title."),
    ExportColumn("notes", "Notes kept about you by our staff."),
    ExportColumn("email_domain", "Domain of the email address."),
    ExportColumn("source_channel", "Channel through which we first got your data."),
    ExportColumn("signup_date", "When you signed up.", format="date"),
    ExportColumn("lifecycle_status", "Lead, prospect, customer or inactive."),
    ExportColumn("first_purchase_at", "Your first purchase.", format="date-time"),
    ExportColumn("last_purchase_at", "Your latest purchase.", format="date-time"),
    ExportColumn("order_count", "Number of orders.", "integer"),
    ExportColumn("total_spend", "Total spent.", "number"),
    ExportColumn("average_order_value", "Average order value.", "number"),
    ExportColumn("lifetime_value", "Estimated lifetime value.", "number"),
    ExportColumn("rfm_recency", "Recency score, 1 to 5 (how recently you bought).", "integer"),
    ExportColumn("rfm_frequency", "Frequency score, 1 to 5 (how often you buy).", "integer"),
    ExportColumn("rfm_monetary", "Monetary score, 1 to 5 (how much you spend).", "integer"),
    ExportColumn("rfm_group", "Customer group derived from the three scores."),
    ExportColumn("metrics_updated_at", "When the scores were computed.", format="date-time"),
    ExportColumn(
        "processing_restricted_at",
        "Since when the processing of your data is restricted at your request.",
        format="date-time",
    ),
    ExportColumn(
        "marketing_objection_at", "When you objected to direct marketing.", format="date-time"
    ),
    ExportColumn(
        "merged_into",
        "When this record was merged into another one: the customer number it lives on in.",
        "integer",
    ),
    ExportColumn(
        "provenance",
        "Which source last set each field, and when: {field: [source, time]}.",
        "object",
    ),
    ExportColumn("created_at", "When the record was created.", format="date-time"),
    ExportColumn("updated_at", "When the record last changed.", format="date-time"),
)
# Columns read from another attribute than their name (the id, not the related customer).
_PROFILE_ATTRIBUTES = {"merged_into": "merged_into_id"}
_IDENTITIES = (
    ExportColumn("id", "Number of the identifier.", "integer", nullable=False),
    ExportColumn("customer_id", "Customer number it belongs to.", "integer", nullable=False),
    ExportColumn("kind", "email, phone or external (an id on another channel).", nullable=False),
    ExportColumn("channel", "For external ids: the channel (crm, wechat, shop …)."),
    ExportColumn("value", "The email address, phone number or external id."),
    ExportColumn("source", "Where we got it."),
    ExportColumn("created_at", "When we got it.", format="date-time"),
)
_ATTRIBUTES = (
    ExportColumn("customer_id", "Customer number.", "integer", nullable=False),
    ExportColumn("key", "Name of the attribute.", nullable=False),
    ExportColumn("label", "What the attribute is, in English."),
    ExportColumn("label_zh", "What the attribute is, in Chinese."),
    ExportColumn("value", "Its value (any JSON value).", None),
)
_TAGS = (
    ExportColumn("customer_id", "Customer number.", "integer", nullable=False),
    ExportColumn("tag", "The tag.", nullable=False),
)
_EVENTS = (
    ExportColumn("id", "Number of the event.", "integer", nullable=False),
    ExportColumn("customer_id", "Customer number.", "integer", nullable=False),
    ExportColumn("type", "What happened (page_view, sign_up, store_visit …).", nullable=False),
    ExportColumn("occurred_at", "When it happened.", format="date-time", nullable=False),
    ExportColumn("properties", "Details of the event (page, product, store …).", "object"),
    ExportColumn("source", "The system that reported it."),
    ExportColumn("client_id", "The reporting system's id of the event."),
    ExportColumn("received_at", "When we received it.", format="date-time"),
)
_PURCHASES = (
    ExportColumn("id", "Number of the purchase.", "integer", nullable=False),
    ExportColumn("customer_id", "Customer number.", "integer", nullable=False),
    ExportColumn("order_reference", "The shop's order number.", nullable=False),
    ExportColumn("occurred_at", "When you bought.", format="date-time", nullable=False),
    ExportColumn("amount", "Amount paid.", "number", nullable=False),
    ExportColumn("currency", "Currency (ISO 4217 code).", nullable=False),
    ExportColumn("quantity", "Number of items.", "integer"),
    ExportColumn("items", "The items bought, as the shop reported them.", "array", items="object"),
    ExportColumn("source", "The shop or system that reported it."),
    ExportColumn("received_at", "When we received it.", format="date-time"),
)
_MERGES = (
    ExportColumn("id", "Number of the merge.", "integer", nullable=False),
    ExportColumn("performed_at", "When the two records were merged.", format="date-time"),
    ExportColumn("survivor_id", "The customer number that was kept.", "integer"),
    ExportColumn("merged_id", "The customer number merged into it.", "integer"),
    ExportColumn("reason", "Why: staff decision, import, API …"),
    ExportColumn(
        "overwritten_fields",
        "Fields of the kept record that took the merged one's value.",
        "array",
        items="string",
    ),
    ExportColumn("previous_values", "The values those fields had before the merge.", "object"),
    ExportColumn("moved", "How many identifiers, events, purchases … moved over.", "object"),
    ExportColumn("undone_at", "When the merge was undone, if it was.", format="date-time"),
)
_IMPORTS = (
    ExportColumn("import_id", "Number of the import.", "integer", nullable=False),
    ExportColumn("import_kind", "What the file held: customers, purchases or events."),
    ExportColumn(
        "file_name",
        "Name of the imported file; empty when withheld because it may name other people.",
    ),
    ExportColumn("imported_at", "When the file was imported.", format="date-time"),
    ExportColumn("line_number", "The line of the file about you.", "integer"),
    ExportColumn("outcome", "What the line did: created, updated, merged, unchanged, rejected."),
    ExportColumn("reason", "Why a line was rejected."),
    ExportColumn("warnings", "Warnings about the line.", "array", items="string"),
    ExportColumn("customer_id", "Customer number the line concerns.", "integer"),
)

# A file name may hold contact details (an email address, a phone number): then it is withheld.
_PERSONAL_FILE_NAME = r"@|[0-9]{7,}"


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def customers_export_collect(*, team: Team, customer_ids: list[int]) -> list[int]:
    """The team's customers among ``customer_ids`` and, transitively, the profiles merged into
    them: the same people erasure would erase. One query, no locks."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"{SUBJECT_CTE} SELECT id FROM subject ORDER BY id",  # noqa: S608
            {"team": team.pk, "ids": list(customer_ids)},
        )
        return [pk for (pk,) in cursor.fetchall()]


def customers_export(*, team: Team, customer_ids: list[int]) -> list[ExportCategory]:
    """The customers app's categories of the access package of ``customer_ids`` (as collected).

    Nothing is read here: each category reads when the package writes it (the profile, tags and
    attributes share one query), so the package costs the same number of queries for any
    number of rows.
    """
    ids = list(customer_ids)
    params = {"team": team.pk, "ids": ids}
    customers = functools.cache(
        lambda: list(Customer.objects.filter(owner_team=team, pk__in=ids).order_by("pk"))
    )
    return [
        ExportCategory(
            name="profile",
            title="Profile",
            description="Your customer record: contact details, personal details, how we "
            "classify you, and where each value came from. More than one record means you "
            "were known to us under several records that were merged.",
            columns=_PROFILE,
            rows=_profile_rows(customers),
        ),
        ExportCategory(
            name="identities",
            title="Identifiers",
            description="The email addresses, phone numbers and ids on other channels (CRM, "
            "WeChat, online shop) by which we recognise you.",
            columns=_IDENTITIES,
            rows=_identity_rows(team=team, ids=ids),
        ),
        ExportCategory(
            name="attributes",
            title="Custom attributes",
            description="Further details recorded about you, one row per attribute.",
            columns=_ATTRIBUTES,
            rows=_attribute_rows(customers, team=team),
        ),
        ExportCategory(
            name="tags",
            title="Tags",
            description="Labels given to your record (interests, campaigns, events).",
            columns=_TAGS,
            rows=_tag_rows(customers),
        ),
        ExportCategory(
            name="events",
            title="Events",
            description="What you did that we were told of (page views, sign-ups, store "
            "visits …), oldest first.",
            columns=_EVENTS,
            sql=f"""
                SELECT id, customer_id, type, occurred_at, properties, source, client_id,
                       received_at
                FROM {_table(Event)}
                WHERE owner_team_id = %(team)s AND customer_id = ANY(%(ids)s::bigint[])
                ORDER BY occurred_at, id
            """,  # noqa: S608
            params=params,
        ),
        ExportCategory(
            name="purchases",
            title="Purchases",
            description="What you bought, oldest first.",
            columns=_PURCHASES,
            sql=f"""
                SELECT id, customer_id, order_reference, occurred_at, amount, currency,
                       quantity, items, source, received_at
                FROM {_table(Purchase)}
                WHERE owner_team_id = %(team)s AND customer_id = ANY(%(ids)s::bigint[])
                ORDER BY occurred_at, id
            """,  # noqa: S608
            params=params,
        ),
        ExportCategory(
            name="merge_history",
            title="Merges",
            description="When two of our records turned out to be you and were merged into "
            "one: which records, which of your values the merge replaced, and whether it was "
            "undone.",
            columns=_MERGES,
            rows=_merge_rows(team=team, ids=ids),
        ),
        ExportCategory(
            name="import_history",
            title="Imports",
            description="The lines about you in files imported into Marketbase (from a CRM, a "
            "shop, an event), with what each line did. The files' other lines are about other "
            "people and are not included.",
            columns=_IMPORTS,
            sql=f"""
                SELECT job.id AS import_id, job.kind AS import_kind,
                       CASE WHEN job.original_filename ~ %(personal)s THEN NULL
                            ELSE NULLIF(job.original_filename, '') END AS file_name,
                       job.created_at AS imported_at, line.line_number, line.outcome,
                       NULLIF(line.reason, '') AS reason, line.warnings, line.customer_id
                FROM {_table(ImportRow)} AS line
                JOIN {_table(ImportJob)} AS job ON job.id = line.job_id
                WHERE job.owner_team_id = %(team)s
                  AND line.customer_id = ANY(%(ids)s::bigint[])
                ORDER BY job.created_at, job.id, line.line_number
            """,  # noqa: S608
            params={**params, "personal": _PERSONAL_FILE_NAME},
        ),
    ]


def _profile_rows(customers: Callable[[], list[Customer]]) -> Iterator[dict[str, Any]]:
    for customer in customers():
        yield {
            column.name: getattr(customer, _PROFILE_ATTRIBUTES.get(column.name, column.name))
            for column in _PROFILE
        }


def _attribute_rows(
    customers: Callable[[], list[Customer]], *, team: Team
) -> Iterator[dict[str, Any]]:
    """Custom field values, the encrypted personal ones decrypted, with their labels."""
    definitions = custom_fields_by_key(team.pk)
    for customer in customers():
        values = {**(customer.attributes or {}), **private_attributes_of(customer)}
        for key, value in sorted(values.items()):
            definition = definitions.get(key)
            yield {
                "customer_id": customer.pk,
                "key": key,
                "label": definition.label_en if definition else "",
                "label_zh": definition.label_zh if definition else "",
                "value": value,
            }


def _tag_rows(customers: Callable[[], list[Customer]]) -> Iterator[dict[str, Any]]:
    for customer in customers():
        for tag in customer.tags or []:
            yield {"customer_id": customer.pk, "tag": tag}


def _identity_rows(*, team: Team, ids: list[int]) -> Iterator[dict[str, Any]]:
    identities = Identity.objects.filter(owner_team=team, customer_id__in=ids).order_by(
        "customer_id", "kind", "channel", "pk"
    )
    for identity in identities:
        # Emails and phones are stored as a keyed hash plus the encrypted value; external ids
        # as they are.
        value = identity.lookup_key if identity.kind == IdentityKind.EXTERNAL else identity.value
        yield {
            "id": identity.pk,
            "customer_id": identity.customer_id,
            "kind": identity.kind,
            "channel": identity.channel,
            "value": value,
            "source": identity.source,
            "created_at": identity.created_at,
        }


def _merge_rows(*, team: Team, ids: list[int]) -> Iterator[dict[str, Any]]:
    records = (
        MergeRecord.objects.filter(Q(survivor_id__in=ids) | Q(merged_id__in=ids))
        .filter(survivor__owner_team=team)
        .order_by("performed_at", "pk")
    )
    for record in records:
        before = json.loads(record.survivor_before) if record.survivor_before else {}
        yield {
            "id": record.pk,
            "performed_at": record.performed_at,
            "survivor_id": record.survivor_id,
            "merged_id": record.merged_id,
            "reason": record.reason,
            "overwritten_fields": list(record.overwritten_fields),
            # Only the person's own values the merge replaced; the rest of the snapshot is a
            # copy of the profile, which is in the package already.
            "previous_values": {name: before.get(name) for name in record.overwritten_fields},
            "moved": {label: len(moved) for label, moved in sorted(record.moved.items())},
            "undone_at": record.undone_at,
        }


_SOURCES_SQL = f"""
SELECT 'profile', source_channel, count(*)::int, ARRAY[]::text[]
FROM {_table(Customer)} WHERE owner_team_id = %(team)s AND id = ANY(%(ids)s::bigint[])
GROUP BY source_channel
UNION ALL
SELECT 'profile fields', field.value ->> 0, count(*)::int, array_agg(DISTINCT field.key)
FROM {_table(Customer)} AS customer, jsonb_each(customer.provenance) AS field
WHERE customer.owner_team_id = %(team)s AND customer.id = ANY(%(ids)s::bigint[])
  AND jsonb_typeof(field.value) = 'array'
GROUP BY field.value ->> 0
UNION ALL
SELECT 'identities', source, count(*)::int, ARRAY[]::text[]
FROM {_table(Identity)} WHERE owner_team_id = %(team)s AND customer_id = ANY(%(ids)s::bigint[])
GROUP BY source
UNION ALL
SELECT 'events', source, count(*)::int, ARRAY[]::text[]
FROM {_table(Event)} WHERE owner_team_id = %(team)s AND customer_id = ANY(%(ids)s::bigint[])
GROUP BY source
UNION ALL
SELECT 'purchases', source, count(*)::int, ARRAY[]::text[]
FROM {_table(Purchase)} WHERE owner_team_id = %(team)s AND customer_id = ANY(%(ids)s::bigint[])
GROUP BY source
"""  # noqa: S608


def customers_export_sources(*, team: Team, customer_ids: list[int]) -> list[DataSource]:
    """Where the data of ``customer_ids`` came from: the channel of each profile, the source that
    last set each profile field, and the sources of identifiers, events and purchases. One
    query."""
    if not customer_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_SOURCES_SQL, {"team": team.pk, "ids": list(customer_ids)})
        found = cursor.fetchall()
    sources = []
    for category, code, rows, fields in found:
        label = _channel_label(code)
        if category == "profile":
            text = f"Customer record created through: {label}."
        elif category == "profile fields":
            text = f"Profile fields last set by {label}: {', '.join(sorted(fields))}."
        else:
            text = f"{category.capitalize()} from {label}: {rows:,}."
        sources.append(
            DataSource(
                category=category.split()[0],
                source=code or "",
                description=text,
                rows=rows,
                fields=tuple(sorted(fields)),
            )
        )
    return sources


def _channel_label(code: str | None) -> str:
    if not code:
        return "not recorded"
    if code in Channel.values:
        return f"{Channel(code).label} ({code})"
    return code
