"""The customer list's tools: the columns shown, saved views, and actions on the selected.

Each parses the posted form, calls one service and goes back to the list it came from (the
list's address query is posted along: a search's opaque key or non-personal filters).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from customers.models import Customer
from customers.selectors import customers_for_user, list_views_for_user
from customers.services.bulk import (
    MAX_SELECTION,
    BulkActionError,
    bulk_actions,
    customers_tag,
    customers_untag,
)
from customers.services.list_views import (
    ListViewError,
    list_columns_clean,
    list_view_delete,
    list_view_save,
)
from customers.views.customers import (
    COLUMNS_SESSION_KEY,
    SEARCHES_SESSION_KEY,
    list_columns,
    selection_remember,
)
from privacy.core.access import NotFound, can_export_personal_data, permission_name

# The list's own parameters that may travel back to it (no search term: searches are posted).
_BACK_PARAMETERS = frozenset(
    {"search", "page", "country", "tag", "source", "team", "rfm_group", "empty", "invalid", "sort"}
)


def _back_query(request: HttpRequest) -> list[tuple[str, str]]:
    return [
        (name, value)
        for name, value in parse_qsl(request.POST.get("query", ""))
        if name in _BACK_PARAMETERS or name.startswith("attributes.")
    ]


def _back(request: HttpRequest) -> HttpResponse:
    query = urlencode(_back_query(request))
    return redirect(f"{reverse('customers-home')}?{query}" if query else reverse("customers-home"))


@require_POST
def customer_list_columns(request: HttpRequest) -> HttpResponse:
    """Keep the chosen columns in the session."""
    request.session[COLUMNS_SESSION_KEY] = list_columns_clean(request.POST.getlist("column"))
    return _back(request)


@require_POST
def customer_list_view_save(request: HttpRequest) -> HttpResponse:
    """Save the list's current filters (never its search term) and columns under a name."""
    params = dict(_back_query(request))
    filters = request.session.get(SEARCHES_SESSION_KEY, {}).get(params.get("search", ""), params)
    try:
        view = list_view_save(
            actor=request.user,
            name=request.POST.get("name", ""),
            filters=filters,
            columns=list_columns(request),
        )
    except ListViewError as error:
        messages.error(request, error.reason)
        return _back(request)
    messages.success(request, _("The view “%(name)s” was saved.") % {"name": view.name})
    return redirect(f"{reverse('customers-home')}?{urlencode({'view': view.pk})}")


@require_POST
def customer_list_view_delete(request: HttpRequest) -> HttpResponse:
    pk = request.POST.get("view", "")
    view = list_views_for_user(request.user).filter(pk=int(pk)).first() if pk.isdigit() else None
    if view is None:
        messages.error(request, _("There is no such saved view of yours."))
    else:
        list_view_delete(actor=request.user, view=view)
        messages.success(request, _("The view “%(name)s” was deleted.") % {"name": view.name})
    return _back(request)


def _selected(request: HttpRequest) -> list[int]:
    values = request.POST.getlist("customer")
    return sorted({int(value) for value in values if value.isdigit() and len(value) < 19})


@require_POST
def customer_bulk(request: HttpRequest) -> HttpResponse:
    """Tag, untag or export the customers ticked in the list (or run an action a higher app
    registered). Customers the user may not change are left alone; none is named."""
    action = request.POST.get("action", "")
    extra = bulk_actions().get(action)
    ids = _selected(request)
    if action not in {"tag", "untag", "export"} and extra is None:
        messages.error(request, _("Choose an action."))
        return _back(request)
    if not ids:
        messages.error(request, _("Select at least one customer."))
        return _back(request)
    if len(ids) > MAX_SELECTION:
        messages.error(request, _("Select at most %(count)s customers.") % {"count": MAX_SELECTION})
        return _back(request)
    if action == "export":
        if not can_export_personal_data(request.user):
            raise NotFound
        key = selection_remember(request, ids)
        return redirect(f"{reverse('customer-export')}?{urlencode({'selection': key})}")
    if not request.user.has_perm(permission_name(Customer, "change")):
        raise NotFound
    customers = customers_for_user(request.user, action="change").filter(pk__in=ids)
    value = request.POST.get("tag", "")
    try:
        if extra is not None:
            count = extra.run(actor=request.user, customers=customers, value=value)
        elif action == "tag":
            count = customers_tag(actor=request.user, customers=customers, tag=value)
        else:
            count = customers_untag(actor=request.user, customers=customers, tag=value)
    except BulkActionError as error:
        messages.error(request, _(error.reason))
        return _back(request)
    messages.success(
        request,
        ngettext("%(count)s customer was changed.", "%(count)s customers were changed.", count)
        % {"count": count},
    )
    return _back(request)
