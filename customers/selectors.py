"""Reads of the customers app. Every list starts from the access layer."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import Count, DecimalField, Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.utils import timezone
from django.utils.translation import gettext

from customers.models import (
    Customer,
    CustomerListView,
    Event,
    Identity,
    IdentityKind,
    ImportJob,
    ImportRow,
    ImportTemplate,
    Purchase,
    RowOutcome,
)
from customers.normalisation import (
    NormalisationError,
    normalise_email,
    normalise_phone,
    normalise_text,
)
from customers.search_tokens import EMAIL_PURPOSE, NAME_PURPOSE, PREFIX_MIN, prefix_token
from privacy.core.access import scope_queryset, teams_for_user
from privacy.core.crypto import blind_index, name_tokens
from privacy.models import ConsentEvent, ConsentStatus, Suppression, Team


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
        owner_team=OuterRef("owner_team"),
        customer=OuterRef("pk"),
        kind=kind,
        channel=channel,
        lookup_key=key,
    )
    return queryset.filter(Exists(holders))


def customers_matching_name(queryset: QuerySet[Customer], text: str) -> QuerySet[Customer]:
    """Customers with a name word starting with each word of ``text``, or, for text without
    spaces, whose email local part starts with it ("ann" finds ann@example.com). Words of one
    or two characters match whole name words. Keyed tokens only (``customers.search_tokens``),
    each condition one GIN-indexed containment."""
    words = name_tokens(text)
    if not words:
        return queryset.none()
    short = [blind_index(word, purpose="name") for word in words if len(word) < PREFIX_MIN]
    starts = [word for word in words if len(word) >= PREFIX_MIN]
    # Whole words also match customers stored before prefixes were (until the re-index).
    condition = Q(name_index__contains=[*short, *(blind_index(w, purpose="name") for w in starts)])
    if starts:
        prefixes = Q(
            search_prefixes__contains=[prefix_token(word, purpose=NAME_PURPOSE) for word in starts]
        )
        condition |= Q(name_index__contains=short) & prefixes if short else prefixes
    local_part = text.strip().casefold()
    if len(local_part) >= PREFIX_MIN and not local_part.split()[1:]:
        condition |= Q(search_prefixes__contains=[prefix_token(local_part, purpose=EMAIL_PURPOSE)])
    return queryset.filter(condition)


class SearchError(ValueError):
    """A search term that cannot be searched for: ``field`` names it, ``reason`` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


SEARCH_FIELDS = ("email", "phone", "name", "external_id")


def customers_search(
    queryset: QuerySet[Customer],
    *,
    email: str = "",
    phone: str = "",
    country: str = "",
    name: str = "",
    external_channel: str = "",
    external_id: str = "",
) -> QuerySet[Customer]:
    """Customers of ``queryset`` matching every term given: an exact email or phone (normalised,
    through the blind index), the words of a name, an id on another channel (``external_channel``
    with ``external_id``, as imports and the API store them, for customers who have no email or
    phone). ``country`` is the region of a national phone number. The terms arrive in request
    bodies, never in addresses, so no access log holds them.

    Raises ``SearchError`` naming the term that cannot be normalised.
    """
    if email:
        try:
            normalised = normalise_email(email) or ""
        except NormalisationError as error:
            raise SearchError("email", error.reason) from error
        queryset = customers_matching_identifier(
            queryset, kind=IdentityKind.EMAIL, value=normalised
        )
    if phone:
        try:
            normalised = normalise_phone(phone, region=country or None) or ""
        except NormalisationError as error:
            raise SearchError("phone", error.reason) from error
        queryset = customers_matching_identifier(
            queryset, kind=IdentityKind.PHONE, value=normalised
        )
    if name:
        queryset = customers_matching_name(queryset, name)
    if external_id:
        queryset = customers_matching_identifier(
            queryset,
            kind=IdentityKind.EXTERNAL,
            channel=normalise_text(external_channel).lower(),
            value=normalise_text(external_id),
        )
    return queryset


def teams_by_name(user: AbstractBaseUser) -> QuerySet[Team]:
    """The teams whose data the user works on (every team for a superuser), by name."""
    return teams_for_user(user).select_related("group").order_by("group__name")


def import_jobs_for_user(user: AbstractBaseUser) -> QuerySet[ImportJob]:
    return scope_queryset(user, ImportJob.objects.all()).select_related(
        "created_by", "owner_team__group"
    )


_TIMELINE_COLUMNS = ("kind", "item_id", "at", "label", "value", "currency", "channel")


def customer_timeline(
    customer: Customer, *, cursor: str | None = None, limit: int = 50
) -> tuple[list[dict], str]:
    """Events and purchases of one customer, newest first, ``limit`` at a time.

    Returns the entries and the cursor of the next (older) page, or "" at the end. The cursor
    is (time, kind, id) of the last entry, so entries sharing a time are never skipped; one it
    did not hand out raises ``TimelineCursorError``. One UNION ALL query ordered in PostgreSQL:
    100,000 events cost the same as ten.
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
    if cursor:
        position = timeline_cursor_parse(cursor)
        events = events.filter(_older_than(position, kind="event"))
        purchases = purchases.filter(_older_than(position, kind="purchase"))
    union = events.values(*_TIMELINE_COLUMNS).union(purchases.values(*_TIMELINE_COLUMNS), all=True)
    entries = list(union.order_by("-at", "-kind", "-item_id")[:limit])
    last = entries[-1] if len(entries) == limit else None
    next_cursor = f"{last['at'].isoformat()}|{last['kind']}|{last['item_id']}" if last else ""
    return entries, next_cursor


class TimelineCursorError(ValueError):
    """A cursor that ``customer_timeline`` did not hand out: the client's error (a 400)."""


_TIMELINE_KINDS = frozenset({"event", "purchase"})
_CURSOR_ID = re.compile(r"[0-9]{1,19}")  # ASCII: int() takes Arabic-Indic or full-width digits too
_MAX_ID = 9_223_372_036_854_775_807  # PostgreSQL bigint


def timeline_cursor_parse(cursor: str) -> tuple[datetime.datetime, str, int]:
    """``time|kind|id`` as ``customer_timeline`` writes it: an ISO 8601 time with its offset,
    ``event`` or ``purchase``, and an id in ASCII digits; anything else raises
    ``TimelineCursorError``."""
    time_text, kind, item_id = ([*cursor.split("|", 2), "", ""])[:3]
    moment = None
    if time_text.isascii():
        try:
            moment = datetime.datetime.fromisoformat(time_text)
            # PostgreSQL takes offsets up to 15:59 only; in UTC any offset is fine.
            moment = moment.astimezone(datetime.UTC) if moment.tzinfo else None
        except (ValueError, OverflowError):
            moment = None
    if (
        moment is None
        or kind not in _TIMELINE_KINDS
        or not _CURSOR_ID.fullmatch(item_id)
        or int(item_id) > _MAX_ID
    ):
        raise TimelineCursorError(
            gettext(
                "Not a cursor of this timeline: pass next_cursor of the previous page unchanged."
            )
        )
    return moment, kind, int(item_id)


def _older_than(position: tuple[datetime.datetime, str, int], *, kind: str) -> Q:
    """Rows of ``kind`` that sort after the cursor in (time, kind, id) descending order."""
    moment, cursor_kind, cursor_id = position
    if kind < cursor_kind:
        return Q(occurred_at__lte=moment)
    if kind == cursor_kind:
        return Q(occurred_at__lt=moment) | Q(occurred_at=moment, id__lt=cursor_id)
    return Q(occurred_at__lt=moment)


def import_templates_for_user(user: AbstractBaseUser, *, kind: str) -> QuerySet[ImportTemplate]:
    """Saved mappings of the user's teams for files of ``kind``, by name."""
    return (
        scope_queryset(user, ImportTemplate.objects.filter(kind=kind))
        .select_related("owner_team__group")
        .order_by("name", "pk")
    )


def import_problem_rows(job: ImportJob, *, limit: int) -> list[ImportRow]:
    """The first report lines of ``job`` that were rejected or carry warnings."""
    rows = ImportRow.objects.filter(job=job).filter(
        Q(outcome=RowOutcome.REJECTED) | ~Q(warnings=[])
    )
    return list(rows.order_by("line_number")[:limit])


def customers_reachable(
    *, team: Team, purpose_code: str, channel: str, now: datetime.datetime | None = None
) -> QuerySet[Customer]:
    """The team's customers a campaign for ``purpose_code`` on ``channel`` may address.

    Set-based, one query when evaluated: active customers without a processing restriction or
    an objection to marketing (data-subject requests), whose latest consent event for the
    purpose and channel is an unexpired grant, and none of whose emails or phones an erasure
    suppressed.
    """
    now = now or timezone.now()
    latest = (
        ConsentEvent.objects.filter(
            owner_team=team,
            # Evaluated inside the Exists below: the customer is two levels out.
            customer_id=OuterRef(OuterRef("pk")),
            purpose__code=purpose_code,
            purpose__is_active=True,
            channel=channel,
        )
        .order_by("-occurred_at", "-id")
        .values("pk")[:1]
    )
    granted = ConsentEvent.objects.filter(pk=Subquery(latest), status=ConsentStatus.GRANTED).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    )
    suppressed = Identity.objects.filter(
        customer=OuterRef("pk"),
        lookup_key__in=Suppression.objects.filter(owner_team=team).values("lookup_key"),
        kind__in=[IdentityKind.EMAIL, IdentityKind.PHONE],
    )
    return (
        Customer.objects.marketable()
        .filter(owner_team=team)
        .filter(Exists(granted))
        .exclude(Exists(suppressed))
    )


# Pick-lists offer the most common values first, at most this many.
PICK_LIST_SIZE = 200


def customer_pick_lists(customers: QuerySet[Customer]) -> dict[str, list[tuple[str, int]]]:
    """Countries, source channels and tags of ``customers`` (already scoped to the user) with
    how many customers have each, most common first: one GROUP BY each."""
    customers = customers.order_by()
    lists = {}
    for key, field in (("country", "country"), ("source", "source_channel")):
        rows = (
            customers.exclude(**{field: ""})
            .values_list(field)
            .annotate(count=Count("pk"))
            .order_by("-count", field)[:PICK_LIST_SIZE]
        )
        lists[key] = [(value, count) for value, count in rows]
    # The scoped query is Django's own SQL, its values passed as parameters.
    sql, params = customers.values("tags").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT tag, count(*) AS customer_count
            FROM ({sql}) AS scoped, unnest(scoped.tags) AS tag
            GROUP BY tag
            ORDER BY customer_count DESC, tag
            LIMIT %s
            """,  # noqa: S608
            [*params, PICK_LIST_SIZE],
        )
        lists["tag"] = [(tag, count) for tag, count in cursor.fetchall()]
    return lists


def team_currencies(team_ids: Iterable[int]) -> dict[int, str]:
    """The currency code each team sells in, from its purchases (enrichment sums them without
    conversion, as a team sells in one currency); one query, a team without purchases has
    none."""
    currency = Purchase.objects.filter(owner_team=OuterRef("pk")).values("currency")[:1]
    teams = Team.objects.filter(pk__in=set(team_ids)).annotate(currency=Subquery(currency))
    return {pk: code for pk, code in teams.values_list("pk", "currency") if code}


def list_views_for_user(user: AbstractBaseUser) -> QuerySet[CustomerListView]:
    """The user's own saved views of the customer list, by name (nobody sees another's)."""
    return CustomerListView.objects.filter(owner=user).order_by("name", "pk")
