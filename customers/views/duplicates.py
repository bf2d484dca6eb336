"""The duplicates queue: pairs that may be one person, most alike first, compared side by side;
merging asks to confirm what each field will keep."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from customers.masking import contact_for
from customers.models import Customer, DuplicateCandidate, DuplicateStatus
from customers.services.duplicates import duplicate_decide
from customers.services.merge import customer_merge_outcomes
from customers.views.customers import page_window, query_without_page
from privacy.core.access import (
    can_view_personal_data,
    get_for_user,
    permission_name,
    scope_queryset,
)
from privacy.core.labels import label
from privacy.core.services.audit import personal_data_view_record

# What matched, as the queue names it (``DuplicateCandidate.reasons``).
REASON_LABELS = {
    "name": gettext_lazy("Name"),
    "common_name": gettext_lazy("Name (a common one)"),
    "birth_date": gettext_lazy("Birth date"),
    "postal_code": gettext_lazy("Postal code"),
    "city": gettext_lazy("City"),
    "email_domain": gettext_lazy("Email domain"),
}

# The rows of the comparison: (profile field, label); the contact details are shown as the
# user may see them (``contact_for``), the others as they are.
COMPARED = (
    ("display_name", gettext_lazy("Name")),
    ("email", gettext_lazy("Email")),
    ("phone", gettext_lazy("Phone")),
    ("birth_date", gettext_lazy("Birth date")),
    ("postal_address", gettext_lazy("Postal address")),
    ("postal_code", gettext_lazy("Postal code")),
    ("city", gettext_lazy("City")),
    ("country", gettext_lazy("Country")),
    ("email_domain", gettext_lazy("Email domain")),
    ("company", gettext_lazy("Company")),
    ("source_channel", gettext_lazy("Source")),
)
_CONTACT_FIELDS = {"display_name", "email", "phone", "birth_date", "postal_address"}

OUTCOME_LABELS = {
    "kept": gettext_lazy("kept"),
    "filled": gettext_lazy("filled in from the right"),
    "overwritten": gettext_lazy("overwritten by the right"),
}


@dataclass(frozen=True)
class ComparedField:
    name: str
    label: str
    first: str
    second: str
    outcome: str = ""

    @property
    def differs(self) -> bool:
        return self.first != self.second


def _shown(customer: Customer, field: str, *, unmasked: bool) -> str:
    """A field of ``customer`` as this user may see it, as text ("" when empty)."""
    if field == "birth_date":
        if customer.birth_date is None:
            return ""
        return customer.birth_date.isoformat() if unmasked else "•••"
    if field in _CONTACT_FIELDS:
        return getattr(contact_for(customer, can_view_personal_data=unmasked), field) or ""
    if field == "source_channel":
        return label("channel", customer.source_channel) if customer.source_channel else ""
    return str(getattr(customer, field) or "")


def _outcome(outcomes: dict[str, str], field: str) -> str:
    if field == "display_name":  # written from the two names
        return outcomes.get("family_name") or outcomes.get("given_name") or ""
    return outcomes.get(field, "")


def comparison(
    first: Customer, second: Customer, *, unmasked: bool, outcomes: dict[str, str] | None = None
) -> list[ComparedField]:
    """The two profiles field by field, masked as the user sees them. Whether a row differs is
    read from what is shown, so a masked value never tells more than its mask."""
    outcomes = outcomes or {}
    return [
        ComparedField(
            name=field,
            label=str(label),
            first=_shown(first, field, unmasked=unmasked),
            second=_shown(second, field, unmasked=unmasked),
            outcome=str(OUTCOME_LABELS.get(_outcome(outcomes, field), "")),
        )
        for field, label in COMPARED
    ]


def _open_duplicates() -> QuerySet[DuplicateCandidate]:
    """Open pairs whose two customers are both still active."""
    return DuplicateCandidate.objects.filter(
        status=DuplicateStatus.OPEN,
        first__merged_into__isnull=True,
        second__merged_into__isnull=True,
    )


@require_GET
def duplicate_list(request: HttpRequest) -> HttpResponse:
    """Pairs that may be one person, most alike first, compared field by field."""
    unmasked = can_view_personal_data(request.user)
    candidates = (
        scope_queryset(request.user, _open_duplicates(), action="view")
        .select_related("first", "second", "owner_team__group")
        .order_by("-score", "created_at", "id")
    )
    window = page_window(candidates, request.GET.get("page"))
    shown = [customer for pair in window.rows for customer in (pair.first, pair.second)]
    personal_data_view_record(actor=request.user, model=Customer, objects=shown)
    pairs = [
        (
            candidate,
            [str(REASON_LABELS.get(reason, reason)) for reason in candidate.reasons],
            comparison(candidate.first, candidate.second, unmasked=unmasked),
        )
        for candidate in window.rows
    ]
    can_decide = request.user.has_perm(permission_name(DuplicateCandidate, "change"))
    return render(
        request,
        "customers/duplicate_list.html",
        {
            "window": window,
            "pairs": pairs,
            "can_decide": can_decide,
            "query": query_without_page(request),
        },
    )


@require_POST
def duplicate_decide_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Dismiss the pair, or merge it (second into first) once the user confirmed, having seen
    what each field will keep."""
    candidate = get_for_user(
        request.user,
        _open_duplicates().select_related("first", "second"),
        pk=pk,
        action="change",
    )
    decision = request.POST.get("decision")
    if decision not in {"merge", "dismiss"}:
        messages.error(request, _("Choose merge or dismiss."))
        return redirect("duplicate-list")
    if decision == "merge":
        # Merging changes both customers: the user must be allowed to change each.
        for customer_pk in (candidate.first_id, candidate.second_id):
            get_for_user(request.user, Customer.objects.active(), pk=customer_pk, action="change")
        if request.POST.get("confirm") != "1":
            return _merge_confirmation(request, candidate)
    try:
        duplicate_decide(actor=request.user, candidate=candidate, merge=decision == "merge")
    except ValueError:
        messages.error(request, _("This pair cannot be merged any more; it was left open."))
    else:
        if decision == "merge":
            messages.success(
                request,
                _("Customer #%(second)s was merged into customer #%(first)s.")
                % {"second": candidate.second_id, "first": candidate.first_id},
            )
        else:
            messages.success(request, _("The pair was dismissed."))
    return redirect("duplicate-list")


def _merge_confirmation(request: HttpRequest, candidate: DuplicateCandidate) -> HttpResponse:
    """The page that asks to confirm a merge: each field that differs, and what it will keep."""
    first, second = candidate.first, candidate.second
    personal_data_view_record(actor=request.user, model=Customer, objects=[first, second])
    fields = comparison(
        first,
        second,
        unmasked=can_view_personal_data(request.user),
        outcomes=customer_merge_outcomes(survivor=first, merged=second),
    )
    return render(
        request,
        "customers/duplicate_confirm.html",
        {"candidate": candidate, "fields": [field for field in fields if field.differs]},
    )
