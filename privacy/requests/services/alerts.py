"""Daily reminders to data stewards of requests overdue or due soon."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext as _

from privacy.core import roles
from privacy.core.services.audit import audit_record
from privacy.models import (
    OPEN_STATUSES,
    DataSubjectRequest,
    Team,
)
from privacy.requests.services.lifecycle import DEFAULT_ALERT_DAYS_BEFORE, local_today

# --- Overdue alerts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertSummary:
    teams: int
    requests: int
    emails: int


def _alert_days() -> int:
    return int(getattr(settings, "PRIVACY_ALERT_DAYS_BEFORE", DEFAULT_ALERT_DAYS_BEFORE))


def _stewards(team: Team) -> list[str]:
    user_model = get_user_model()
    return sorted(
        set(
            user_model.objects.filter(groups=team.group, is_active=True)
            .filter(
                Q(groups__name__in=[roles.DATA_STEWARD, roles.ADMINISTRATOR]) | Q(is_superuser=True)
            )
            .exclude(email="")
            .values_list("email", flat=True)
        )
    )


def requests_overdue_alert(*, today: datetime.date | None = None) -> AlertSummary:
    """Tell each team's data stewards, once a day, about open requests that are overdue or due
    within ``PRIVACY_ALERT_DAYS_BEFORE`` days. The email names request numbers, kinds and due
    dates only. Run by the beat schedule every morning; a second run on the same day sends
    nothing."""
    today = today or local_today()
    horizon = today + datetime.timedelta(days=_alert_days())
    due = (
        DataSubjectRequest.objects.filter(status__in=OPEN_STATUSES, due_on__lte=horizon)
        .filter(Q(last_overdue_alert_on__isnull=True) | Q(last_overdue_alert_on__lt=today))
        .order_by("owner_team_id", "due_on", "pk")
    )
    teams = sorted(set(due.values_list("owner_team_id", flat=True)))
    by_team: dict[int, list[DataSubjectRequest]] = {}
    emails = 0
    for team_id in teams:
        with transaction.atomic():
            # Locked and skipped when locked: two overlapping runs never mail the same request.
            requests = list(
                due.filter(owner_team_id=team_id)
                .select_for_update(skip_locked=True, of=("self",))
                .select_related("owner_team__group")
            )
            if not requests:
                continue
            by_team[team_id] = requests
            team = requests[0].owner_team
            recipients = _stewards(team)
            overdue = [
                subject_request for subject_request in requests if subject_request.due_on < today
            ]
            if recipients:
                send_mail(
                    subject=_("%(count)s privacy requests need an answer soon")
                    % {"count": len(requests)},
                    message=_alert_text(requests, today=today),
                    from_email=None,
                    recipient_list=recipients,
                )
                emails += 1
            DataSubjectRequest.objects.filter(pk__in=[r.pk for r in requests]).update(
                last_overdue_alert_on=today
            )
            audit_record(
                action="request.overdue_alert",
                target=team,
                metadata={
                    "request_ids": [subject_request.pk for subject_request in requests],
                    "overdue": len(overdue),
                    "recipients": len(recipients),
                },
            )
    return AlertSummary(teams=len(by_team), requests=sum(map(len, by_team.values())), emails=emails)


def _alert_text(requests: list[DataSubjectRequest], *, today: datetime.date) -> str:
    lines = [_("These privacy requests are overdue or due soon:"), ""]
    for subject_request in requests:
        state = _("OVERDUE") if subject_request.due_on < today else _("due")
        lines.append(
            f"#{subject_request.pk}  {subject_request.get_kind_display()}  "
            f"{state} {subject_request.due_on.isoformat()}"
        )
    base = getattr(settings, "PUBLIC_BASE_URL", "")
    if base:
        lines += ["", base.rstrip("/") + reverse("request-list")]
    return "\n".join(lines)
