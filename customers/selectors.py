"""Reads of the customers app. Every list starts from the access layer."""

from __future__ import annotations

import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import DecimalField, Exists, F, OuterRef, QuerySet, Value

from customers.models import Customer, Event, Identity, IdentityKind, ImportJob, Purchase
from privacy.access import scope_queryset
from privacy.crypto import blind_index, name_index


def customers_for_user(user: AbstractBaseUser, *, action: str = "view") -> QuerySet[Customer]:
    """Active (not merged-away) customers the user may reach."""
    return scope_queryset(user, Customer.objects.active(), action=action).select_related(
        "owner_team__group"
    )


def customers_matching_identifier(
    queryset: QuerySet[Customer], *, kind: str, value: str, channel: str = ""
) -> QuerySet[Customer]:
    """Narrow to customers holding an identifier; ``value`` must already be normalised."""
    key = value if kind == IdentityKind.EXTERNAL else blind_index(value, purpose=kind)
    holders = Identity.objects.filter(
        customer=OuterRef("pk"), kind=kind, channel=channel, lookup_key=key
    )
    return queryset.filter(Exists(holders))


def customers_matching_name(queryset: QuerySet[Customer], text: str) -> QuerySet[Customer]:
    """Customers whose name contains every word of ``text`` (exact words, via keyed tokens)."""
    tokens = name_index(text)
    return queryset.filter(name_index__contains=tokens) if tokens else queryset.none()


def import_jobs_for_user(user: AbstractBaseUser) -> QuerySet[ImportJob]:
    return scope_queryset(user, ImportJob.objects.all()).select_related("created_by")


_TIMELINE_COLUMNS = ("kind", "item_id", "at", "label", "value", "currency", "channel")


def customer_timeline(
    customer: Customer, *, before: datetime.datetime | None = None, limit: int = 50
) -> list[dict]:
    """Events and purchases of one customer, newest first, ``limit`` at a time before ``before``.

    One UNION ALL query ordered in PostgreSQL, so a customer with 100,000 events costs the same
    as one with ten.
    """
    events = Event.objects.filter(customer=customer).annotate(
        kind=Value("event"),
        item_id=F("id"),
        at=F("occurred_at"),
        label=F("type"),
        value=Value(None, output_field=DecimalField(max_digits=12, decimal_places=2)),
        currency=Value(""),
        channel=F("source"),
    )
    purchases = Purchase.objects.filter(customer=customer).annotate(
        kind=Value("purchase"),
        item_id=F("id"),
        at=F("occurred_at"),
        label=F("order_reference"),
        value=F("amount"),
        channel=F("source"),
    )
    if before is not None:
        events, purchases = (
            events.filter(occurred_at__lt=before),
            purchases.filter(occurred_at__lt=before),
        )
    union = events.values(*_TIMELINE_COLUMNS).union(purchases.values(*_TIMELINE_COLUMNS), all=True)
    return list(union.order_by("-at", "-item_id")[:limit])
