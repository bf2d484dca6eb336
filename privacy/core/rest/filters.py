"""Strict list filters: a list endpoint refuses a query parameter it does not know.

django-filter ignores parameters that are none of the filterset's, so ``?external_id=42`` or a
misspelt ``?contry=DE`` would answer the whole list with a 200, as if it had filtered. Every list
of ``ScopedViewSetMixin`` checks its query string here first: each unknown parameter is a 400
naming it.

Known are the filterset's filters (with the suffixes of range widgets, ``created_after``), the
paginator's parameters (``cursor``, ``page``, ``page_size``...), ``ordering``, DRF's ``format``,
and any parameter starting with one of the filterset's ``dynamic_param_prefixes``
(``privacy.core.filters.FilterSet``).
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.settings import api_settings

_PAGINATION_PARAMETERS = (
    "page_query_param",
    "page_size_query_param",
    "cursor_query_param",
    "limit_query_param",
    "offset_query_param",
)


def _filterset_class(view):
    for backend in view.filter_backends:
        get_class = getattr(backend(), "get_filterset_class", None)
        if get_class is not None:
            filterset_class = get_class(view, view.served_model()._default_manager.none())
            if filterset_class is not None:
                return filterset_class
    return None


def _filter_names(filterset_class) -> set[str]:
    names = set()
    for name, filter_ in filterset_class.base_filters.items():
        suffixes = getattr(filter_.field_class.widget, "suffixes", None)
        widget = filter_.extra.get("widget")
        suffixes = getattr(widget, "suffixes", suffixes)
        if suffixes:
            names.update(f"{name}_{suffix}" if suffix else name for suffix in suffixes)
        else:
            names.add(name)
    return names


def known_query_parameters(view) -> tuple[set[str], tuple[str, ...], dict[str, str]]:
    """The names a list accepts, the prefixes of dynamic names, and the moved names' messages."""
    names = {"ordering", api_settings.URL_FORMAT_OVERRIDE}
    paginator = view.paginator
    names.update(
        value
        for value in (getattr(paginator, attribute, None) for attribute in _PAGINATION_PARAMETERS)
        if value
    )
    filterset_class = _filterset_class(view)
    if filterset_class is None:
        return names, (), {}
    names |= _filter_names(filterset_class)
    prefixes = tuple(getattr(filterset_class, "dynamic_param_prefixes", ()))
    moved = dict(getattr(filterset_class, "moved_params", {}))
    return names, prefixes, moved


def unknown_query_check(view, request) -> None:
    """A 400 naming every query parameter the list does not know."""
    names, prefixes, moved = known_query_parameters(view)
    errors = {}
    for parameter in request.query_params:
        if parameter in moved:
            errors[parameter] = [str(moved[parameter])]
        elif parameter not in names and not parameter.startswith(prefixes):
            errors[parameter] = [_("Unknown query parameter.")]
    if errors:
        raise exceptions.ValidationError(errors)
