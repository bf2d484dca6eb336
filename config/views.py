"""The staff UI's home dashboard and section landing pages."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from privacy.core.access import permission_name
from privacy.core.selectors import audit_entries_for_user
from privacy.models import AuditEntry, Team


def _dashboard_counts(user) -> list[dict]:
    """Real counts, one query each; tiles a user's role cannot read are left out."""
    since = timezone.now() - timedelta(days=1)
    tiles = [
        {"key": "teams", "value": Team.objects.count()},
        {"key": "staff", "value": get_user_model().objects.filter(is_active=True).count()},
        {"key": "schedules", "value": PeriodicTask.objects.filter(enabled=True).count()},
    ]
    if user.has_perm(permission_name(AuditEntry, "view")):
        # The entries the user may read: a data steward counts her teams' only.
        recent = audit_entries_for_user(user).select_related(None).filter(occurred_at__gte=since)
        tiles.append({"key": "audit_24h", "value": recent.count()})
        tiles.append(
            {
                "key": "failed_logins_24h",
                "value": recent.filter(action__in=["auth.login_failed", "auth.mfa_failed"]).count(),
            }
        )
    return tiles


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "home.html", {"tiles": _dashboard_counts(request.user)})


def section(request: HttpRequest, section: str) -> HttpResponse:
    """Landing page of an area whose records have not been created yet."""
    return render(request, f"{section}/home.html", {"section": section})
