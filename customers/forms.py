"""Forms of the customers staff UI. They parse input; the services normalise and validate it."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from customers.masking import customer_masks
from customers.models import (
    Channel,
    Customer,
    CustomField,
    CustomFieldType,
    Gender,
    LifecycleStatus,
)
from customers.normalisation import NormalisationError, normalise_country
from customers.quality.rules import checked_field_choices, quality_field_choices
from customers.selectors import TimelineCursorError, timeline_cursor_parse
from customers.services.custom_fields import (
    custom_field_label,
    custom_fields_by_key,
    private_attributes_of,
)
from customers.services.customers import EDITABLE_FIELDS
from customers.services.enrichment import RFM_GROUP_RULES
from privacy.core.labels import RFM_GROUP, label
from privacy.models import Team

# Sort keys of the customer list and their ORDER BY; "-id" breaks ties so pages are stable.
SORT_ORDERS = {
    "newest": ("-id",),
    "oldest": ("id",),
    "last_purchase": (F("last_purchase_at").desc(nulls_last=True), "-id"),
    "total_spend": ("-total_spend", "-id"),
}
SORT_CHOICES = [
    ("newest", _("Newest first")),
    ("oldest", _("Oldest first")),
    ("last_purchase", _("Last purchase")),
    ("total_spend", _("Total spend")),
]


def rfm_group_label(group: str) -> str:
    """The words shown for a stored RFM group (registered in ``customers.registrations``)."""
    return label(RFM_GROUP, group)


def rfm_group_choices() -> list[tuple[str, str]]:
    groups = dict.fromkeys(group for group, _recency, _frequency in RFM_GROUP_RULES)
    return [("", _("Any"))] + [(group, rfm_group_label(group)) for group in groups]


def _any_field() -> list[tuple[str, str]]:
    return [("", _("Any")), *quality_field_choices()]


def _any_checked() -> list[tuple[str, str]]:
    return [("", _("Any")), *checked_field_choices()]


# Five or more digits with the usual phone punctuation, optionally a leading "+".
_PHONE_LIKE = re.compile(r"\+?[\d\s().\-/]*(?:\d[\s().\-/]*){5,}")


def search_kind(text: str) -> str:
    """Which exact look-up a search box entry means: ``email``, ``phone`` or ``name``."""
    if "@" in text:
        return "email"
    if _PHONE_LIKE.fullmatch(text):
        return "phone"
    return "name"


class CustomerSearchForm(forms.Form):
    """The list's search box, filters and sort; ``filter_data()`` feeds ``CustomerFilter``,
    ``search_terms()`` the search. The form is posted: the search box holds personal data."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "placeholder": _("Email, phone, or the start of a name or email"),
            }
        ),
    )
    country = forms.CharField(
        label=_("Country"),
        required=False,
        max_length=60,
        widget=forms.TextInput(attrs={"placeholder": "DE", "size": 4}),
    )
    tag = forms.CharField(label=_("Tag"), required=False, max_length=64)
    source = forms.CharField(
        label=_("Source"),
        required=False,
        max_length=32,
    )
    team = forms.TypedChoiceField(label=_("Team"), required=False, coerce=int, empty_value=None)
    rfm_group = forms.ChoiceField(label=_("RFM group"), required=False, choices=rfm_group_choices)
    sort = forms.ChoiceField(label=_("Sort"), required=False, choices=SORT_CHOICES)
    # Drill-down from the data-quality page: customers whose field is empty, or filled but
    # invalid (customers.quality.rules).
    empty = forms.ChoiceField(label=_("Empty field"), required=False, choices=_any_field)
    invalid = forms.ChoiceField(label=_("Invalid field"), required=False, choices=_any_checked)

    source_channels = Channel.choices

    def __init__(
        self,
        *args,
        teams: Iterable[Team] = (),
        pick_lists: dict[str, list[tuple[str, int]]] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.teams = list(teams)
        self.fields["team"].choices = [("", _("All teams"))] + [
            (team.pk, team.name) for team in self.teams
        ]
        for name, values in (pick_lists or {}).items():
            self._pick_list(name, values)

    def _pick_list(self, name: str, values: list[tuple[str, int]]) -> None:
        """Offer the values the user's customers have, each with its count; a value asked for
        that none has (a saved view's tag no longer used) stays choosable."""
        choices = [("", _("Any"))] + [
            (value, _("%(value)s (%(count)s)") % {"value": value, "count": f"{count:,}"})
            for value, count in values
        ]
        current = (self.data.get(name) or "") if self.is_bound else ""
        if current and current not in {value for value, _count in values}:
            choices.append((current, current))
        self.fields[name].widget = forms.Select(choices=choices)

    def clean_country(self) -> str:
        """An ISO code from a code or a country's name ("Germany", "德国")."""
        try:
            return normalise_country(self.cleaned_data["country"]) or ""
        except NormalisationError:
            raise ValidationError(_("Unknown country."), code="unknown_country") from None

    def clean_q(self) -> str:
        return self.cleaned_data["q"].strip()

    def filter_data(self) -> dict[str, str]:
        """The non-empty filters under ``CustomerFilter``'s names; call after ``is_valid()``."""
        data = self.cleaned_data
        values = {
            "country": data.get("country") or "",
            "tag": (data.get("tag") or "").strip(),
            "source": (data.get("source") or "").strip().lower(),
            "team": "" if data.get("team") is None else str(data["team"]),
            "rfm_group": (data.get("rfm_group") or "").strip(),
            "empty": data.get("empty") or "",
            "invalid": data.get("invalid") or "",
        }
        return {name: value for name, value in values.items() if value}

    def search_terms(self) -> dict[str, str]:
        """The search box as ``customers_search``'s terms (``{"email": ...}``), or nothing."""
        text = self.cleaned_data.get("q") or ""
        return {search_kind(text): text} if text else {}

    def sort_order(self) -> tuple:
        key = (self.cleaned_data.get("sort") if self.is_bound else "") or "newest"
        return SORT_ORDERS[key]


class CustomerEditForm(forms.Form):
    """The editable profile fields as text; ``customer_update`` normalises and validates them.

    Without "view personal data" the contact fields are left out: nobody edits what they may
    not see.
    """

    given_name = forms.CharField(label=_("Given name"), required=False, max_length=200)
    family_name = forms.CharField(label=_("Family name"), required=False, max_length=200)
    email = forms.CharField(label=_("Email"), required=False, max_length=320)
    phone = forms.CharField(label=_("Phone"), required=False, max_length=40)
    postal_address = forms.CharField(
        label=_("Postal address"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    postal_code = forms.CharField(label=_("Postal code"), required=False, max_length=20)
    city = forms.CharField(label=_("City"), required=False, max_length=120)
    country = forms.CharField(
        label=_("Country"),
        required=False,
        max_length=60,
        help_text=_("ISO code or name, e.g. DE or Germany."),
    )
    birth_date = forms.CharField(
        label=_("Birth date"),
        required=False,
        max_length=40,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    birth_year = forms.CharField(
        label=_("Birth year"),
        required=False,
        max_length=4,
        help_text=_("When only the year is known; a birth date sets it."),
    )
    gender = forms.ChoiceField(
        label=_("Gender"), required=False, choices=[("", "—"), *Gender.choices]
    )
    language = forms.CharField(
        label=_("Language"), required=False, max_length=16, help_text=_("e.g. en, de, zh-Hans.")
    )
    company = forms.CharField(label=_("Company"), required=False, max_length=200)
    industry = forms.CharField(label=_("Industry"), required=False, max_length=100)
    job_title = forms.CharField(label=_("Job title"), required=False, max_length=150)
    tags = forms.CharField(
        label=_("Tags"),
        required=False,
        max_length=1000,
        help_text=_("Separate tags with commas."),
    )
    lifecycle_status = forms.ChoiceField(label=_("Lifecycle status"), choices=LifecycleStatus)

    FIELDSETS = (
        (_("Contact details"), ("given_name", "family_name", "email", "phone")),
        (_("Address"), ("postal_address", "postal_code", "city", "country")),
        (_("Profile"), ("birth_date", "birth_year", "gender", "language")),
        (_("Work"), ("company", "industry", "job_title")),
        (_("Marketing"), ("lifecycle_status", "tags")),
    )

    def __init__(self, *args, customer: Customer, include_personal: bool, **kwargs) -> None:
        kwargs.setdefault("initial", self.initial_for(customer))
        super().__init__(*args, **kwargs)
        # Fields only people with "view personal data" may see, so only they may edit them.
        hidden = set() if include_personal else customer_masks().keys()
        for name in list(self.fields):
            if name not in EDITABLE_FIELDS or name in hidden:
                del self.fields[name]
        custom, custom_initial = custom_form_fields(customer, include_personal=include_personal)
        self.fields.update(custom)
        for name, value in custom_initial.items():
            self.initial.setdefault(name, value)

    @staticmethod
    def initial_for(customer: Customer) -> dict[str, str]:
        initial = {name: getattr(customer, name) for name in EDITABLE_FIELDS}
        initial["tags"] = ", ".join(customer.tags)
        initial["birth_date"] = customer.birth_date.isoformat() if customer.birth_date else ""
        return {name: "" if value is None else value for name, value in initial.items()}

    def fieldsets(self) -> list[tuple[str, list[forms.BoundField]]]:
        """The form's fields in labelled groups, leaving out groups with no field left."""
        groups = []
        for legend, names in self.FIELDSETS:
            fields = [self[name] for name in names if name in self.fields]
            if fields:
                groups.append((legend, fields))
        custom = [self[name] for name in self.fields if name.startswith(CUSTOM_FIELD_PREFIX)]
        if custom:
            groups.append((_("Custom fields"), custom))
        return groups

    def changes(self) -> dict[str, object]:
        """Only the fields the person changed, for ``customer_update``."""
        changes: dict[str, object] = {
            name: self.cleaned_data[name]
            for name in self.changed_data
            if not name.startswith(CUSTOM_FIELD_PREFIX)
        }
        if attributes := custom_form_changes(self):
            changes["attributes"] = attributes
        return changes


class CustomerMergeForm(forms.Form):
    other = forms.IntegerField(
        label=_("Customer number to merge into this one"),
        min_value=1,
        widget=forms.NumberInput(attrs={"placeholder": "1234"}),
    )


class TimelineCursorForm(forms.Form):
    """``before`` of the timeline: the cursor of the last entry shown (time|kind|id)."""

    before = forms.CharField(required=False, max_length=80)

    def clean_before(self) -> str:
        before = self.cleaned_data["before"]
        if before:
            try:
                timeline_cursor_parse(before)
            except TimelineCursorError as error:
                raise ValidationError(str(error), code="invalid") from error
        return before


# --- Custom fields on the staff edit form and the admin's customer form -----------------------

CUSTOM_FIELD_PREFIX = "attribute_"


def _custom_form_field(definition: CustomField) -> forms.Field:
    label = custom_field_label(definition)
    common = {"label": label, "required": False}
    kind = definition.type
    limits = {
        "min_value": definition.min_value,
        "max_value": definition.max_value,
    }
    if kind in {CustomFieldType.INTEGER, CustomFieldType.YEAR}:
        return forms.IntegerField(**common, **limits)
    if kind == CustomFieldType.DECIMAL:
        return forms.DecimalField(**common, **limits)
    if kind == CustomFieldType.DATE:
        return forms.DateField(**common, widget=forms.DateInput(attrs={"type": "date"}))
    if kind == CustomFieldType.BOOLEAN:
        return forms.TypedChoiceField(
            **common,
            choices=[("", "—"), ("true", _("Yes")), ("false", _("No"))],
            coerce=lambda value: value == "true",
            empty_value=None,
        )
    if kind == CustomFieldType.CHOICE:
        return forms.ChoiceField(
            **common, choices=[("", "—"), *((option, option) for option in definition.options)]
        )
    if kind == CustomFieldType.MULTI_CHOICE:
        return forms.MultipleChoiceField(
            **common,
            choices=[(option, option) for option in definition.options],
            widget=forms.CheckboxSelectMultiple,
        )
    return forms.CharField(**common, max_length=1000)


def _initial_value(definition: CustomField, value: object) -> object:
    if value is None:
        return None
    if definition.type == CustomFieldType.BOOLEAN:
        return "true" if value else "false"
    return value


def custom_form_fields(
    customer: Customer, *, include_personal: bool
) -> tuple[dict[str, forms.Field], dict[str, object]]:
    """Form fields for the custom fields of the customer's team (``attribute_<key>``) and
    their initial values. Personal ones only for those who may see personal data."""
    values = {**customer.attributes}
    if include_personal:
        values.update(private_attributes_of(customer))
    fields: dict[str, forms.Field] = {}
    initial: dict[str, object] = {}
    for key, definition in custom_fields_by_key(customer.owner_team_id).items():
        if definition.is_personal_data and not include_personal:
            continue
        name = f"{CUSTOM_FIELD_PREFIX}{key}"
        fields[name] = _custom_form_field(definition)
        initial[name] = _initial_value(definition, values.get(key))
    return fields, initial


def custom_form_changes(form: forms.Form) -> dict[str, object]:
    """The changed custom values of a form, as the typed values ``customer_update`` takes."""
    changes: dict[str, object] = {}
    for name in form.changed_data:
        if not name.startswith(CUSTOM_FIELD_PREFIX):
            continue
        value = form.cleaned_data.get(name)
        if isinstance(value, Decimal):
            value = int(value) if value == value.to_integral_value() else float(value)
        elif isinstance(value, datetime.date):
            value = value.isoformat()
        elif value in ("", []):
            value = None
        changes[name.removeprefix(CUSTOM_FIELD_PREFIX)] = value
    return changes
