"""Erasure of a data subject: one service behind every door (staff UI, admin, API, retention).

The privacy core cannot know the tables of the apps built on it, so each app registers its part
in its ``AppConfig.ready()``::

    register_eraser("customers", customers_erase, collect=customers_erasure_collect)

- ``collect(*, team, customer_ids)`` says which customers the request really concerns (the
  team's own customers among ``customer_ids`` plus the profiles merged into them), the
  ``(kind, blind index)`` pairs of their emails and phones, to suppress, and the
  ``(channel, value)`` pairs of their external ids, to tell the recipients of that channel;
- ``erase(*, team, customer_ids)`` deletes the app's rows of those customers with set-based SQL
  and returns ``{"table label": rows}``.

``subject_erase`` runs everything in one transaction and writes one ``subject.erase`` audit
entry holding ids and counts, never a personal value. When something was erased, each active
erasure webhook of the team is told after commit (``privacy.erasure.services.webhooks``), under an
erasure reference that the audit entry keeps too.

Consent events are append-only; a database trigger lets DELETE through only in a transaction
that ran ``SET LOCAL marketbase.erasure = 'on'``, which only this service does. With the
``ERASURE_KEEP_CONSENT_PROOF`` setting they are kept as proof of consent (a legal claim under
GDPR Art. 17(3)(e)): they then keep their customer number, ``subject_key`` (the blind index of
the email) and their ``evidence`` (IP address, user agent), because a consent event can never
be changed, only kept whole or deleted whole.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, transaction
from django.utils import timezone

from privacy.core.registry import Registry
from privacy.core.services.audit import audit_record
from privacy.erasure.services.webhooks import erasure_notifications_create
from privacy.models import ConsentEvent, Suppression, SuppressionKind, Team

CONSENT_LABEL = "privacy.consent_event"
KEPT_CONSENT_LABEL = "privacy.consent_event_kept"
SUPPRESSION_LABEL = "privacy.suppression"


@dataclass(frozen=True)
class ErasureSubjects:
    """What a collector found: customer ids to erase, ``(kind, blind index)`` to suppress and
    ``(channel, value)`` external ids that downstream recipients must be told of.

    External ids are personal values: they go to the webhooks only, never into the report or
    the audit entry.
    """

    customer_ids: frozenset[int] = frozenset()
    suppression_keys: frozenset[tuple[str, str]] = frozenset()
    external_ids: frozenset[tuple[str, str]] = frozenset()


class Collector(Protocol):
    def __call__(self, *, team: Team, customer_ids: list[int]) -> ErasureSubjects: ...


class Eraser(Protocol):
    def __call__(self, *, team: Team, customer_ids: list[int]) -> dict[str, int]: ...


@dataclass(frozen=True)
class _Registration:
    erase: Eraser
    collect: Collector | None


_erasers: Registry[_Registration] = Registry("erasers")


def register_eraser(label: str, erase: Eraser, *, collect: Collector | None = None) -> None:
    """Let an app take part in every erasure (call it from ``AppConfig.ready()``).

    Erasers run in the reverse order of registration, so an app that builds on customers
    (segment memberships, campaign messages) clears its rows before the customers go.
    Registering a label again is a no-op with the same functions and an error with others.
    """
    _erasers.register(label, _Registration(erase=erase, collect=collect))


def erasers() -> dict[str, _Registration]:
    return dict(_erasers)


@dataclass(frozen=True)
class ErasureReport:
    team_id: int
    requested_ids: list[int]
    # The customers erased: the requested ones of the team and every profile merged into them.
    customer_ids: list[int]
    counts: dict[str, int] = field(default_factory=dict)
    suppressions_added: int = 0
    # Nothing of the requested customers was left: a repeated erasure changes nothing.
    already_erased: bool = False
    # Names this erasure to downstream recipients (None when nothing was erased).
    erasure_reference: str | None = None
    # The erasure webhooks that will be told, after commit.
    notified_webhook_ids: list[int] = field(default_factory=list)


def suppressed_keys(*, team: Team, keys: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of ``keys`` (``(kind, blind index)`` pairs) an erasure suppressed for ``team``.

    One query whatever the number of keys; import, API upsert and sending use it to leave
    erased people alone.
    """
    wanted = set(keys)
    if not wanted:
        return set()
    found = Suppression.objects.filter(
        owner_team=team, lookup_key__in={lookup_key for _kind, lookup_key in wanted}
    ).values_list("kind", "lookup_key")
    return {pair for pair in found if pair in wanted}


@transaction.atomic
def subject_erase(
    *,
    customer_ids: Iterable[int],
    team: Team,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    reason: str,
    request_id: int | None = None,
) -> ErasureReport:
    """Erase customers of ``team`` and everything personal attached to them, in one transaction.

    ``reason`` is a short code saying which door asked (``staff``, ``admin``, ``api``,
    ``retention``, ``request``); it is stored with the suppression entries, so it must not name
    the person. ``request_id`` links the data-subject request, when there is one.

    Customers of other teams among ``customer_ids`` are left alone, like missing ones. Erasing
    customers that are already gone changes nothing and is still audited, with
    ``already_erased``. Runs a constant number of queries, whatever the number of events,
    purchases or other rows erased.
    """
    if not reason or len(reason) > Suppression._meta.get_field("reason").max_length:
        raise ValueError("Give a short reason code (at most 64 characters).")
    requested = sorted({int(pk) for pk in customer_ids})
    registered = list(_erasers.values())
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL marketbase.erasure = 'on'")

    found: set[int] = set()
    keys: set[tuple[str, str]] = set()
    external_ids: set[tuple[str, str]] = set()
    if requested:
        for registration in registered:
            if registration.collect is not None:
                subjects = registration.collect(team=team, customer_ids=requested)
                found |= subjects.customer_ids
                keys |= subjects.suppression_keys
                external_ids |= subjects.external_ids
    erased = sorted(found)

    counts: dict[str, int] = {}
    added = 0
    reference: str | None = None
    notified: list[int] = []
    if erased:
        added = _suppress(team=team, keys=keys, reason=reason, request_id=request_id)
        for registration in reversed(registered):
            counts.update(registration.erase(team=team, customer_ids=erased))
        counts.update(_consent_events_erase(team=team, customer_ids=erased))
        _check_deferred_constraints()
        reference = uuid.uuid4().hex
        notifications = erasure_notifications_create(
            team=team,
            erasure_reference=reference,
            erased_at=timezone.now(),
            customer_ids=erased,
            external_ids=external_ids,
            request_id=request_id,
        )
        notified = [notification.webhook_id for notification in notifications]

    with connection.cursor() as cursor:
        # Nothing later in an enclosing transaction may delete consent events.
        cursor.execute("SET LOCAL marketbase.erasure = 'off'")
    report = ErasureReport(
        team_id=team.pk,
        requested_ids=requested,
        customer_ids=erased,
        counts=counts,
        suppressions_added=added,
        already_erased=not erased,
        erasure_reference=reference,
        notified_webhook_ids=notified,
    )
    audit_record(
        action="subject.erase",
        actor=actor,
        target=team,
        metadata={
            "customer_ids": requested,
            "erased_customer_ids": erased,
            "counts": counts,
            "suppressions_added": added,
            "already_erased": report.already_erased,
            "reason": reason,
            "data_subject_request": request_id,
            "erasure_reference": reference,
            "notified_webhooks": notified,
        },
    )
    return report


def _suppress(
    *, team: Team, keys: set[tuple[str, str]], reason: str, request_id: int | None
) -> int:
    """Insert the suppression entries that are not there yet; returns how many were new."""
    if not keys:
        return 0
    unknown = {kind for kind, _key in keys} - set(SuppressionKind.values)
    if unknown:
        raise ValueError(f"Unknown suppression kinds: {sorted(unknown)}")
    kinds, lookup_keys = zip(*sorted(keys), strict=True)
    table = connection.ops.quote_name(Suppression._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} "  # noqa: S608
            "(owner_team_id, kind, lookup_key, reason, request_id, created_at) "
            "SELECT %s, kind, lookup_key, %s, %s, now() "
            "FROM unnest(%s::varchar[], %s::varchar[]) AS suppressed(kind, lookup_key) "
            "ON CONFLICT (owner_team_id, kind, lookup_key) DO NOTHING",
            [team.pk, reason, request_id, list(kinds), list(lookup_keys)],
        )
        return cursor.rowcount


def _consent_events_erase(*, team: Team, customer_ids: list[int]) -> dict[str, int]:
    table = connection.ops.quote_name(ConsentEvent._meta.db_table)
    where = "owner_team_id = %s AND customer_id = ANY(%s::bigint[])"
    with connection.cursor() as cursor:
        if getattr(settings, "ERASURE_KEEP_CONSENT_PROOF", False):
            cursor.execute(f"SELECT count(*) FROM {table} WHERE {where}", [team.pk, customer_ids])  # noqa: S608
            return {CONSENT_LABEL: 0, KEPT_CONSENT_LABEL: cursor.fetchone()[0]}
        cursor.execute(f"DELETE FROM {table} WHERE {where}", [team.pk, customer_ids])  # noqa: S608
        return {CONSENT_LABEL: cursor.rowcount}


def _check_deferred_constraints() -> None:
    """Check the deferred foreign keys now rather than at commit.

    Django creates foreign keys DEFERRABLE INITIALLY DEFERRED, so rows of a table that no
    eraser covers would only fail at COMMIT (and never inside a test's transaction). Checking
    here makes a missing eraser an ``IntegrityError`` of this service; afterwards the foreign
    keys go back to deferred, as Django declared them.
    """
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
