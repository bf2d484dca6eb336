"""Who may open a staff page: said once, on the view, and asked again by every link to it.

``@page_permission(predicate)`` marks a view: it answers ``NotFound`` to a user for whom
``predicate(user)`` is false. ``page_url`` (the ``{% page_url %}`` template tag) gives the
address of a view only to a user its predicate lets in, so a page never offers a link or a
button that leads to a refusal: the link and the view ask the same question.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.urls import resolve, reverse

from privacy.core.access import NotFound, permission_name, scope_queryset
from privacy.core.registry import Registry

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


# --- The page of an object an audit entry names ------------------------------------------------
_object_pages: Registry[tuple[type[models.Model], str]] = Registry("object pages")


def object_page_register(model: type[models.Model], url_name: str) -> None:
    """Say that an object of ``model`` is shown by the view named ``url_name`` (its pk the one
    argument), so the audit log can link the entries about it."""
    _object_pages.register(model._meta.label_lower, (model, url_name))


def object_pages() -> dict[str, tuple[type[models.Model], str]]:
    """A copy of what is registered: ``{object type: (model, url name)}``."""
    return dict(_object_pages)


def object_page_urls(
    user: AbstractBaseUser | AnonymousUser, objects: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """The page of each ``(object type, object id)`` that still exists and that ``user`` may
    open, by that pair: one query per object type, scoped like the page itself."""
    wanted: dict[str, set[int]] = {}
    for object_type, object_id in objects:
        if object_type in _object_pages and str(object_id).isdigit() and int(object_id) < 2**63:
            wanted.setdefault(object_type, set()).add(int(object_id))
    urls = {}
    for object_type, ids in wanted.items():
        model, url_name = _object_pages[object_type]
        if not page_url(user, url_name, next(iter(ids))):
            continue
        rows = scope_queryset(user, model._default_manager.filter(pk__in=ids))
        for pk in rows.values_list("pk", flat=True):
            urls[(object_type, str(pk))] = reverse(url_name, args=[pk])
    return urls
