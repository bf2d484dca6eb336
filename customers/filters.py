import django_filters
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from privacy.core.filters import FilterSet, IdFilter

SEARCH_MOVED = _(
    "Search by email, phone, name or external id with POST /api/v1/customers/search/: "
    "personal data does not belong in addresses, which access logs keep."
)


class CustomerFilter(FilterSet):
    """Filters of the customer list. A person is looked up by ``customers_search`` (through
    ``POST /api/v1/customers/search/`` or the staff list's search box), never by the query
    string."""

    country = django_filters.CharFilter(field_name="country", lookup_expr="iexact")
    tag = django_filters.CharFilter(field_name="tags", lookup_expr="contains", method="filter_tag")
    source = django_filters.CharFilter(field_name="source_channel")
    team = IdFilter(field_name="owner_team_id")
    rfm_group = django_filters.CharFilter(field_name="rfm_group")

    moved_params = {"email": SEARCH_MOVED, "phone": SEARCH_MOVED, "name": SEARCH_MOVED}

    class Meta:
        model = Customer
        fields = ["country", "tag", "source", "team", "rfm_group"]

    def filter_tag(self, queryset, name, value):
        return queryset.filter(tags__contains=[value.strip().lower()])
