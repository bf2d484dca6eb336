"""Rebuilding the customers app's blind indexes from plaintext (after a key change)."""

from __future__ import annotations

from django.db import transaction

from customers.models import Customer, Identity, IdentityKind
from customers.search_tokens import customer_search_prefixes
from privacy.core.crypto import blind_index, name_index


def customers_reindex(*, batch_size: int = 1000) -> int:
    """Recompute email/phone identity keys, name tokens and search prefixes under the current
    index key (also fills the prefixes of customers stored before they existed)."""
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
                customer.search_prefixes = customer_search_prefixes(customer)
            Customer.objects.bulk_update(customers, ["name_index", "search_prefixes"])
        last_pk = customers[-1].pk
        count += len(customers)
    return count
