import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Customer, CustomField, CustomFieldType
from customers.quality.rules import (
    QUALITY_FIELDS_BY_KEY,
    checked_field_choices,
    quality_field_choices,
)
from customers.services.custom_fields import (
    ATTRIBUTE_PREFIX,
    NUMERIC_TYPES,
    CustomValueError,
    custom_value_clean,
)
from privacy.core.access import teams_for_user
from privacy.core.filters import FilterSet, IdFilter

SEARCH_MOVED = _(
    "Search by email, phone, name or external id with POST /api/v1/customers/search/: "
    "personal data does not belong in addresses, which access logs keep."
)

# The look-ups each type of custom field offers beside equality.
_ORDERED = ("gte", "lte", "in")
ATTRIBUTE_LOOKUPS = {
    CustomFieldType.TEXT: ("in", "contains"),
    **dict.fromkeys(NUMERIC_TYPES, _ORDERED),
    CustomFieldType.DATE: _ORDERED,
    CustomFieldType.BOOLEAN: (),
    CustomFieldType.CHOICE: ("in",),
    CustomFieldType.MULTI_CHOICE: ("in", "contains"),
}


class CustomerFilter(FilterSet):
    """Filters of the customer list, custom fields included. A person is looked up by
    ``customers_search`` (through ``POST /api/v1/customers/search/`` or the staff list's search
    box), never by the query string."""

    country = django_filters.CharFilter(field_name="country", lookup_expr="iexact")
    tag = django_filters.CharFilter(field_name="tags", lookup_expr="contains", method="filter_tag")
    source = django_filters.CharFilter(field_name="source_channel")
    team = IdFilter(field_name="owner_team_id")
    rfm_group = django_filters.CharFilter(field_name="rfm_group")
    # The customers behind a data-quality figure (customers.quality.rules).
    empty = django_filters.ChoiceFilter(choices=quality_field_choices(), method="filter_empty")
    invalid = django_filters.ChoiceFilter(choices=checked_field_choices(), method="filter_invalid")

    # Query parameters named attributes.<key>[__lookup] are custom fields: checked here against
    # the definitions of the user's teams (an unknown key is a 400 naming it).
    dynamic_param_prefixes = (ATTRIBUTE_PREFIX,)

    moved_params = {"email": SEARCH_MOVED, "phone": SEARCH_MOVED, "name": SEARCH_MOVED}

    class Meta:
        model = Customer
        fields = ["country", "tag", "source", "team", "rfm_group", "empty", "invalid"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user or getattr(self.request, "user", None)

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        params = sorted(
            (name, value) for name, value in self.data.items() if name.startswith(ATTRIBUTE_PREFIX)
        )
        if not params:
            return queryset
        definitions = CustomField.objects.filter(
            key__in={_split_param(name)[0] for name, _value in params}
        )
        if self.user is not None:
            definitions = definitions.filter(owner_team__in=teams_for_user(self.user))
        by_key: dict[str, list[CustomField]] = {}
        for definition in definitions:
            by_key.setdefault(definition.key, []).append(definition)
        for number, (name, value) in enumerate(params):
            queryset = _attribute_filter(
                queryset, name, value, by_key, alias=f"_attribute_{number}"
            )
        return queryset

    def filter_tag(self, queryset, name, value):
        return queryset.filter(tags__contains=[value.strip().lower()])

    def filter_empty(self, queryset, name, value: str):
        return queryset.filter(QUALITY_FIELDS_BY_KEY[value].empty())

    def filter_invalid(self, queryset, name, value: str):
        return queryset.filter(QUALITY_FIELDS_BY_KEY[value].invalid(timezone.localdate()))


def _split_param(name: str) -> tuple[str, str]:
    key, _separator, lookup = name.removeprefix(ATTRIBUTE_PREFIX).partition("__")
    return key, lookup or "exact"


def _attribute_condition(definition: CustomField, lookup: str, text: str, alias: str) -> Q:
    """The condition of one look-up on one team's field; raises ``CustomValueError``."""

    def value_of(part: str):
        value = custom_value_clean(definition, part, from_text=True)
        if value is None:
            raise CustomValueError("a value is needed")
        return value

    key = definition.key
    if lookup == "exact":
        # Containment uses the GIN index on attributes (jsonb_path_ops).
        value = value_of(text)
        if definition.type == CustomFieldType.MULTI_CHOICE:
            return Q(**{alias: value})
        return Q(attributes__contains={key: value})
    if lookup == "in":
        values = [value_of(part) for part in text.split(",") if part.strip()]
        if not values:
            raise CustomValueError("a value is needed")
        condition = Q(pk__in=[])
        for value in values:
            condition |= Q(attributes__contains={key: value})
        return condition
    if lookup == "contains":
        if definition.type == CustomFieldType.MULTI_CHOICE:
            return Q(attributes__contains={key: value_of(text)})
        return Q(**{f"{alias}_text__icontains": text.strip()})
    return Q(**{f"{alias}__{lookup}": value_of(text)})


def _attribute_filter(
    queryset: QuerySet, name: str, text: str, by_key: dict[str, list[CustomField]], *, alias: str
) -> QuerySet:
    key, lookup = _split_param(name)
    definitions = by_key.get(key)
    if not definitions:
        raise ValidationError({name: _("No custom field of your teams has the key %s.") % key})
    condition = Q(pk__in=[])
    for definition in definitions:
        if definition.is_personal_data:
            raise ValidationError(
                {name: _("This custom field holds personal data, kept encrypted: no filter.")}
            )
        if lookup != "exact" and lookup not in ATTRIBUTE_LOOKUPS[definition.type]:
            allowed = ", ".join(f"__{item}" for item in ATTRIBUTE_LOOKUPS[definition.type])
            raise ValidationError(
                {
                    name: _("This custom field offers equality%s only.")
                    % (f" and {allowed}" if allowed else "")
                }
            )
        try:
            team_condition = _attribute_condition(definition, lookup, text, alias)
        except CustomValueError as error:
            raise ValidationError({name: _(error.reason)}) from error
        condition |= Q(owner_team_id=definition.owner_team_id) & team_condition
    return queryset.alias(
        **{
            alias: KeyTransform(key, "attributes"),
            f"{alias}_text": KeyTextTransform(key, "attributes"),
        }
    ).filter(condition)
