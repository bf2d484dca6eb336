"""Staff UI: sign-in with password and TOTP, enrolment, preferences, the audit page."""

from __future__ import annotations

import base64
import io
from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import match_token

from privacy.access import NotFound, permission_name
from privacy.filters import AuditEntryFilter
from privacy.forms import PreferencesForm, TokenForm
from privacy.models import AuditEntry
from privacy.selectors import audit_entries_for_user, user_has_confirmed_device
from privacy.services import (
    audit_record,
    staff_profile_update,
    totp_device_confirm,
    totp_device_start,
)


def _safe_next(request: HttpRequest, default: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or default
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _redirect_keeping_next(request: HttpRequest, url_name: str) -> HttpResponse:
    return redirect(f"{reverse(url_name)}?{urlencode({'next': _safe_next(request)})}")


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
def preferences(request: HttpRequest) -> HttpResponse:
    profile = getattr(request.user, "staff_profile", None)
    initial = {"time_zone": profile.time_zone if profile else "UTC"}
    form = PreferencesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        staff_profile_update(user=request.user, time_zone=form.cleaned_data["time_zone"])
        messages.success(request, _("Preferences saved."))
        return redirect("preferences")
    return render(request, "accounts/preferences.html", {"form": form})


def audit_list(request: HttpRequest) -> HttpResponse:
    """Filterable audit log for data stewards and administrators."""
    if not request.user.has_perm(permission_name(AuditEntry, "view")):
        raise NotFound
    filterset = AuditEntryFilter(request.GET or None, queryset=audit_entries_for_user(request.user))
    entries = filterset.qs if filterset.is_bound and filterset.is_valid() else filterset.queryset
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "privacy/audit_list.html",
        {"filter": filterset, "page": page, "query": query.urlencode()},
    )


def privacy_home(request: HttpRequest) -> HttpResponse:
    return render(request, "privacy/home.html")
