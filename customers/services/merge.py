"""Merging two customers into one profile, and undoing the latest merge."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from customers.models import Customer, Event, Identity, ImportRow, MergeRecord, Purchase
from customers.services.custom_fields import private_attributes_merged
from customers.services.metrics import customer_metrics_queue
from privacy.core.registry import Registry
from privacy.core.services.audit import audit_record

# Profile fields survivorship decides when two profiles become one.
PROFILE_FIELDS = (
    "email",
    "phone",
    "given_name",
    "family_name",
    "postal_address",
    "notes",
    "email_domain",
    "country",
    "city",
    "postal_code",
    "birth_date",
    "birth_year",
    "gender",
    "language",
    "company",
    "industry",
    "job_title",
    "source_channel",
    "signup_date",
)
_DATE_FIELDS = {"birth_date", "signup_date"}
_SNAPSHOT_EXTRA = (
    "tags",
    "attributes",
    "private_attributes",
    "name_index",
    "search_prefixes",
    "provenance",
)

# Later apps (segments, campaigns, privacy) register what else moves with a merge: a hook gets
# (survivor, merged) and returns {"label": [moved ids]}; its undo partner gets those ids back.
MergeHook = Callable[[Customer, Customer], dict[str, list[int]]]
UndoHook = Callable[[Customer, Customer, dict[str, list[int]]], None]
_merge_hooks: Registry[tuple[MergeHook, UndoHook]] = Registry("customer merge hooks")


def register_merge_hook(label: str, on_merge: MergeHook, on_undo: UndoHook) -> None:
    """Let ``label`` move its rows with a merge and back with its undo (from ``ready()``)."""
    _merge_hooks.register(label, (on_merge, on_undo))


def merge_hooks() -> dict[str, tuple[MergeHook, UndoHook]]:
    return dict(_merge_hooks)


def _rule(field: str) -> str:
    config = getattr(settings, "CUSTOMER_SURVIVORSHIP", {})
    return config.get("fields", {}).get(field, config.get("default", "most_recent"))


def _source_rank(source: str) -> int:
    priority = list(getattr(settings, "CUSTOMER_SURVIVORSHIP", {}).get("source_priority", []))
    return len(priority) - priority.index(source) if source in priority else 0


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def incoming_wins(
    field: str,
    *,
    current: Any,
    current_source: str,
    incoming: Any,
    incoming_source: str,
    incoming_is_newer: bool = True,
) -> bool:
    """Whether an incoming non-empty value replaces the current one for ``field``.

    Rules per field come from the ``CUSTOMER_SURVIVORSHIP`` setting: ``most_recent`` (the
    default: the newer non-empty value wins), ``first`` (the first value set is kept) and
    ``source_priority`` (the value from the higher-priority source wins; on a tie, the newer).
    An empty value never replaces a non-empty one.
    """
    if _empty(incoming):
        return False
    if _empty(current):
        return True
    rule = _rule(field)
    if rule == "first":
        return False
    if rule == "source_priority":
        incoming_rank, current_rank = _source_rank(incoming_source), _source_rank(current_source)
        if incoming_rank != current_rank:
            return incoming_rank > current_rank
    return incoming_is_newer


def _provenance(customer: Customer, field: str) -> tuple[str, str]:
    source, when = customer.provenance.get(field) or (customer.source_channel, "")
    return source, when or (customer.updated_at.isoformat() if customer.updated_at else "")


def _takes_incoming(survivor: Customer, merged: Customer, field: str) -> bool:
    """Whether a merge gives ``survivor`` the value of ``merged`` for profile field ``field``."""
    current, incoming = getattr(survivor, field), getattr(merged, field)
    current_source, current_time = _provenance(survivor, field)
    incoming_source, incoming_time = _provenance(merged, field)
    return current != incoming and incoming_wins(
        field,
        current=current,
        current_source=current_source,
        incoming=incoming,
        incoming_source=incoming_source,
        incoming_is_newer=incoming_time > current_time,
    )


def customer_merge_outcomes(*, survivor: Customer, merged: Customer) -> dict[str, str]:
    """What merging ``merged`` into ``survivor`` would do with each profile field whose values
    differ: ``"kept"`` (the survivor's value stays), ``"filled"`` (the survivor had none and
    takes the other's) or ``"overwritten"`` (the other's value replaces the survivor's). The same
    rules as ``customer_merge``, which the confirmation of a merge shows before it is done."""
    outcomes = {}
    for field in PROFILE_FIELDS:
        if getattr(survivor, field) == getattr(merged, field):
            continue
        if not _takes_incoming(survivor, merged, field):
            outcomes[field] = "kept"
        else:
            outcomes[field] = "overwritten" if not _empty(getattr(survivor, field)) else "filled"
    return outcomes


def _snapshot(customer: Customer) -> str:
    values = {field: getattr(customer, field) for field in (*PROFILE_FIELDS, *_SNAPSHOT_EXTRA)}
    for field in _DATE_FIELDS:
        if values[field]:
            values[field] = values[field].isoformat()
    return json.dumps(values)


def _restore(customer: Customer, snapshot: str) -> None:
    for field, value in json.loads(snapshot).items():
        if field in _DATE_FIELDS and value:
            value = datetime.date.fromisoformat(value)
        setattr(customer, field, value)


@transaction.atomic
def customer_merge(
    *,
    survivor: Customer,
    merged: Customer,
    actor: AbstractBaseUser | None = None,
    reason: str = "staff",
) -> MergeRecord:
    """Fold ``merged`` into ``survivor`` in one transaction, audited.

    Identities, events, purchases, import report rows and whatever later apps registered move
    to the survivor; each profile field keeps the value survivorship picks, and the survivor's
    previous profile is kept (encrypted) in the merge record. ``merged`` stays as a tombstone
    pointing at the survivor, so the latest merge can be undone.
    """
    if survivor.pk == merged.pk:
        raise ValueError("A customer cannot be merged into itself.")
    locked = Customer.objects.select_for_update().in_bulk([survivor.pk, merged.pk])
    survivor, merged = locked[survivor.pk], locked[merged.pk]
    if survivor.owner_team_id != merged.owner_team_id:
        raise ValueError("Only customers of the same team can be merged.")
    if merged.merged_into_id is not None or survivor.merged_into_id is not None:
        raise ValueError("A customer that was merged away cannot take part in another merge.")

    before = _snapshot(survivor)
    overwritten: list[str] = []
    for field in PROFILE_FIELDS:
        if _takes_incoming(survivor, merged, field):
            if not _empty(getattr(survivor, field)):
                overwritten.append(field)
            setattr(survivor, field, getattr(merged, field))
            survivor.provenance[field] = list(_provenance(merged, field))
    survivor.tags = list(dict.fromkeys([*survivor.tags, *merged.tags]))
    survivor.attributes = {**merged.attributes, **survivor.attributes}
    survivor.private_attributes = private_attributes_merged(survivor, merged)
    survivor.name_index = list(dict.fromkeys([*survivor.name_index, *merged.name_index]))
    survivor.search_prefixes = sorted({*survivor.search_prefixes, *merged.search_prefixes})
    survivor.save()

    moved = {
        "identity": _move(Identity, merged, survivor),
        "event": _move(Event, merged, survivor),
        "purchase": _move(Purchase, merged, survivor),
        "import_row": _move(ImportRow, merged, survivor),
    }
    for on_merge, _on_undo in _merge_hooks.values():
        moved.update(on_merge(survivor, merged))
    if moved["purchase"]:
        customer_metrics_queue(team_id=survivor.owner_team_id, customer_ids=[survivor.pk])
    merged.merged_into = survivor
    merged.save(update_fields=["merged_into", "updated_at"])
    record = MergeRecord.objects.create(
        survivor=survivor,
        merged=merged,
        performed_by=actor,
        reason=reason,
        survivor_before=before,
        overwritten_fields=overwritten,
        moved=moved,
    )
    audit_record(
        action="customer.merge",
        actor=actor,
        target=survivor,
        metadata={
            "merged_customer": merged.pk,
            "reason": reason,
            "fields_overwritten": overwritten,
            "moved": {label: len(ids) for label, ids in moved.items()},
        },
    )
    return record


def _move(model, merged: Customer, survivor: Customer) -> list[int]:
    rows = model.objects.filter(customer=merged)
    ids = list(rows.values_list("pk", flat=True))
    if ids:
        model.objects.filter(pk__in=ids).update(customer=survivor)
    return ids


@transaction.atomic
def customer_merge_undo(
    *, survivor: Customer, actor: AbstractBaseUser | None = None
) -> MergeRecord:
    """Undo the latest merge into ``survivor``: the merged profile and its records come back.

    Records that arrived after the merge stay with the survivor.
    """
    record = (
        MergeRecord.objects.select_for_update()
        .filter(survivor_id=survivor.pk, undone_at__isnull=True)
        .order_by("-performed_at", "-id")
        .first()
    )
    if record is None:
        raise ValueError(f"Customer #{survivor.pk} has no merge to undo.")
    locked = Customer.objects.select_for_update().in_bulk([survivor.pk, record.merged_id])
    survivor, merged = locked[survivor.pk], locked[record.merged_id]
    for label, model in (
        ("identity", Identity),
        ("event", Event),
        ("purchase", Purchase),
        ("import_row", ImportRow),
    ):
        ids = record.moved.get(label, [])
        if ids:
            model.objects.filter(pk__in=ids, customer=survivor).update(customer=merged)
            if model is Purchase:
                customer_metrics_queue(
                    team_id=survivor.owner_team_id, customer_ids=[survivor.pk, merged.pk]
                )
    for _on_merge, on_undo in _merge_hooks.values():
        on_undo(survivor, merged, record.moved)
    _restore(survivor, record.survivor_before)
    survivor.save()
    merged.merged_into = None
    merged.save(update_fields=["merged_into", "updated_at"])
    record.undone_at = timezone.now()
    record.save(update_fields=["undone_at"])
    audit_record(
        action="customer.merge_undo",
        actor=actor,
        target=survivor,
        metadata={"merged_customer": merged.pk, "merge": record.pk},
    )
    return record
