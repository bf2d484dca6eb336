"""Rebuilding the customers app's blind indexes from plaintext (after a key change)."""

from __future__ import annotations

from django.db import transaction

from customers.models import Customer, Identity, IdentityKind
from privacy.core.crypto import blind_index, name_index


def customers_reindex(*, batch_size: int = 1000) -> int:
    """Recompute email/phone identity keys and name tokens under the current index key."""
    count = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            identities = list(
                Identity.objects.select_for_update()
                .filter(pk__gt=last_pk, kind__in=[IdentityKind.EMAIL, IdentityKind.PHONE])
                .order_by("pk")[:batch_size]
            )
            if not identities:
                break
            for identity in identities:
                if identity.value:
                    identity.lookup_key = blind_index(identity.value, purpose=identity.kind)
            Identity.objects.bulk_update(identities, ["lookup_key"])
        last_pk = identities[-1].pk
        count += len(identities)
    last_pk = 0
    while True:
        with transaction.atomic():
            customers = list(
                Customer.objects.select_for_update()
                .filter(pk__gt=last_pk)
                .order_by("pk")[:batch_size]
            )
            if not customers:
                break
            for customer in customers:
                customer.name_index = name_index(
                    customer.given_name or "", customer.family_name or ""
                )
            Customer.objects.bulk_update(customers, ["name_index"])
        last_pk = customers[-1].pk
        count += len(customers)
    return count
