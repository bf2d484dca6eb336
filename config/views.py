"""The staff UI's home dashboard and section landing pages."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django_celery_beat.models import PeriodicTask

from config.dashboard import (
    RFM_SCORES,
    CustomerFigures,
    can_see_requests,
    customer_figures,
    imports_recent,
    requests_by_due_date,
)
from customers.models import Channel, LifecycleStatus
from privacy.core.access import permission_name
from privacy.core.selectors import audit_entries_for_user
from privacy.models import AuditEntry, ConsentChannel, Team

# The dashboard's figures are fetched again this often (htmx), in seconds.
REFRESH_SECONDS = 300


def _dashboard_counts(user, figures: CustomerFigures, requests: dict | None) -> list[dict]:
    """Counts of what the user may see; tiles a user's role cannot read are left out, and the
    system's own counts (teams, staff, schedules) are for superusers."""
    since = timezone.now() - timedelta(days=1)
    tiles = [{"key": "customers", "value": figures.total}]
    if requests is not None:
        tiles.append({"key": "open_requests", "value": sum(requests.values())})
        tiles.append({"key": "overdue_requests", "value": requests["overdue"]})
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
    if user.is_superuser:
        tiles += [
            {"key": "teams", "value": Team.objects.count()},
            {"key": "staff", "value": get_user_model().objects.filter(is_active=True).count()},
            {"key": "schedules", "value": PeriodicTask.objects.filter(enabled=True).count()},
        ]
    return tiles


def _chart(kind: str, labels: list, datasets: list[dict], **options: Any) -> dict[str, Any]:
    return {"kind": kind, "labels": labels, "datasets": datasets, **options}


def _percent(part: int, whole: int) -> float:
    return round(part * 100 / whole, 1) if whole else 0.0


def _customer_charts(figures: CustomerFigures) -> dict[str, Any]:
    """Chart.js figures and the rows of their tables, from the customer figures."""
    channels = dict(Channel.choices)
    stages = dict(LifecycleStatus.choices)
    unknown = _("Unknown")
    months = [
        (date_format(month, "YEAR_MONTH_FORMAT"), new, total)
        for month, new, total in figures.by_month
    ]
    sources = [(channels.get(value, value) or unknown, count) for value, count in figures.by_source]
    countries = [(code or unknown, count) for code, count in figures.by_country]
    if figures.other_countries:
        countries.append((_("Other countries"), figures.other_countries))
    lifecycle = [(stages.get(value, value), count) for value, count in figures.by_lifecycle]
    consent_channels = dict(ConsentChannel.choices)
    consent = [
        (
            f"{purpose.display_name} · {consent_channels.get(channel, channel)}",
            count,
            _percent(count, figures.total),
        )
        for purpose, channel, count in figures.consent
    ]
    rfm_rows = [
        (
            frequency,
            [
                (recency, *figures.rfm.get((recency, frequency), (0, Decimal(0))))
                for recency in RFM_SCORES
            ],
        )
        for frequency in reversed(RFM_SCORES)
    ]
    largest = max((count for count, _revenue in figures.rfm.values()), default=0)
    bubbles = [
        {"x": recency, "y": frequency, "r": round(4 + 20 * (count / largest) ** 0.5, 1)}
        for (recency, frequency), (count, _revenue) in sorted(figures.rfm.items())
        if count
    ]
    return {
        "months": months,
        "sources": sources,
        "countries": countries,
        "lifecycle": lifecycle,
        "consent": consent,
        "rfm_rows": rfm_rows,
        "charts": {
            "customers_over_time": _chart(
                "line",
                [label for label, _new, _total in months],
                [{"label": _("Customers"), "data": [total for _label, _new, total in months]}],
            ),
            "customers_by_source": _chart(
                "bar",
                [label for label, _count in sources],
                [{"label": _("Customers"), "data": [count for _label, count in sources]}],
                horizontal=True,
            ),
            "customers_by_country": _chart(
                "bar",
                [label for label, _count in countries],
                [{"label": _("Customers"), "data": [count for _label, count in countries]}],
                horizontal=True,
            ),
            "customers_by_lifecycle": _chart(
                "doughnut",
                [label for label, _count in lifecycle],
                [{"label": _("Customers"), "data": [count for _label, count in lifecycle]}],
            ),
            "rfm_grid": _chart(
                "bubble",
                [],
                [{"label": _("Customers"), "data": bubbles}],
                axes={"x": _("Recency score"), "y": _("Frequency score")},
                bounds={"min": 0.5, "max": 5.5},
            ),
            "consent_coverage": _chart(
                "bar",
                [label for label, _count, _share in consent],
                [
                    {
                        "label": _("Customers with a current grant"),
                        "data": [share for _label, _count, share in consent],
                        "axis": "percent",
                    }
                ],
                horizontal=True,
            ),
        },
    }


def _import_chart(days: list[dict]) -> dict[str, Any]:
    outcomes = (
        ("created", _("Created")),
        ("updated", _("Updated")),
        ("merged", _("Merged")),
        ("unchanged", _("Unchanged")),
        ("rejected", _("Rejected")),
    )
    return _chart(
        "bar",
        [date_format(day["day"], "SHORT_DATE_FORMAT") for day in days],
        [{"label": label, "data": [day[key] or 0 for day in days]} for key, label in outcomes],
        stacked=True,
    )


def _request_buckets(requests: dict[str, int]) -> list[tuple[str, str, int]]:
    labels = {
        "overdue": _("Overdue"),
        "week": _("Due within 7 days"),
        "month": _("Due in 8 to 30 days"),
        "later": _("Due later"),
    }
    return [(key, label, requests[key]) for key, label in labels.items()]


def home(request: HttpRequest) -> HttpResponse:
    """Counts and charts of what the user may see; an htmx request gets the figures only."""
    user = request.user
    figures = customer_figures(user)
    requests = requests_by_due_date(user) if can_see_requests(user) else None
    imports = imports_recent(user)
    context: dict[str, Any] = {
        "tiles": _dashboard_counts(user, figures, requests),
        "figures": figures,
        "imports": imports,
        "refresh_seconds": REFRESH_SECONDS,
        **(_customer_charts(figures) if figures.total else {"charts": {}}),
    }
    context["charts"]["imports_recent"] = _import_chart(imports)
    if requests is not None:
        buckets = _request_buckets(requests)
        context["request_buckets"] = buckets
        context["charts"]["requests_by_due_date"] = _chart(
            "bar",
            [label for _key, label, _count in buckets],
            [{"label": _("Open requests"), "data": [count for _key, _label, count in buckets]}],
        )
    template = "_dashboard_figures.html" if request.headers.get("HX-Request") else "home.html"
    return render(request, template, context)


def section(request: HttpRequest, section: str) -> HttpResponse:
    """Landing page of an area whose records have not been created yet."""
    return render(request, f"{section}/home.html", {"section": section})
