"""The privacy section's home page (``/privacy/``): a card for each package the user may open.

It sits above the packages, like ``privacy/urls.py``: the core does not know the features.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from privacy.requests.selectors import request_counts


def privacy_home(request: HttpRequest) -> HttpResponse:
    can_handle_requests = request.user.has_perm("privacy.view_datasubjectrequest")
    return render(
        request,
        "privacy/home.html",
        {"request_counts": request_counts(request.user) if can_handle_requests else None},
    )
