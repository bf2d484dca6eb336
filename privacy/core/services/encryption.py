"""Key rotation: every encrypted column re-encrypted under the current key, indexes rebuilt."""

from __future__ import annotations

from django.db import transaction

from privacy.core.services.audit import audit_record


def encryption_keys_rotate(*, batch_size: int = 1000) -> dict[str, int]:
    """Re-encrypt every encrypted column under the current key and rebuild blind indexes.

    Works in batches of ``batch_size`` rows, each in its own transaction, so it can run on a
    live database and be interrupted and started again. Returns rows rewritten per model and
    rows re-indexed per registered index.
    """
    from django.apps import apps

    from privacy.core.crypto import reindexers
    from privacy.core.fields import EncryptedTextField

    counts: dict[str, int] = {}
    for model in apps.get_models():
        fields = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if not fields or model._meta.proxy or not model._meta.managed:
            continue
        manager = model._base_manager
        last_pk = 0
        rewritten = 0
        while True:
            with transaction.atomic():
                batch = list(
                    manager.select_for_update().filter(pk__gt=last_pk).order_by("pk")[:batch_size]
                )
                if not batch:
                    break
                # Loading decrypts with whichever key made each value; saving encrypts anew.
                manager.bulk_update(batch, fields)
            last_pk = batch[-1].pk
            rewritten += len(batch)
        counts[model._meta.label] = rewritten
    for label, reindex in reindexers().items():
        counts[label] = reindex(batch_size=batch_size)
    audit_record(action="encryption.rotate_keys", metadata={"rows": counts})
    return counts
