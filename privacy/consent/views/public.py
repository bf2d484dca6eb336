"""The public preference centre, one-click unsubscribe and double opt-in confirmation.

These pages are opened from emails, without signing in: the signed token in the address is
the only authority. A forged, expired or orphaned link gets the same 404 page whether or not
the person exists. Granting and withdrawing are each one button.

CSRF protection is off on purpose: no cookie grants anything here (the token does), mail
clients send the RFC 8058 one-click POST without cookies, and a person whose browser blocks
cookies must still be able to withdraw.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from privacy.consent.forms import PreferenceChangeForm
from privacy.consent.selectors import consent_state, notice_current
from privacy.consent.services.double_opt_in import double_opt_in_confirm
from privacy.consent.services.links import (
    InvalidLink,
    double_opt_in_subject,
    preference_customer,
    preference_token,
)
from privacy.consent.services.preferences import preferences_apply, preferences_unsubscribe
from privacy.consent.services.records import ConsentError
from privacy.core.masking import mask_email
from privacy.core.middleware import client_ip, public_page
from privacy.models import ConsentPurpose, ConsentStatus, PrivacyNotice

_USER_AGENT_LENGTH = 400


def _evidence(request: HttpRequest, form: str) -> dict[str, Any]:
    return {
        "ip_address": client_ip(request),
        "user_agent": request.headers.get("User-Agent", "")[:_USER_AGENT_LENGTH],
        "form": form,
        "language": translation.get_language(),
    }


def _public(response: HttpResponse) -> HttpResponse:
    # The token is a capability: keep these pages out of search engines and referrers.
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


def public_language(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Show the page in the language named by ``?lang=`` and remember the choice in the
    language cookie.

    The staff pages switch language with a POST to ``set_language``, protected against CSRF.
    These pages cannot: they send ``Referrer-Policy: no-referrer`` so the token in their
    address never leaks, and a browser then posts their forms with ``Origin: null``, which
    CSRF protection refuses (and no ``CSRF_TRUSTED_ORIGINS`` entry can name). Choosing a
    language changes nothing but the display, so here it is a GET of the same page: the
    referrer policy stays as strict and staff pages keep their CSRF check.
    """

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        language = request.GET.get("lang", "")
        if language not in dict(settings.LANGUAGES):
            return view(request, *args, **kwargs)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = view(request, *args, **kwargs)
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
        return response

    return wrapper


def _invalid_link(request: HttpRequest) -> HttpResponse:
    return _public(render(request, "privacy/preferences_invalid.html", status=404))


def _page(request: HttpRequest, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    return _public(render(request, "privacy/preferences.html", context, status=status))


def _notice_shown(value: int | None) -> PrivacyNotice | None:
    """The notice version the page showed (its id came back with the form)."""
    if value is None or not 0 < value < 2**63:
        return None
    return PrivacyNotice.objects.filter(pk=value).first()


def _rows(customer) -> list[dict[str, Any]]:
    return [state for state in consent_state(customer) if state["is_active"]]


@public_page
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
@public_language
def preference_centre(request: HttpRequest, token: str) -> HttpResponse:
    """Every purpose and channel with its current state and one button to change it."""
    try:
        customer = preference_customer(token=token)
    except InvalidLink:
        return _invalid_link(request)
    error = ""
    if request.method == "POST":
        form = PreferenceChangeForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            if data["withdraw_all"]:
                changes = {
                    (row["purpose_code"], row["channel"]): ConsentStatus.WITHDRAWN
                    for row in consent_state(customer)
                    if row["is_active"] and row["is_granted"]
                }
            else:
                changes = {(data["purpose"], data["channel"]): data["status"]}
            try:
                preferences_apply(
                    token=token,
                    changes=changes,
                    evidence=_evidence(request, "preference_centre"),
                    notice=_notice_shown(data["notice"]),
                )
            except InvalidLink:
                return _invalid_link(request)
            except ConsentError:
                error = "invalid"
            else:
                url = reverse("consent-preferences", kwargs={"token": token})
                return redirect(f"{url}?saved=1")
        else:
            error = "invalid"
    return _page(
        request,
        {
            "mode": "centre",
            "token": token,
            "masked_email": mask_email(customer.email),
            "rows": _rows(customer),
            "notice": notice_current(translation.get_language()),
            "is_saved": request.method == "GET" and request.GET.get("saved") == "1",
            "has_error": bool(error),
        },
        status=400 if error else 200,
    )


@public_page
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
@public_language
def preference_unsubscribe(request: HttpRequest, token: str, purpose_code: str) -> HttpResponse:
    """GET: a one-button confirmation. POST (the button, or a mail client's RFC 8058
    ``List-Unsubscribe=One-Click``): withdraw the purpose on its channels."""
    try:
        customer = preference_customer(token=token)
    except InvalidLink:
        return _invalid_link(request)
    purpose = ConsentPurpose.objects.filter(code=purpose_code, is_active=True).first()
    if purpose is None:
        return _invalid_link(request)
    context = {"token": token, "purpose": purpose, "masked_email": mask_email(customer.email)}
    if request.method == "POST":
        one_click = request.POST.get("List-Unsubscribe") == "One-Click"
        form = "list_unsubscribe_post" if one_click else "unsubscribe_page"
        try:
            preferences_unsubscribe(
                token=token, purpose_code=purpose.code, evidence=_evidence(request, form)
            )
        except InvalidLink:
            return _invalid_link(request)
        return _page(request, {**context, "mode": "unsubscribed"})
    return _page(request, {**context, "mode": "unsubscribe"})


@public_page
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
@public_language
def double_opt_in_confirmation(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a one-button confirmation (mail scanners that open links grant nothing).
    POST: record the grant with its evidence."""
    try:
        customer, purpose = double_opt_in_subject(token=token)
    except InvalidLink:
        return _invalid_link(request)
    context = {
        "purpose": purpose,
        "masked_email": mask_email(customer.email),
        "confirm_token": token,
    }
    if request.method == "POST":
        try:
            double_opt_in_confirm(
                token=token,
                evidence=_evidence(request, "double_opt_in"),
                notice=_notice_shown(_int_or_none(request.POST.get("notice"))),
            )
        except InvalidLink:
            return _invalid_link(request)
        return _page(request, {**context, "mode": "confirmed", "token": preference_token(customer)})
    return _page(
        request,
        {**context, "mode": "confirm", "notice": notice_current(translation.get_language())},
    )


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None
