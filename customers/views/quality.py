"""The data-quality page: today's figures per team and field, trends from the snapshots."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from customers.quality.models import DataQualitySnapshot
from customers.quality.rules import QUALITY_FIELDS
from customers.quality.selectors import (
    TeamFigures,
    quality_figures_for_user,
    quality_history_for_user,
    share,
)
from privacy.core.pages import model_permission, page_permission

_SHARES = ("completeness", "validity", "uniqueness", "consent_coverage")


def _list_url(team_id: int, **filters: str) -> str:
    return f"{reverse('customers-home')}?{urlencode({'team': team_id, **filters})}"


def _team_rows(team: TeamFigures) -> dict[str, Any]:
    fields = []
    for measured in QUALITY_FIELDS:
        counts = team.fields[measured.key]
        filled, valid = counts["filled"], counts["valid"]
        fields.append(
            {
                "key": measured.key,
                "label": measured.label,
                "is_checked": measured.validity is not None,
                "filled": filled,
                "empty": team.customer_count - filled,
                "completeness": _percent(share(filled, team.customer_count)),
                "validity": None if valid is None else _percent(share(valid, filled)),
                "invalid": None if valid is None else filled - valid,
                "empty_url": _list_url(team.team_id, empty=measured.key),
                "invalid_url": _list_url(team.team_id, invalid=measured.key),
            }
        )
    return {
        "team": team,
        "fields": fields,
        "uniqueness": _percent(
            share(team.customer_count - team.duplicate_count, team.customer_count)
        ),
        "consent_coverage": _percent(share(team.consented_count, team.customer_count)),
        "freshness_days": (
            None if team.average_age_days is None else round(team.average_age_days, 1)
        ),
    }


def _percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def _history_chart(history: list[dict[str, Any]]) -> dict[str, Any]:
    """A line per measure: four shares in percent, and freshness in days on its own axis."""
    measures = (
        ("completeness", _("Completeness")),
        ("validity", _("Validity")),
        ("uniqueness", _("Uniqueness")),
        ("consent_coverage", _("Consent coverage")),
    )
    datasets = [
        {"label": label, "data": [point[key] for point in history], "axis": "percent"}
        for key, label in measures
    ]
    datasets.append(
        {
            "label": _("Freshness (mean days since last update)"),
            "data": [point["freshness_days"] for point in history],
            "axis": "days",
        }
    )
    return {
        "kind": "line",
        "labels": [date_format(point["day"], "SHORT_DATE_FORMAT") for point in history],
        "datasets": datasets,
    }


@require_GET
@page_permission(model_permission(DataQualitySnapshot, "view"))
def data_quality(request: HttpRequest) -> HttpResponse:
    """Completeness, validity, uniqueness, freshness and consent coverage of the user's teams,
    each figure leading to the customers behind it; trends from the nightly snapshots."""
    history = [
        {
            **point,
            **{key: _percent(point[key]) for key in _SHARES},
        }
        for point in quality_history_for_user(request.user)
    ]
    return render(
        request,
        "customers/data_quality.html",
        {
            "teams": [_team_rows(team) for team in quality_figures_for_user(request.user)],
            "history": history,
            "history_chart": _history_chart(history),
        },
    )
