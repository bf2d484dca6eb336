"""Consent when customer profiles merge and a merge is undone (hooks the customers app calls)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from privacy.consent.selectors import ConsentSubject
from privacy.consent.services.records import customer_subject_key
from privacy.core.services.audit import audit_record
from privacy.models import (
    ConsentEvent,
    ConsentSource,
    ConsentStatus,
)

# --- Merges of customer profiles ----------------------------------------------------------------


def _latest_per_purpose(customer_ids: list[int]) -> list[ConsentEvent]:
    return list(
        ConsentEvent.objects.filter(customer_id__in=customer_ids)
        .order_by("customer_id", "purpose_id", "channel", "-occurred_at", "-id")
        .distinct("customer_id", "purpose_id", "channel")
    )


def _copy_event(
    event: ConsentEvent, *, to: ConsentSubject, reference: str, **changes
) -> ConsentEvent:
    fields = {
        "owner_team_id": to.owner_team_id,
        "customer_id": to.pk,
        "subject_key": customer_subject_key(to),
        "purpose_id": event.purpose_id,
        "channel": event.channel,
        "status": event.status,
        "lawful_basis": event.lawful_basis,
        "source": event.source,
        "source_reference": reference[:128],
        "evidence": {**event.evidence, "copied_from_event": event.pk},
        "notice_id": event.notice_id,
        "occurred_at": event.occurred_at,
        "expires_at": event.expires_at,
    }
    return ConsentEvent(**{**fields, **changes})


def _supersedes(candidate: ConsentEvent, current: ConsentEvent | None) -> bool:
    """Whether ``candidate`` is the later decision; at the same instant, a refusal wins."""
    if current is None or candidate.occurred_at != current.occurred_at:
        return current is None or candidate.occurred_at > current.occurred_at
    return current.status == ConsentStatus.GRANTED and candidate.status != ConsentStatus.GRANTED


@transaction.atomic
def consents_merge(*, survivor: ConsentSubject, merged: ConsentSubject) -> list[int]:
    """Carry consent over when ``merged`` is folded into ``survivor``.

    Events cannot move (they are append-only), so for each purpose and channel where the
    merged profile's latest decision is newer than the survivor's, a copy of it (with its
    original time, and ``copied_from_event`` in its evidence) is appended to the survivor: the
    person's latest decision on either profile is the survivor's state, withdrawals included.
    Returns the ids of the copies.
    """
    latest: dict[int, dict[tuple[int, str], ConsentEvent]] = {survivor.pk: {}, merged.pk: {}}
    for event in _latest_per_purpose([survivor.pk, merged.pk]):
        latest[event.customer_id][(event.purpose_id, event.channel)] = event
    copies = [
        _copy_event(event, to=survivor, reference=f"merge:{merged.pk}")
        for key, event in latest[merged.pk].items()
        if _supersedes(event, latest[survivor.pk].get(key))
    ]
    ConsentEvent.objects.bulk_create(copies)
    if copies:
        audit_record(
            action="consent.merge",
            object_type="customers.customer",
            object_id=survivor.pk,
            metadata={"merged_customer": merged.pk, "copied": len(copies)},
        )
    return [event.pk for event in copies]


@transaction.atomic
def consents_merge_undo(
    *, survivor: ConsentSubject, merged: ConsentSubject, copied_ids: list[int]
) -> list[int]:
    """Undo ``consents_merge`` when a merge is undone (the profiles were two people).

    Where a copied decision is still the survivor's latest, the survivor's own latest decision
    before it is appended again (now); where it had none and the copy was a grant, a withdrawal
    is appended, so one person's consent never stays with another. The merged profile kept its
    own events. Returns the ids of the appended events.
    """
    if not copied_ids:
        return []
    copied = set(copied_ids)
    current = {
        (event.purpose_id, event.channel): event for event in _latest_per_purpose([survivor.pk])
    }
    own = {}
    for event in (
        ConsentEvent.objects.filter(customer_id=survivor.pk)
        .exclude(pk__in=copied)
        .order_by("purpose_id", "channel", "-occurred_at", "-id")
        .distinct("purpose_id", "channel")
    ):
        own[(event.purpose_id, event.channel)] = event
    now = timezone.now()
    reference = f"merge_undo:{merged.pk}"
    restored = []
    for key, event in current.items():
        if event.pk not in copied:
            continue
        if key in own:
            restored.append(
                _copy_event(own[key], to=survivor, reference=reference, occurred_at=now)
            )
        elif event.status == ConsentStatus.GRANTED:
            restored.append(
                _copy_event(
                    event,
                    to=survivor,
                    reference=reference,
                    status=ConsentStatus.WITHDRAWN,
                    source=ConsentSource.STAFF,
                    evidence={"merge_undone": merged.pk},
                    notice_id=None,
                    occurred_at=now,
                    expires_at=None,
                )
            )
    ConsentEvent.objects.bulk_create(restored)
    audit_record(
        action="consent.merge_undo",
        object_type="customers.customer",
        object_id=survivor.pk,
        metadata={"merged_customer": merged.pk, "restored": len(restored)},
    )
    return [event.pk for event in restored]


def consent_merge_hook(survivor: ConsentSubject, merged: ConsentSubject) -> dict[str, list[int]]:
    """For ``customers.services.merge.register_merge_hook``."""
    return {"consent_event": consents_merge(survivor=survivor, merged=merged)}


def consent_merge_undo_hook(
    survivor: ConsentSubject, merged: ConsentSubject, moved: dict[str, list[int]]
) -> None:
    """For ``customers.services.merge.register_merge_hook``."""
    consents_merge_undo(survivor=survivor, merged=merged, copied_ids=moved.get("consent_event", []))
