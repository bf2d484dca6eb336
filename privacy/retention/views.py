"""Staff UI of retention: the policies, their edit form, the dry run and "Run now".

Data stewards see the page (``privacy.view_retentionpolicy``); changing a policy and starting a
purge need ``privacy.change_retentionpolicy``. Anyone else gets the same 404 as for a page that
does not exist. Every action goes through ``privacy.retention.services``.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from privacy.core.access import NotFound, permission_name
from privacy.core.pages import model_permission, page_permission
from privacy.core.reauth import reauth_is_recent, reauth_redirect
from privacy.models import RetentionCategory, RetentionPolicy
from privacy.retention.forms import RetentionPolicyForm, RetentionRunForm
from privacy.retention.selectors import retention_policies_list, retention_policy_get
from privacy.retention.services import (
    retention_policy_update,
    retention_preview,
    retention_purge_enqueue,
)


def _require(request: HttpRequest, action: str) -> None:
    if not request.user.has_perm(permission_name(RetentionPolicy, action)):
        raise NotFound


@require_GET
@page_permission(model_permission(RetentionPolicy, "view"))
def retention_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "privacy/retention_list.html",
        {
            "policies": retention_policies_list(),
            "can_change": request.user.has_perm(permission_name(RetentionPolicy, "change")),
        },
    )


@require_http_methods(["GET", "POST"])
def retention_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "change")
    policy = retention_policy_get(pk=pk)
    if request.method == "POST" and not reauth_is_recent(request):
        # A shorter period can erase many customers at the next purge: prove it is you.
        return reauth_redirect(request)
    initial = {"retain_days": policy.retain_days, "is_active": policy.is_active}
    form = RetentionPolicyForm(request.POST or None, initial=initial, category=policy.category)
    if request.method == "POST" and form.is_valid():
        retention_policy_update(
            policy=policy,
            retain_days=form.cleaned_data["retain_days"],
            is_active=form.cleaned_data["is_active"],
            actor=request.user,
        )
        messages.success(
            request,
            _("Retention of “%(category)s” saved.") % {"category": policy.get_category_display()},
        )
        return redirect("retention-list")
    return render(request, "privacy/retention_edit.html", {"policy": policy, "form": form})


@require_GET
def retention_preview_page(request: HttpRequest) -> HttpResponse:
    """The dry run: what each active policy would remove now. Audited; changes no data."""
    _require(request, "view")
    return render(
        request,
        "privacy/retention_preview.html",
        {
            "previews": retention_preview(actor=request.user),
            "can_change": request.user.has_perm(permission_name(RetentionPolicy, "change")),
        },
    )


@require_POST
def retention_run(request: HttpRequest) -> HttpResponse:
    _require(request, "change")
    if not reauth_is_recent(request):
        # Back to the dry run, to see what the purge would remove before confirming it.
        return reauth_redirect(request, reverse("retention-preview"))
    form = RetentionRunForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a category to purge, or none for all."))
        return redirect("retention-list")
    category = form.cleaned_data["category"] or None
    retention_purge_enqueue(category=category, actor=request.user)
    if category is None:
        messages.success(
            request,
            _("Purge queued for every active policy; its counts show under “Last run” when done."),
        )
    else:
        messages.success(
            request,
            _("Purge of “%(category)s” queued; its counts show under “Last run” when done.")
            % {"category": RetentionCategory(category).label},
        )
    return redirect("retention-list")
