"""Staff UI: sign-in with password and TOTP, re-authentication, enrolment, preferences, and the
audit page with its export.
"""

from __future__ import annotations

import base64
import io
import json
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth import get_user_model, logout
from django.contrib.auth import views as auth_views
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from django_otp import login as otp_login
from django_otp import match_token

from privacy.core import labels
from privacy.core.access import can_export_personal_data, permission_name
from privacy.core.exports import csv_lines, csv_response
from privacy.core.filters import AuditPageFilter
from privacy.core.forms import PreferencesForm, ReauthForm, TokenForm
from privacy.core.middleware import public_page
from privacy.core.pages import object_page_urls, page_permission
from privacy.core.reauth import (
    reauth_confirm,
    reauth_is_locked,
    reauth_is_recent,
    reauth_kept_summary,
    reauth_redirect,
    reauth_stamp,
)
from privacy.core.selectors import audit_entries_for_user, user_has_confirmed_device
from privacy.core.services.audit import audit_record
from privacy.core.services.sign_in import totp_device_confirm, totp_device_start
from privacy.core.services.staff import staff_profile_update
from privacy.models import AuditEntry

EXPORT_CHUNK_SIZE = 2000


def _safe_next(request: HttpRequest, default: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or default
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _redirect_keeping_next(request: HttpRequest, url_name: str) -> HttpResponse:
    return redirect(f"{reverse(url_name)}?{urlencode({'next': _safe_next(request)})}")


@public_page
class LoginView(auth_views.LoginView):
    """First factor. A correct password leads to the TOTP step (or to enrolment)."""

    template_name = "accounts/login.html"

    def form_valid(self, form):
        with transaction.atomic():
            super().form_valid(form)
            audit_record(action="auth.password_ok", actor=form.get_user())
        return _redirect_keeping_next(
            self.request,
            "mfa-verify" if user_has_confirmed_device(form.get_user()) else "mfa-setup",
        )

    def form_invalid(self, form):
        audit_record(action="auth.login_failed")
        return super().form_invalid(form)


@require_http_methods(["GET", "POST"])
def mfa_verify(request: HttpRequest) -> HttpResponse:
    """Second factor: a TOTP code from a confirmed device."""
    if not user_has_confirmed_device(request.user):
        return _redirect_keeping_next(request, "mfa-setup")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(request.user, form.cleaned_data["token"])
        if device is not None:
            otp_login(request, device)
            reauth_stamp(request)
            audit_record(action="auth.mfa_ok", actor=request.user)
            return redirect(_safe_next(request))
        audit_record(action="auth.mfa_failed", actor=request.user)
        form.add_error(None, _("That code did not work. Wait for a new code and try again."))
    return render(request, "accounts/mfa_verify.html", {"form": form, "next": _safe_next(request)})


def _qr_svg(data: str) -> str:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


@require_http_methods(["GET", "POST"])
def mfa_setup(request: HttpRequest) -> HttpResponse:
    """Enrol an authenticator app: scan the code, type one code back to confirm."""
    # Someone who already has a device must prove it before adding another.
    if user_has_confirmed_device(request.user) and not request.user.is_verified():
        return _redirect_keeping_next(request, "mfa-verify")
    device = totp_device_start(user=request.user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if totp_device_confirm(device=device, token=form.cleaned_data["token"]):
            device.refresh_from_db()
            otp_login(request, device)
            reauth_stamp(request)
            messages.success(request, _("Your authenticator app is set up."))
            return redirect(_safe_next(request))
        form.add_error(None, _("That code did not work. Check the app's clock and try again."))
    secret = base64.b32encode(device.bin_key).decode()
    return render(
        request,
        "accounts/mfa_setup.html",
        {
            "form": form,
            "qr_svg": _qr_svg(device.config_url),
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "next": _safe_next(request),
        },
    )


@require_http_methods(["POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        audit_record(action="auth.logout", actor=request.user)
    logout(request)
    messages.info(request, _("You are signed out."))
    return redirect("login")


@require_http_methods(["GET", "POST"])
def reauth(request: HttpRequest) -> HttpResponse:
    """The password and a current code again, before an export or an erasure (privacy.core.reauth).

    Success leads on to ``next``; too many failures sign the user out.
    """
    form = ReauthForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if reauth_confirm(request, password=data["password"], token=data["token"]):
            return redirect(_safe_next(request))
        if reauth_is_locked(request):
            audit_record(action="auth.reauth_locked", actor=request.user)
            logout(request)
            messages.error(
                request, _("You were signed out after too many failed attempts. Sign in again.")
            )
            return redirect("login")
        form.add_error(None, _("The password or the code did not work. Check both and try again."))
    next_url = _safe_next(request)
    return render(
        request,
        "accounts/reauth.html",
        # A kept POST says what confirming will do: this page is that step's one confirmation.
        {"form": form, "next": next_url, "pending": reauth_kept_summary(request, next_url)},
    )


@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    profile = getattr(request.user, "staff_profile", None)
    initial = {"time_zone": profile.time_zone if profile else "UTC"}
    form = PreferencesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        staff_profile_update(user=request.user, time_zone=form.cleaned_data["time_zone"])
        messages.success(request, _("Preferences saved."))
        return redirect("preferences")
    return render(request, "accounts/preferences.html", {"form": form})


def can_read_audit(user) -> bool:
    return user.has_perm(permission_name(AuditEntry, "view"))


def _can_export_audit(user) -> bool:
    # The log holds staff names and addresses: reading it is not enough to take a copy away.
    return can_read_audit(user) and can_export_personal_data(user)


def _named(kind: str) -> list[tuple[str, str]]:
    """The registered codes of ``kind`` with their names, in the order of their names."""
    named = [(code, labels.label(kind, code)) for code in labels.labels(kind)]
    return sorted(named, key=lambda pair: pair[1])


@page_permission(can_read_audit)
def audit_list(request: HttpRequest) -> HttpResponse:
    """Filterable audit log for data stewards and administrators."""
    filterset = AuditPageFilter(request.GET or None, queryset=audit_entries_for_user(request.user))
    entries = filterset.qs if filterset.is_bound and filterset.is_valid() else filterset.queryset
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    object_urls = object_page_urls(
        request.user, [(entry.object_type, entry.object_id) for entry in page.object_list]
    )
    for entry in page.object_list:
        entry.object_url = object_urls.get((entry.object_type, entry.object_id), "")
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "privacy/audit_list.html",
        {
            "filter": filterset,
            "page": page,
            "query": query.urlencode(),
            "can_export": _can_export_audit(request.user),
            "time_zone": timezone.get_current_timezone_name(),
            "action_names": _named(labels.AUDIT_ACTION),
            "object_type_names": _named(labels.OBJECT_TYPE),
        },
    )


AUDIT_EXPORT_COLUMNS = (
    "time",
    "actor",
    "action",
    "object_type",
    "object_id",
    "ip_address",
    "request_id",
    "details",
)
_AUDIT_EXPORT_FIELDS = (
    "occurred_at",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "ip_address",
    "request_id",
    "metadata",
)


def _audit_filters_for_log(filterset: AuditPageFilter) -> dict[str, object]:
    """The filters of an export, for its audit entry.

    Values, except a staff member's name: that becomes the account's id (None when no account
    has that name), as audit metadata holds ids, never names.
    """
    if not filterset.is_bound:
        return {}
    filters: dict[str, object] = {}
    for name, value in filterset.form.cleaned_data.items():
        if value in (None, ""):
            continue
        if name == "actor":
            user_model = get_user_model()
            lookup = {f"{user_model.USERNAME_FIELD}__iexact": value}
            filters["actor_id"] = (
                user_model._default_manager.filter(**lookup).values_list("pk", flat=True).first()
            )
        else:
            filters[name] = value.isoformat() if hasattr(value, "isoformat") else value
    return filters


@require_GET
@page_permission(_can_export_audit)
def audit_export(request: HttpRequest) -> HttpResponse:
    """The filtered audit list as CSV: streamed, formula-safe, audited before it starts.

    Needs the audit log's view permission, ``privacy.export_personal_data`` and a recent
    re-authentication (asked for after the permission check, so nobody is asked in vain).
    """
    if not reauth_is_recent(request):
        return reauth_redirect(request)
    filterset = AuditPageFilter(request.GET or None, queryset=audit_entries_for_user(request.user))
    if filterset.is_bound and not filterset.is_valid():
        messages.error(request, _("Correct the filters before exporting."))
        return redirect(f"{reverse('audit-list')}?{request.GET.urlencode()}")
    entries = filterset.qs if filterset.is_bound else filterset.queryset
    # Audit first: a download the client abandons half-way was still a disclosure.
    entry = audit_record(
        action="audit.export",
        actor=request.user,
        object_type=AuditEntry._meta.label_lower,
        metadata={
            "row_count": entries.order_by().count(),
            "filters": _audit_filters_for_log(filterset),
        },
    )
    rows = (
        entries.exclude(pk=entry.pk)
        .select_related(None)
        .values_list(*_AUDIT_EXPORT_FIELDS)
        .iterator(chunk_size=EXPORT_CHUNK_SIZE)
    )
    lines = csv_lines(
        AUDIT_EXPORT_COLUMNS,
        (
            [
                occurred_at.isoformat(),
                *middle,
                json.dumps(metadata, sort_keys=True, ensure_ascii=False),
            ]
            for occurred_at, *middle, metadata in rows
        ),
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return csv_response(lines, filename=f"audit-log-{stamp}.csv")
