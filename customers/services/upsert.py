"""Identity resolution: turn normalised records into customers, matching and merging.

A record matches an existing customer of its team by (channel, external id), then by
normalised email, then by E.164 phone (all through the ``Identity`` table, where emails and
phones are blind indexes). A record that matches two customers merges them (transitively, and
records of one batch that share an identifier are one person). Everything is resolved with a
handful of set-based queries per batch, never one query per row.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from customers.models import Customer, Identity, IdentityKind, RowOutcome
from customers.normalisation import NormalisedCustomer
from customers.search_tokens import customer_search_prefixes
from customers.services.custom_fields import CustomValues, custom_values_apply
from customers.services.enrichment import country_from_phone
from customers.services.locks import team_identity_lock
from customers.services.merge import PROFILE_FIELDS, customer_merge, incoming_wins
from customers.services.suppression import SUPPRESSED, identity_keys, records_suppressed
from privacy.core.crypto import name_index
from privacy.models import Team

# Fields a record may set on a customer (a subset of the profile, plus tags).
RECORD_FIELDS = tuple(f for f in PROFILE_FIELDS if f not in {"email_domain", "source_channel"})

# Set by a record beside the profile fields: tags, and custom field values (their own rules:
# a value given replaces the stored one).
_EXTRA_FIELDS = ("tags", "attributes", "private_attributes")

Key = tuple[str, str, str]  # (kind, channel, lookup key)


@dataclass
class Resolution:
    """What happened to one input record."""

    outcome: str
    customer_id: int | None
    merged_customer_ids: list[int] = field(default_factory=list)
    reason: str = ""  # why a record was rejected


class _Groups:
    """Union-find over records and existing customers."""

    def __init__(self) -> None:
        self.parent: dict[Any, Any] = {}

    def find(self, node):
        self.parent.setdefault(node, node)
        while self.parent[node] != node:
            self.parent[node] = self.parent[self.parent[node]]
            node = self.parent[node]
        return node

    def union(self, first, second) -> None:
        self.parent[self.find(first)] = self.find(second)


def _apply(customer: Customer, record: NormalisedCustomer, *, source: str, stamp: str) -> bool:
    """Apply one record to a customer with survivorship; True when a value was replaced."""
    changed = False
    for name in RECORD_FIELDS:
        incoming = record.fields.get(name)
        current = getattr(customer, name)
        if incoming in (None, "") or incoming == current:
            continue
        if name in record.ambiguous_fields and current not in (None, ""):
            # "04/06/2008" could be April or June: a guess never replaces a known value.
            continue
        current_source = (customer.provenance.get(name) or [customer.source_channel])[0]
        if incoming_wins(
            name,
            current=current,
            current_source=current_source,
            incoming=incoming,
            incoming_source=source,
        ):
            setattr(customer, name, incoming)
            customer.provenance[name] = [source, stamp]
            changed = True
    if custom_values_apply(
        customer, CustomValues(plain=record.attributes, personal=record.private_attributes)
    ):
        changed = True
    tags = record.fields.get("tags") or []
    if any(tag not in customer.tags for tag in tags):
        customer.tags = list(dict.fromkeys([*customer.tags, *tags]))
        changed = True
    # A missing country is completed from the phone's calling code (never over a stated one).
    if not customer.country and customer.phone:
        country = country_from_phone(customer.phone)
        if country:
            customer.country = country
            customer.provenance["country"] = ["phone", stamp]
            changed = True
    if changed:
        customer.email_domain = customer.email.rsplit("@", 1)[-1] if customer.email else ""
        customer.name_index = list(
            dict.fromkeys(
                [
                    *customer.name_index,
                    *name_index(customer.given_name or "", customer.family_name or ""),
                ]
            )
        )
        # Like the name tokens, earlier prefixes stay findable after a name or email changes.
        customer.search_prefixes = sorted(
            {*customer.search_prefixes, *customer_search_prefixes(customer)}
        )
    return changed


@transaction.atomic
def customers_upsert(
    *,
    team: Team,
    records: list[NormalisedCustomer],
    sources: list[str],
    actor: AbstractBaseUser | None = None,
    reason: str = "import",
) -> list[Resolution]:
    """Create, update or merge customers for ``records`` (in order; later records are newer).

    ``sources[i]`` is the channel record ``i`` came from. Returns one resolution per record.
    Running the same records again changes nothing and reports every record as unchanged.
    """
    if any(record.rejection for record in records):
        raise ValueError("Rejected records cannot be upserted; report them instead.")
    team_identity_lock(team)
    # Erased people are not collected again. Checked under the team's lock, which an erasure
    # takes too, so one committing meanwhile cannot be missed.
    suppressed = records_suppressed(team=team, records=records)
    if suppressed:
        allowed = [index for index in range(len(records)) if index not in suppressed]
        resolved = iter(
            customers_upsert(
                team=team,
                records=[records[index] for index in allowed],
                sources=[sources[index] for index in allowed],
                actor=actor,
                reason=reason,
            )
            if allowed
            else []
        )
        return [
            Resolution(RowOutcome.REJECTED, None, reason=SUPPRESSED)
            if index in suppressed
            else next(resolved)
            for index in range(len(records))
        ]
    stamp = timezone.now().isoformat()
    record_keys = [identity_keys(record) for record in records]
    wanted = {key for keys in record_keys for key in keys}
    owner: dict[Key, int] = {}
    if wanted:
        # Grouped by (kind, channel) so each branch uses the unique index on
        # (owner_team, kind, channel, lookup_key) instead of scanning the team's identities.
        by_kind: dict[tuple[str, str], set[str]] = defaultdict(set)
        for kind, channel, key in wanted:
            by_kind[(kind, channel)].add(key)
        condition = Q()
        for (kind, channel), keys in by_kind.items():
            condition |= Q(kind=kind, channel=channel, lookup_key__in=keys)
        rows = Identity.objects.filter(condition, owner_team=team).values_list(
            "kind", "channel", "lookup_key", "customer_id"
        )
        owner = {
            (kind, channel, key): customer
            for kind, channel, key, customer in rows
            if (kind, channel, key) in wanted
        }

    groups = _Groups()
    first_holder: dict[Key, int] = {}
    for index, keys in enumerate(record_keys):
        groups.find(("record", index))
        for key in keys:
            if key in owner:
                groups.union(("record", index), ("customer", owner[key]))
            if key in first_holder:
                groups.union(("record", index), ("record", first_holder[key]))
            else:
                first_holder[key] = index
    members: dict[Any, dict[str, list[int]]] = defaultdict(lambda: {"records": [], "customers": []})
    for node in list(groups.parent):
        bucket = members[groups.find(node)]
        bucket["records" if node[0] == "record" else "customers"].append(node[1])

    existing_ids = sorted({cid for bucket in members.values() for cid in bucket["customers"]})
    existing = Customer.objects.select_for_update().in_bulk(existing_ids)
    results: list[Resolution | None] = [None] * len(records)
    new_customers: list[tuple[Customer, list[int]]] = []
    changed_customers: list[Customer] = []
    identities: list[Identity] = []

    for bucket in members.values():
        indexes = sorted(bucket["records"])
        customer_ids = sorted(set(bucket["customers"]))
        merged_ids: list[int] = []
        if customer_ids:
            target = existing[customer_ids[0]]
            for other_id in customer_ids[1:]:
                customer_merge(
                    survivor=target, merged=existing[other_id], actor=actor, reason=reason
                )
                merged_ids.append(other_id)
            if merged_ids:
                target = Customer.objects.get(pk=target.pk)
        else:
            first = records[indexes[0]]
            target = Customer(owner_team=team, source_channel=sources[indexes[0]], provenance={})
            target.lifecycle_status = (
                first.fields.get("lifecycle_status") or target.lifecycle_status
            )
        before = {name: getattr(target, name) for name in (*RECORD_FIELDS, *_EXTRA_FIELDS)}
        provenance_before = dict(target.provenance)
        for index in indexes:
            _apply(target, records[index], source=sources[index], stamp=stamp)
        # Compare the end state with the start: a field that changed and changed back (the
        # same file imported twice) is no change, and keeps its provenance.
        changed = False
        for name, value in before.items():
            if getattr(target, name) == value:
                if name in provenance_before:
                    target.provenance[name] = provenance_before[name]
                else:
                    target.provenance.pop(name, None)
            else:
                changed = True
        if target.pk is None:
            new_customers.append((target, indexes))
        elif changed:
            target.updated_at = timezone.now()
            changed_customers.append(target)
        for position, index in enumerate(indexes):
            if target.pk is None:
                outcome = RowOutcome.CREATED if position == 0 else RowOutcome.MERGED
            elif merged_ids:
                outcome = RowOutcome.MERGED
            else:
                outcome = RowOutcome.UPDATED if changed else RowOutcome.UNCHANGED
            results[index] = Resolution(outcome, target.pk, merged_ids)
        for index in indexes:
            for kind, channel, key in record_keys[index]:
                if (kind, channel, key) in owner:
                    continue
                value = None
                if kind == IdentityKind.EMAIL:
                    value = records[index].fields["email"]
                elif kind == IdentityKind.PHONE:
                    value = records[index].fields["phone"]
                identities.append(
                    Identity(
                        owner_team=team,
                        customer=target,
                        kind=kind,
                        channel=channel,
                        lookup_key=key,
                        value=value,
                        source=sources[index],
                    )
                )
                owner[(kind, channel, key)] = -1  # claimed by this batch

    if new_customers:
        Customer.objects.bulk_create([customer for customer, _indexes in new_customers])
        for customer, indexes in new_customers:
            for index in indexes:
                results[index].customer_id = customer.pk
    if changed_customers:
        Customer.objects.bulk_update(
            changed_customers,
            [
                *RECORD_FIELDS,
                *_EXTRA_FIELDS,
                "email_domain",
                "name_index",
                "search_prefixes",
                "provenance",
                "updated_at",
            ],
            batch_size=500,
        )
    if identities:
        for identity in identities:
            identity.customer_id = identity.customer.pk
        Identity.objects.bulk_create(identities, ignore_conflicts=True)
    return results  # type: ignore[return-value]
