"""Actions on the customers selected in the staff list: tag, untag (and, through the registry,
whatever a higher app adds). Each is one UPDATE over the set, audited per team in the same
transaction. The export of the selected goes through ``customers_csv_export``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, Func, QuerySet, Value
from django.db.models.functions import Now
from django.utils.translation import gettext_noop

from customers.models import Customer
from customers.normalisation import normalise_tags
from privacy.core.registry import Registry
from privacy.core.services.audit import audit_record

# At most this many customers are acted on at once (a page of the list is 50).
MAX_SELECTION = 500


class BulkActionError(ValueError):
    """The action cannot run: ``reason`` says why, in words for the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class BulkAction:
    """An action a higher app offers on the selected customers (segments: "add to a static
    segment"). ``run(actor=, customers=, value=)`` changes them, audits, returns how many."""

    label: str
    run: Callable[..., int]
    needs_value: bool = False


# Filled by the apps above customers in their AppConfig.ready(): customers know nothing of
# segments, so "add to a static segment" arrives here, keyed by its name.
_bulk_actions: Registry[BulkAction] = Registry("customer list bulk actions")


def register_bulk_action(key: str, action: BulkAction) -> None:
    _bulk_actions.register(key, action)


def bulk_actions() -> dict[str, BulkAction]:
    return dict(_bulk_actions)


def _one_tag(tag: str) -> str:
    tags = normalise_tags(tag)
    if len(tags) != 1 or len(tags[0]) > 64:
        raise BulkActionError(gettext_noop("Enter one tag of at most 64 characters."))
    return tags[0]


def _audit_by_team(
    *, is_added: bool, actor: AbstractBaseUser, changed: list[tuple[int, int]], tag: str
) -> None:
    by_team: dict[int, list[int]] = {}
    for pk, team_id in changed:
        by_team.setdefault(team_id, []).append(pk)
    for team_id, ids in sorted(by_team.items()):
        audit_record(
            action="customer.tag" if is_added else "customer.untag",
            actor=actor,
            object_type=Customer._meta.label_lower,
            team_id=team_id,
            metadata={"tag": tag, "customer_ids": sorted(ids)},
        )


def _changed(customers: QuerySet[Customer], expression) -> list[tuple[int, int]]:
    """Run one UPDATE over ``customers`` and return (id, team id) of each row it changed."""
    rows = customers.order_by().select_for_update(of=("self",)).values_list("pk", flat=True)
    ids = list(rows[: MAX_SELECTION + 1])
    if len(ids) > MAX_SELECTION:
        raise BulkActionError(gettext_noop("Select fewer customers."))
    target = Customer.objects.filter(pk__in=ids)
    pairs = list(target.values_list("pk", "owner_team_id"))
    target.update(tags=expression, updated_at=Now())
    return pairs


def _tag_change(
    *, actor: AbstractBaseUser, customers: QuerySet[Customer], tag: str, is_added: bool
) -> int:
    tag = _one_tag(tag)
    if is_added:
        targets, function = customers.exclude(tags__contains=[tag]), "array_append"
    else:
        targets, function = customers.filter(tags__contains=[tag]), "array_remove"
    changed = _changed(targets, Func(F("tags"), Value(tag), function=function))
    _audit_by_team(is_added=is_added, actor=actor, changed=changed, tag=tag)
    return len(changed)


@transaction.atomic
def customers_tag(*, actor: AbstractBaseUser, customers: QuerySet[Customer], tag: str) -> int:
    """Add ``tag`` to the customers that lack it; one audit entry per team names them."""
    return _tag_change(actor=actor, customers=customers, tag=tag, is_added=True)


@transaction.atomic
def customers_untag(*, actor: AbstractBaseUser, customers: QuerySet[Customer], tag: str) -> int:
    """Remove ``tag`` from the customers that have it; one audit entry per team names them."""
    return _tag_change(actor=actor, customers=customers, tag=tag, is_added=False)
