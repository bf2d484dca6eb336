"""A staff user's saved views of the customer list: a name, the filters, the columns shown.

A saved view never holds personal data: the search box (an email, a phone, a name) is not
saved, only the filters named in ``SAVED_FILTERS`` and non-personal custom-field filters (the
list refuses filters on custom fields that hold personal data).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from customers.models import CustomerListView
from customers.services.custom_fields import ATTRIBUTE_PREFIX
from privacy.core.services.audit import audit_record

SAVED_FILTERS = ("country", "tag", "source", "team", "rfm_group", "empty", "invalid", "sort")

# The list's columns, in the order shown; the first is always shown (it names the customer).
LIST_COLUMNS = {
    "name": _("Name"),
    "email": _("Email"),
    "phone": _("Phone"),
    "country": _("Country"),
    "source": _("Source"),
    "tags": _("Tags"),
    "orders": _("Orders"),
    "total_spend": _("Total spend"),
    "rfm_group": _("RFM group"),
    "team": _("Team"),
}
DEFAULT_COLUMNS = tuple(LIST_COLUMNS)
MAX_VIEWS = 50


class ListViewError(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def list_columns_clean(columns: Iterable[str]) -> list[str]:
    """Known columns in the list's order, the name always first; none chosen: the defaults."""
    chosen = set(columns)
    if not chosen & set(LIST_COLUMNS):
        return list(DEFAULT_COLUMNS)
    return [key for key in LIST_COLUMNS if key in chosen or key == "name"]


def list_filters_clean(data: Mapping[str, str]) -> dict[str, str]:
    """The non-empty filters of ``data`` a view may keep; the search box and pages are dropped."""
    return {
        name: str(value)
        for name, value in data.items()
        if value and (name in SAVED_FILTERS or name.startswith(ATTRIBUTE_PREFIX))
    }


@transaction.atomic
def list_view_save(
    *, actor: AbstractBaseUser, name: str, filters: Mapping[str, str], columns: Iterable[str]
) -> CustomerListView:
    """Save (or replace, by name) one of the actor's views of the customer list."""
    name = " ".join(name.split())[:80]
    if not name:
        raise ListViewError(_("Give the view a name."))
    views = CustomerListView.objects.filter(owner=actor)
    if not views.filter(name=name).exists() and views.count() >= MAX_VIEWS:
        raise ListViewError(_("Delete a saved view first: you have %s.") % MAX_VIEWS)
    view, created = CustomerListView.objects.update_or_create(
        owner=actor,
        name=name,
        defaults={"filters": list_filters_clean(filters), "columns": list_columns_clean(columns)},
    )
    audit_record(
        action="customer_list_view.save",
        actor=actor,
        object_type=CustomerListView._meta.label_lower,
        object_id=view.pk,
        metadata={"created": created, "filters": sorted(view.filters), "columns": view.columns},
    )
    return view


@transaction.atomic
def list_view_delete(*, actor: AbstractBaseUser, view: CustomerListView) -> None:
    audit_record(
        action="customer_list_view.delete",
        actor=actor,
        object_type=CustomerListView._meta.label_lower,
        object_id=view.pk,
    )
    view.delete()
