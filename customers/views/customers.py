"""Customer list, CSV export, 360-degree profile, edit, merge and the duplicates queue.

Views parse input, fetch objects through the access layer (missing and forbidden both 404) and
call one service. Contact details are masked unless the user may view personal data
(``customers.masking``); the export's lines come from ``customers.services.csv_exports``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from customers.filters import CustomerFilter
from customers.forms import (
    CUSTOM_FIELD_PREFIX,
    CustomerEditForm,
    CustomerMergeForm,
    CustomerSearchForm,
    TimelineCursorForm,
)
from customers.masking import contact_for, identity_value
from customers.models import (
    Customer,
    MergeRecord,
)
from customers.selectors import (
    SEARCH_FIELDS,
    SearchError,
    customer_pick_lists,
    customer_timeline,
    customers_for_user,
    customers_search,
    list_views_for_user,
    team_currencies,
    teams_by_name,
)
from customers.services.bulk import bulk_actions
from customers.services.csv_exports import customers_csv_export
from customers.services.custom_fields import customer_custom_values
from customers.services.customers import InvalidChanges, customer_update
from customers.services.list_views import LIST_COLUMNS, list_columns_clean
from customers.services.merge import customer_merge, customer_merge_undo
from privacy.consent.selectors import consent_history, consent_state
from privacy.core.access import (
    NotFound,
    can_export_personal_data,
    can_view_personal_data,
    get_for_user,
    permission_name,
    scope_queryset,
)
from privacy.core.exports import csv_response
from privacy.core.reauth import reauth_required
from privacy.core.refusals import OUT_OF_SCOPE, PERMISSION, access_denied_record
from privacy.core.services.audit import audit_record, personal_data_view_record
from privacy.erasure.services.erasure import subject_erase

PAGE_SIZE = 50
# Lists count at most this many rows: the count stays one cheap query on a huge table.
COUNT_LIMIT = 10_000
# Deep offsets are slow and a huge page number would overflow the OFFSET; search instead.
MAX_PAGE = 10_000
TIMELINE_PAGE_SIZE = 50


# --- Presentation helpers ---------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """One page of a list, fetched as ``PAGE_SIZE + 1`` rows, with a count capped for speed."""

    rows: list
    number: int
    has_previous: bool
    has_next: bool
    total: int
    is_total_capped: bool

    @property
    def start_index(self) -> int:
        return (self.number - 1) * PAGE_SIZE + 1 if self.rows else 0

    @property
    def end_index(self) -> int:
        return (self.number - 1) * PAGE_SIZE + len(self.rows)

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1


def page_window(queryset: QuerySet, page: str | None) -> Window:
    """Two queries whatever the table size: the page's rows and a count capped at COUNT_LIMIT."""
    try:
        number = min(max(1, int(page or 1)), MAX_PAGE)
    except ValueError:
        number = 1
    offset = (number - 1) * PAGE_SIZE
    rows = list(queryset[offset : offset + PAGE_SIZE + 1])
    total = queryset.order_by().values("pk")[: COUNT_LIMIT + 1].count()
    return Window(
        rows=rows[:PAGE_SIZE],
        number=number,
        has_previous=number > 1,
        has_next=len(rows) > PAGE_SIZE,
        total=min(total, COUNT_LIMIT),
        is_total_capped=total > COUNT_LIMIT,
    )


def query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


# The searches of a session, each under an opaque key: pages and the export of a search carry
# the key in their address, never the email, phone or name searched for.
SEARCHES_SESSION_KEY = "customer_searches"
SEARCHES_KEPT = 10


def _search_remember(request: HttpRequest) -> tuple[dict[str, str], str]:
    """The posted search form's values, kept in the session under a new opaque key."""
    data = {name: request.POST.get(name, "") for name in CustomerSearchForm.base_fields}
    data.update(_attribute_params(request.POST))
    key = secrets.token_urlsafe(12)
    searches = dict(request.session.get(SEARCHES_SESSION_KEY, {}))
    searches[key] = data
    request.session[SEARCHES_SESSION_KEY] = dict(list(searches.items())[-SEARCHES_KEPT:])
    return data, key


def search_data(request: HttpRequest) -> tuple[dict[str, str] | None, str]:
    """The list's filters and their opaque key: posted, kept under ``?search=``, or the query
    string's filters (never its ``q``: a search is posted). ``None`` when nothing is filtered."""
    if request.method == "POST":
        return _search_remember(request)
    key = request.GET.get("search", "")
    kept = request.session.get(SEARCHES_SESSION_KEY, {}).get(key)
    if kept is not None:
        return kept, key
    data = {
        name: request.GET[name]
        for name in CustomerSearchForm.base_fields
        if name != "q" and name in request.GET
    }
    data.update(_attribute_params(request.GET))
    return data or None, ""


# The columns the user chose for the list (``customers.services.list_views.LIST_COLUMNS``);
# opening a saved view puts its columns here.
COLUMNS_SESSION_KEY = "customer_list_columns"
# Customers selected for an export, each selection under an opaque key, as searches are.
SELECTIONS_SESSION_KEY = "customer_selections"


def list_columns(request: HttpRequest) -> list[str]:
    return list_columns_clean(request.session.get(COLUMNS_SESSION_KEY, ()))


def selection_remember(request: HttpRequest, ids: list[int]) -> str:
    key = secrets.token_urlsafe(12)
    selections = dict(request.session.get(SELECTIONS_SESSION_KEY, {}))
    selections[key] = ids
    request.session[SELECTIONS_SESSION_KEY] = dict(list(selections.items())[-SEARCHES_KEPT:])
    return key


def _attribute_params(params) -> dict[str, str]:
    """The custom-field filters (``attributes.<key>[__lookup]``) among ``params``; the filter
    checks their keys against the team's definitions."""
    return {
        name: value for name, value in params.items() if name.startswith("attributes.") and value
    }


def list_query(request: HttpRequest, key: str) -> str:
    """The address query of the list's other pages and its export: the search's key, or the
    query string's filters without the page."""
    if key:
        return urlencode({"search": key})
    query = request.GET.copy()
    for name in ("page", "q", "search"):
        query.pop(name, None)
    return query.urlencode()


def _list_address(request: HttpRequest, key: str) -> str:
    query = list_query(request, key)
    return f"{reverse('customers-home')}?{query}" if query else reverse("customers-home")


def filtered_customers(
    user: AbstractBaseUser, form: CustomerSearchForm
) -> tuple[QuerySet[Customer], list[str]]:
    """The customers the form selects, in its order, and the names of the filters used.

    Errors (a malformed email in the search box) are put on the form and select nobody.
    """
    customers = customers_for_user(user)
    if not form.is_bound:
        return customers.order_by(*form.sort_order()), []
    if not form.is_valid():
        return customers.none(), []
    data = form.filter_data()
    terms = form.search_terms()
    data.update(_attribute_params(form.data))
    filterset = CustomerFilter(data, queryset=customers, user=user)
    try:
        if not filterset.is_valid():
            for errors in filterset.errors.values():
                for message in errors:
                    form.add_error(None, message)
            return customers.none(), []
        customers = customers_search(filterset.qs, country=data.get("country", ""), **terms)
    except SearchError as error:
        form.add_error("q", _(error.reason))
        return customers.none(), []
    except ValidationError as error:
        # A custom-field filter the user's teams do not define, or a value of the wrong type.
        for reasons in error.message_dict.values():
            for reason in reasons:
                form.add_error(None, reason)
        return customers.none(), []
    return customers.order_by(*form.sort_order()), sorted([*data, *terms])


# --- Customer list and export -----------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def customer_list(request: HttpRequest) -> HttpResponse:
    """Searchable, filterable list of the customers the user may see, 50 a page.

    The search form is posted (the search box holds an email, a phone or a name); the other
    pages and the export name the search by an opaque key kept in the session.
    """
    unmasked = can_view_personal_data(request.user)
    view = _saved_view(request)
    if view is not None:
        # A saved view is its filters (never personal data) in the address and its columns.
        request.session[COLUMNS_SESSION_KEY] = view.columns
        query = urlencode(view.filters)
        return redirect(f"{reverse('customers-home')}?{query}" if query else "customers-home")
    data, key = search_data(request)
    pick_lists = customer_pick_lists(customers_for_user(request.user))
    form = CustomerSearchForm(data, teams=teams_by_name(request.user), pick_lists=pick_lists)
    customers, filter_names = filtered_customers(request.user, form)
    page = None if request.method == "POST" else request.GET.get("page")
    window = page_window(customers, page)
    terms = sorted(set(filter_names) & set(SEARCH_FIELDS))
    if terms:
        # A look-up of a person, audited as the API's search is: the terms, never their values.
        audit_record(
            action="customer.search",
            actor=request.user,
            object_type="customers.customer",
            metadata={"terms": terms, "customer_ids": [customer.pk for customer in window.rows]},
        )
    personal_data_view_record(actor=request.user, model=Customer, objects=window.rows)
    currencies = team_currencies(customer.owner_team_id for customer in window.rows)
    for customer in window.rows:
        # Total spend is summed in the team's currency (customers.services.enrichment).
        customer.spend_currency = currencies.get(customer.owner_team_id, "")
    rows = [
        (customer, contact_for(customer, can_view_personal_data=unmasked))
        for customer in window.rows
    ]
    query = list_query(request, key)
    show_team = len(form.teams) > 1
    columns = [column for column in list_columns(request) if column != "team" or show_team]
    return render(
        request,
        "customers/home.html",
        {
            "form": form,
            "window": window,
            "rows": rows,
            "is_filtered": bool(filter_names) or bool(form.errors),
            "query": query,
            "export_query": query,
            "can_export": can_export_personal_data(request.user),
            "show_team": show_team,
            "columns": columns,
            "column_choices": [
                (column, label)
                for column, label in LIST_COLUMNS.items()
                if column != "team" or show_team
            ],
            "saved_views": list_views_for_user(request.user),
            "extra_bulk_actions": bulk_actions(),
            "can_change": request.user.has_perm(permission_name(Customer, "change")),
        },
    )


def _saved_view(request: HttpRequest):
    """The user's saved view named by ``?view=`` (someone else's is not found), or None."""
    pk = request.GET.get("view", "")
    if request.method != "GET" or not pk.isdigit():
        return None
    return list_views_for_user(request.user).filter(pk=int(pk)).first()


@require_GET
@reauth_required
def customer_export(request: HttpRequest) -> HttpResponse:
    """The current filtered list as CSV, streamed, formula-safe, audited before it starts."""
    if not can_export_personal_data(request.user):
        raise NotFound
    if "q" in request.GET:
        # An address from before searches were posted: exporting without its search would hand
        # out far more than was asked for.
        messages.error(request, _("Search again before exporting."))
        return redirect(_list_address(request, ""))
    data, key = search_data(request)
    form = CustomerSearchForm(data, teams=teams_by_name(request.user))
    customers, filter_names = filtered_customers(request.user, form)
    if form.is_bound and form.errors:
        messages.error(request, _("Correct the search before exporting."))
        return redirect(_list_address(request, key))
    selection = request.GET.get("selection")
    if selection:
        # The customers ticked in the list (kept in the session under an opaque key).
        ids = request.session.get(SELECTIONS_SESSION_KEY, {}).get(selection)
        if ids is None:
            messages.error(request, _("Select the customers to export again."))
            return redirect("customers-home")
        customers = customers.filter(pk__in=ids)
        filter_names = sorted([*filter_names, "selection"])
    lines = customers_csv_export(actor=request.user, customers=customers, filters=filter_names)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return csv_response(lines, filename=f"customers-{stamp}.csv")


# --- Profile ----------------------------------------------------------------------------------


def _timeline_page(customer: Customer, before) -> tuple[list[dict], str]:
    return customer_timeline(customer, cursor=before, limit=TIMELINE_PAGE_SIZE)


def _timeline_before(request: HttpRequest) -> tuple[str | None, bool]:
    """The ``before`` cursor of the request (None: the newest entries), and whether a cursor
    was given that is not one (a hand-edited or truncated address)."""
    form = TimelineCursorForm(request.GET)
    if form.is_valid():
        return form.cleaned_data["before"] or None, False
    return None, True


def _customer_to_change(request: HttpRequest, pk: int) -> Customer:
    return get_for_user(request.user, Customer.objects.active(), pk=pk, action="change")


@require_GET
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The 360-degree profile: identity, identities, attributes, metrics, timeline, merges."""
    customer = get_for_user(
        request.user, Customer.objects.select_related("owner_team__group"), pk=pk
    )
    if customer.merged_into_id is not None:
        messages.info(
            request,
            _("Customer #%(merged)s was merged into this profile.") % {"merged": customer.pk},
        )
        return redirect("customer-detail", pk=customer.merged_into_id)
    unmasked = can_view_personal_data(request.user)
    can_change = (
        scope_queryset(request.user, Customer.objects.filter(pk=customer.pk), action="change")
        .only("pk")
        .exists()
    )
    identities = [
        (identity, identity_value(identity, can_view_personal_data=unmasked))
        for identity in customer.identities.order_by("kind", "channel", "pk")
    ]
    merges = list(
        MergeRecord.objects.filter(survivor=customer)
        .select_related("performed_by")
        .defer("survivor_before")[:20]
    )
    undoable = next((record for record in merges if record.undone_at is None), None)
    can_erase = (
        scope_queryset(request.user, Customer.objects.filter(pk=customer.pk), action="delete")
        .only("pk")
        .exists()
    )
    before, is_bad_cursor = _timeline_before(request)
    if is_bad_cursor:
        messages.warning(
            request,
            _("The timeline position in the address is not valid; the newest entries are shown."),
        )
    entries, next_before = _timeline_page(customer, before)
    if unmasked:
        audit_record(action="customer.view_personal_data", actor=request.user, target=customer)
    return render(
        request,
        "customers/customer_detail.html",
        {
            "customer": customer,
            "contact": contact_for(customer, can_view_personal_data=unmasked),
            "currency": team_currencies([customer.owner_team_id]).get(customer.owner_team_id, ""),
            "identities": identities,
            "attributes": customer_custom_values(customer, can_view_personal_data=unmasked),
            "merges": merges,
            "undoable_merge": undoable,
            "entries": entries,
            "next_before": next_before,
            "is_timeline_continued": before is not None,
            "can_change": can_change,
            "can_erase": can_erase,
            "merge_form": CustomerMergeForm(),
            "consent_states": [state for state in consent_state(customer) if state["status"]],
            "consent_events": consent_history(customer, limit=50),
        },
    )


@require_GET
def customer_timeline_rows(request: HttpRequest, pk: int) -> HttpResponse:
    """Older timeline rows for the "Load older" link (htmx swaps them in for the link row)."""
    customer = get_for_user(request.user, Customer.objects.active(), pk=pk)
    before, is_bad_cursor = _timeline_before(request)
    if is_bad_cursor:
        return render(
            request,
            "customers/_timeline_rows.html",
            {"customer": customer, "entries": [], "is_bad_cursor": True},
            status=400,
        )
    entries, next_before = _timeline_page(customer, before)
    return render(
        request,
        "customers/_timeline_rows.html",
        {"customer": customer, "entries": entries, "next_before": next_before},
    )


@require_http_methods(["GET", "POST"])
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Correct a profile: only the changed fields go to ``customer_update``."""
    customer = _customer_to_change(request, pk)
    unmasked = can_view_personal_data(request.user)
    form = CustomerEditForm(
        request.POST if request.method == "POST" else None,
        customer=customer,
        include_personal=unmasked,
    )
    if request.method == "POST" and form.is_valid():
        changes = form.changes()
        if not changes:
            messages.info(request, _("Nothing was changed."))
            return redirect("customer-detail", pk=customer.pk)
        try:
            customer_update(actor=request.user, customer=customer, changes=changes)
        except InvalidChanges as error:
            for name, reason in error.errors.items():
                name = name.replace("attributes.", CUSTOM_FIELD_PREFIX, 1)
                form.add_error(name if name in form.fields else None, _(reason))
        else:
            messages.success(request, _("The profile was saved."))
            return redirect("customer-detail", pk=customer.pk)
    elif request.method == "GET" and unmasked:
        # The form shows the contact details unmasked.
        audit_record(action="customer.view_personal_data", actor=request.user, target=customer)
    return render(
        request,
        "customers/customer_edit.html",
        {
            "customer": customer,
            "form": form,
            "contact": contact_for(customer, can_view_personal_data=unmasked),
            "personal_fields_hidden": not unmasked,
        },
    )


@require_POST
def customer_merge_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Fold another customer (by number) into this one."""
    survivor = _customer_to_change(request, pk)
    form = CustomerMergeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter the number of the customer to merge into this one."))
        return redirect("customer-detail", pk=survivor.pk)
    other_pk = form.cleaned_data["other"]
    try:
        other = _customer_to_change(request, other_pk)
    except NotFound as refusal:
        # Answered here rather than by the middleware, so the refusal is audited here too.
        if refusal.is_refusal:
            access_denied_record(
                request,
                status=302,
                reason=OUT_OF_SCOPE if refusal.object_id else PERMISSION,
                object_type=refusal.object_type,
                object_id=refusal.object_id,
            )
        # The same words for a missing and a forbidden customer: existence does not leak.
        messages.error(
            request,
            _("There is no customer #%(number)s that you may change.") % {"number": other_pk},
        )
        return redirect("customer-detail", pk=survivor.pk)
    if other.pk == survivor.pk:
        messages.error(request, _("A customer cannot be merged into itself."))
    elif other.owner_team_id != survivor.owner_team_id:
        messages.error(request, _("Only customers of the same team can be merged."))
    else:
        try:
            customer_merge(survivor=survivor, merged=other, actor=request.user, reason="staff")
        except ValueError:
            messages.error(request, _("These two customers cannot be merged."))
        else:
            messages.success(
                request,
                _("Customer #%(merged)s was merged into this profile.") % {"merged": other.pk},
            )
    return redirect("customer-detail", pk=survivor.pk)


@require_POST
def customer_merge_undo_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Undo the latest merge into this customer."""
    survivor = _customer_to_change(request, pk)
    try:
        record = customer_merge_undo(survivor=survivor, actor=request.user)
    except ValueError:
        messages.error(request, _("This customer has no merge to undo."))
    else:
        messages.success(
            request,
            _("The merge was undone: customer #%(merged)s is back.") % {"merged": record.merged_id},
        )
    return redirect("customer-detail", pk=survivor.pk)


@require_http_methods(["GET", "POST"])
@reauth_required
def customer_erase_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Erase the person: the profile and everything personal attached, for good.

    GET asks to confirm: it is where a re-authentication leads back to, as an erasure posted
    with a stale session is not carried out.
    """
    customer = get_for_user(request.user, Customer.objects.active(), pk=pk, action="delete")
    if request.method == "GET":
        return render(request, "customers/customer_erase.html", {"customer": customer})
    subject_erase(
        customer_ids=[customer.pk], team=customer.owner_team, actor=request.user, reason="staff"
    )
    messages.success(request, _("Customer #%(number)s was erased.") % {"number": pk})
    return redirect("customers-home")
