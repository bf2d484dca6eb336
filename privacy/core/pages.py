"""Who may open a staff page: said once, on the view, and asked again by every link to it.

``@page_permission(predicate)`` marks a view: it answers ``NotFound`` to a user for whom
``predicate(user)`` is false. ``page_url`` (the ``{% page_url %}`` template tag) gives the
address of a view only to a user its predicate lets in, so a page never offers a link or a
button that leads to a refusal: the link and the view ask the same question.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.urls import resolve, reverse

from privacy.core.access import NotFound, permission_name

PagePredicate = Callable[[AbstractBaseUser | AnonymousUser], bool]


def page_permission(predicate: PagePredicate, *, message: str = ""):
    """Let only users for whom ``predicate(user)`` holds open the decorated view."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not predicate(request.user):
                raise NotFound(message)
            return view(request, *args, **kwargs)

        guarded.page_permission = predicate
        return guarded

    return decorate


def model_permission(model: type[models.Model], action: str) -> PagePredicate:
    """The predicate "holds the ``action`` permission of ``model``" (``view``, ``add``…)."""
    name = permission_name(model, action)

    def holds(user: AbstractBaseUser | AnonymousUser) -> bool:
        return user.has_perm(name)

    return holds


def page_url(user: AbstractBaseUser | AnonymousUser, name: str, *args: Any) -> str:
    """The address of the view named ``name``, or ``""`` when its page permission refuses
    ``user``. A view without one is open to every signed-in member of staff."""
    url = reverse(name, args=args)
    predicate = getattr(resolve(url).func, "page_permission", None)
    if predicate is not None and not predicate(user):
        return ""
    return url
