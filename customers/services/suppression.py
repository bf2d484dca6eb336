"""The suppression list as every door that collects people sees it: one check, every identifier.

An erasure suppresses the keyed hash of each identity the person had: emails and phones (the
blind index identity resolution already looks them up by) and external ids per channel (a CRM
id, a WeChat id, a shop id), keyed together with their channel so that CRM id ``42`` and shop
id ``42`` stay apart. ``identities_suppressed`` is the one check: import rows, API upserts,
event and purchase ingestion and staff edits ask it, with whatever identifiers they were
given, before they collect or attach anything, so an erased person cannot come back by any of
them.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import TypeVar

from django.utils.translation import gettext_noop

from customers.models import IdentityKind
from customers.normalisation import NormalisedCustomer
from privacy.core.crypto import blind_index
from privacy.erasure.services.erasure import suppressed_keys
from privacy.models import SuppressionKind, Team

SUPPRESSED = gettext_noop("suppressed (erased at the person's request)")

_T = TypeVar("_T", bound=Hashable)
# An identity as the ``Identity`` table keys it: (kind, channel, lookup key). Emails and
# phones have no channel and the blind index of the normalised value as their lookup key;
# external ids their channel and the id itself.
IdentityKey = tuple[str, str, str]


def identity_keys(record: NormalisedCustomer) -> list[IdentityKey]:
    """Every identity a normalised record carries: its external ids, email and phone."""
    keys: list[IdentityKey] = [
        (IdentityKind.EXTERNAL, channel, external_id)
        for channel, external_id in record.external_ids
    ]
    for kind in (IdentityKind.EMAIL, IdentityKind.PHONE):
        if value := record.fields.get(kind):
            keys.append((kind, "", blind_index(value, purpose=kind)))
    return keys


def suppression_key(kind: str, channel: str, lookup_key: str) -> tuple[str, str]:
    """The ``(suppression kind, keyed hash)`` an erasure stores for one identity."""
    if kind == IdentityKind.EXTERNAL:
        # A separator no channel holds, so ("crm", "a:b") and ("crm:a", "b") stay apart.
        return SuppressionKind.EXTERNAL, blind_index(f"{channel}\x1f{lookup_key}", purpose=kind)
    return kind, lookup_key


def identities_suppressed(*, team: Team, identities: Mapping[_T, Iterable[IdentityKey]]) -> set[_T]:
    """Which keys of ``identities`` carry an identity an erasure suppressed for ``team``.

    ``identities`` maps anything (a record's index, an item's reference) to the identities it
    names; one query for all of them.
    """
    wanted: dict[tuple[str, str], list[_T]] = {}
    for owner, keys in identities.items():
        for kind, channel, lookup_key in keys:
            if lookup_key:
                wanted.setdefault(suppression_key(kind, channel, lookup_key), []).append(owner)
    found = suppressed_keys(team=team, keys=wanted)
    return {owner for key in found for owner in wanted[key]}


def records_suppressed(*, team: Team, records: Sequence[NormalisedCustomer]) -> set[int]:
    """Indexes of ``records`` carrying any identity an erasure suppressed for ``team``.

    Import and API upsert reject those records with the reason ``SUPPRESSED`` instead of
    collecting the person again.
    """
    return identities_suppressed(
        team=team,
        identities={index: identity_keys(record) for index, record in enumerate(records)},
    )
