"""Reads of retention policies, for the staff UI and the admin."""

from __future__ import annotations

from django.db.models import QuerySet

from privacy.core.access import NotFound
from privacy.models import RetentionPolicy


def retention_policies_list() -> QuerySet[RetentionPolicy]:
    """Every policy, in category order (one query)."""
    return RetentionPolicy.objects.order_by("category")


def retention_policy_get(*, pk: int) -> RetentionPolicy:
    """One policy, or ``NotFound``."""
    policy = RetentionPolicy.objects.filter(pk=pk).first()
    if policy is None:
        raise NotFound
    return policy
