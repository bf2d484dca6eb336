"""The privacy section's home page (``/privacy/``): a card for each package the user may open.

It sits above the packages, like ``privacy/urls.py``: the core does not know the features.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from privacy.core.pages import page_permission, page_url
from privacy.requests.selectors import request_counts

# The cards of the page, by the name of the page each opens.
CARDS = ("request-list", "notice-list", "audit-list", "retention-list")


def privacy_cards(user: AbstractBaseUser | AnonymousUser) -> dict[str, str]:
    """The address of each card's page the user may open (the pages' own permissions), keyed
    by the page's name with underscores (``request_list``) for the template."""
    return {name.replace("-", "_"): url for name in CARDS if (url := page_url(user, name))}


def can_open_privacy(user: AbstractBaseUser | AnonymousUser) -> bool:
    """The section exists for a user with at least one card to open."""
    return bool(privacy_cards(user))


@page_permission(can_open_privacy)
def privacy_home(request: HttpRequest) -> HttpResponse:
    cards = privacy_cards(request.user)
    return render(
        request,
        "privacy/home.html",
        {
            "cards": cards,
            "request_counts": request_counts(request.user) if "request_list" in cards else None,
        },
    )
