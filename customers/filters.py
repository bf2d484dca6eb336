import django_filters
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Customer, IdentityKind
from customers.normalisation import NormalisationError, normalise_email, normalise_phone
from customers.quality.rules import (
    QUALITY_FIELDS_BY_KEY,
    checked_field_choices,
    quality_field_choices,
)
from customers.selectors import customers_matching_identifier, customers_matching_name
from privacy.core.filters import IdFilter


class CustomerFilter(django_filters.FilterSet):
    """Search by exact email or phone (through blind indexes), name words, and attributes."""

    email = django_filters.CharFilter(method="filter_email", label=_("Email (exact)"))
    phone = django_filters.CharFilter(method="filter_phone", label=_("Phone (exact)"))
    name = django_filters.CharFilter(method="filter_name", label=_("Name"))
    country = django_filters.CharFilter(field_name="country", lookup_expr="iexact")
    tag = django_filters.CharFilter(field_name="tags", lookup_expr="contains", method="filter_tag")
    source = django_filters.CharFilter(field_name="source_channel")
    team = IdFilter(field_name="owner_team_id")
    rfm_group = django_filters.CharFilter(field_name="rfm_group")
    # The customers behind a data-quality figure (customers.quality.rules).
    empty = django_filters.ChoiceFilter(choices=quality_field_choices, method="filter_empty")
    invalid = django_filters.ChoiceFilter(choices=checked_field_choices, method="filter_invalid")

    class Meta:
        model = Customer
        fields = [
            "email",
            "phone",
            "name",
            "country",
            "tag",
            "source",
            "team",
            "rfm_group",
            "empty",
            "invalid",
        ]

    def filter_email(self, queryset, name, value):
        try:
            email = normalise_email(value)
        except NormalisationError as error:
            raise ValidationError({"email": error.reason}) from error
        return customers_matching_identifier(queryset, kind=IdentityKind.EMAIL, value=email or "")

    def filter_phone(self, queryset, name, value):
        try:
            phone = normalise_phone(value, region=self.data.get("country") or None)
        except NormalisationError as error:
            raise ValidationError({"phone": error.reason}) from error
        return customers_matching_identifier(queryset, kind=IdentityKind.PHONE, value=phone or "")

    def filter_name(self, queryset, name, value):
        return customers_matching_name(queryset, value)

    def filter_tag(self, queryset, name, value):
        return queryset.filter(tags__contains=[value.strip().lower()])

    def filter_empty(self, queryset, name, value):
        return queryset.filter(QUALITY_FIELDS_BY_KEY[value].empty())

    def filter_invalid(self, queryset, name, value):
        return queryset.filter(QUALITY_FIELDS_BY_KEY[value].invalid(timezone.localdate()))
