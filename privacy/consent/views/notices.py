"""Staff UI: the versions of the privacy notice, and publishing a new one."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from privacy.consent.forms import NoticeForm
from privacy.consent.services.notices import notice_publish
from privacy.consent.services.records import ConsentError
from privacy.core.access import NotFound, permission_name, teams_for_user
from privacy.core.pages import model_permission, page_permission
from privacy.models import ConsentEvent, PrivacyNotice


def _require(request: HttpRequest, action: str) -> None:
    if not request.user.has_perm(permission_name(PrivacyNotice, action)):
        raise NotFound


@require_http_methods(["GET", "POST"])
@page_permission(model_permission(PrivacyNotice, "view"))
def notice_list(request: HttpRequest) -> HttpResponse:
    """Every published version, newest first, with how many consent events cite it."""
    can_publish = request.user.has_perm(permission_name(PrivacyNotice, "add"))
    form = NoticeForm(request.POST or None)
    if request.method == "POST":
        _require(request, "add")
        if form.is_valid():
            try:
                notice = notice_publish(actor=request.user, **form.cleaned_data)
            except ConsentError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                messages.success(
                    request,
                    _("Version %(version)s (%(language)s) is published.")
                    % {"version": notice.version, "language": notice.language},
                )
                return redirect("notice-detail", pk=notice.pk)
    # How often each version was shown with a consent change, in the user's teams only.
    citations = (
        ConsentEvent.objects.filter(
            notice=OuterRef("pk"), owner_team__in=teams_for_user(request.user)
        )
        .values("notice")
        .annotate(count=Count("pk"))
        .values("count")
    )
    notices = PrivacyNotice.objects.annotate(citations=Coalesce(Subquery(citations), 0)).order_by(
        "-published_at", "-id"
    )
    return render(
        request,
        "privacy/notices.html",
        {"notices": notices, "form": form, "can_publish": can_publish},
    )


@require_http_methods(["GET"])
def notice_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "view")
    notice = PrivacyNotice.objects.filter(pk=pk).first()
    if notice is None:
        raise NotFound
    return render(request, "privacy/notice_detail.html", {"notice": notice})
