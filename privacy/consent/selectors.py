"""Reads of consent: the current state derived from the append-only events, and notices.

The current state of one purpose on one channel is the latest event for it (by time, then id,
so events recorded in the same instant resolve to the one recorded last). It is never stored:
every read derives it with PostgreSQL's ``DISTINCT ON`` over the ``consent_current_idx`` index.
A grant allows contact only while it has not expired.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any, Protocol

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from privacy.core.labels import CONSENT_PURPOSE, label_or_name
from privacy.models import (
    ConsentChannel,
    ConsentEvent,
    ConsentPurpose,
    ConsentStatus,
    PrivacyNotice,
)


class ConsentSubject(Protocol):
    """What consent code needs of a customer (privacy sits below the customers app)."""

    pk: Any
    owner_team_id: int
    email: str | None


_STATE_SQL = """
SELECT purpose.code, purpose.name, purpose.description, purpose.requires_double_opt_in,
       purpose.is_active, channel.code, latest.status, latest.source, latest.occurred_at,
       latest.expires_at, notice.version
FROM {purposes} AS purpose
CROSS JOIN LATERAL unnest(purpose.channels) AS channel(code)
LEFT JOIN (
    SELECT DISTINCT ON (customer_id, purpose_id, channel)
           purpose_id, channel, status, source, occurred_at, expires_at, notice_id
    FROM {events}
    WHERE customer_id = %(customer_id)s
    ORDER BY customer_id, purpose_id, channel, occurred_at DESC, id DESC
) AS latest ON latest.purpose_id = purpose.id AND latest.channel = channel.code
LEFT JOIN {notices} AS notice ON notice.id = latest.notice_id
WHERE purpose.is_active OR latest.status IS NOT NULL
ORDER BY purpose.code, channel.code
"""


def consent_state(
    customer: ConsentSubject, *, now: datetime.datetime | None = None
) -> list[dict[str, Any]]:
    """The customer's current consent for every purpose and each of its channels, in one query.

    Active purposes without any event are included with ``status`` ``None``; inactive
    purposes only when the customer has an event for them. ``is_granted`` is true for a grant
    that has not expired.
    """
    now = now or timezone.now()
    channel_labels = dict(ConsentChannel.choices)
    status_labels = dict(ConsentStatus.choices)
    sql = _STATE_SQL.format(
        purposes=connection.ops.quote_name(ConsentPurpose._meta.db_table),
        events=connection.ops.quote_name(ConsentEvent._meta.db_table),
        notices=connection.ops.quote_name(PrivacyNotice._meta.db_table),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, {"customer_id": customer.pk})
        rows = cursor.fetchall()
    states = []
    for (
        code,
        name,
        description,
        requires_double_opt_in,
        is_active,
        channel,
        status,
        source,
        occurred_at,
        expires_at,
        notice_version,
    ) in rows:
        is_expired = expires_at is not None and expires_at <= now
        states.append(
            {
                "purpose_code": code,
                "purpose_name": label_or_name(CONSENT_PURPOSE, code, name),
                "purpose_description": description,
                "requires_double_opt_in": requires_double_opt_in,
                "is_active": is_active,
                "channel": channel,
                "channel_label": channel_labels.get(channel, channel),
                "status": status,
                "status_label": status_labels.get(status, ""),
                "source": source,
                "occurred_at": occurred_at,
                "expires_at": expires_at,
                "is_expired": is_expired,
                "is_granted": status == ConsentStatus.GRANTED and not is_expired,
                "notice_version": notice_version,
            }
        )
    return states


def consents_latest(
    customer_ids: Iterable[int] | QuerySet, *, purpose: ConsentPurpose, channel: str
) -> QuerySet[ConsentEvent]:
    """The latest event of ``purpose`` on ``channel`` for each of ``customer_ids`` (one query).

    ``customer_ids`` may be a list or a queryset of ids, which then stays a subquery.
    """
    return (
        ConsentEvent.objects.filter(purpose=purpose, channel=channel, customer_id__in=customer_ids)
        .order_by("customer_id", "-occurred_at", "-id")
        .distinct("customer_id")
    )


def consents_allow(
    customer_ids: Iterable[int] | QuerySet,
    purpose_code: str,
    channel: str,
    *,
    now: datetime.datetime | None = None,
) -> set[int]:
    """Ids among ``customer_ids`` whose latest event for the purpose and channel is an unexpired
    grant. One query whatever the number of customers; an inactive purpose allows nobody."""
    now = now or timezone.now()
    if not isinstance(customer_ids, QuerySet):
        customer_ids = list(customer_ids)
        if not customer_ids:
            return set()
    latest = (
        ConsentEvent.objects.filter(
            purpose__code=purpose_code,
            purpose__is_active=True,
            channel=channel,
            customer_id__in=customer_ids,
        )
        .order_by("customer_id", "-occurred_at", "-id")
        .distinct("customer_id")
        .values("pk")
    )
    allowed = ConsentEvent.objects.filter(pk__in=latest, status=ConsentStatus.GRANTED).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )
    return set(allowed.values_list("customer_id", flat=True))


def consent_history(customer: ConsentSubject, *, limit: int = 200) -> list[ConsentEvent]:
    """The customer's consent events, newest first, with purpose, notice and recorder."""
    return list(
        ConsentEvent.objects.filter(customer_id=customer.pk)
        .select_related("purpose", "notice", "recorded_by")
        .order_by("-occurred_at", "-id")[:limit]
    )


def notice_current(language: str | None = None) -> PrivacyNotice | None:
    """The latest published notice in ``language``, else in the default language, else any."""
    default = settings.LANGUAGE_CODE
    candidates = [code for code in (language, (language or "").split("-")[0], default) if code]
    notices = PrivacyNotice.objects.filter(published_at__lte=timezone.now())
    for code in candidates:
        notice = notices.filter(language__iexact=code).order_by("-published_at", "-id").first()
        if notice is not None:
            return notice
    return notices.order_by("-published_at", "-id").first()
