import datetime

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters.fields import IsoDateTimeField
from drf_spectacular.utils import extend_schema_field

from privacy.models import AuditEntry


class UtcIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, converted to UTC before it reaches the database.

    Python accepts offsets up to ±23:59 and PostgreSQL only up to ±15:59, so a query with
    ``2026-05-22T09:00-20:29`` would otherwise fail in the database instead of filtering.
    """

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None or parsed.tzinfo is None:
            return parsed
        try:
            return parsed.astimezone(datetime.UTC)
        except OverflowError:
            raise ValidationError(_("This time is out of range."), code="invalid") from None


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """``IsoDateTimeFilter`` whose value is normalised to UTC (see ``UtcIsoDateTimeField``)."""

    field_class = UtcIsoDateTimeField


class FilterSet(django_filters.FilterSet):
    """The base of every list's filters: what the API's list endpoints accept besides pages.

    A list endpoint answers a query parameter that is none of its filters, pagination,
    ``ordering`` or ``format`` with a 400 naming it (``privacy.core.rest.filters``), so a typo
    or a filter that does not exist never returns the whole list as if it had filtered.

    - ``dynamic_param_prefixes``: parameters whose names are built at run time (a prefix such as
      ``"attributes."`` followed by a key) and that the filterset itself validates;
    - ``moved_params``: parameters the list no longer takes, each with the message that says
      where to go instead (still a 400, but one that helps).
    """

    dynamic_param_prefixes: tuple[str, ...] = ()
    moved_params: dict[str, str] = {}


# Ids are PostgreSQL bigints: a larger number would be a database error, not "no match".
MAX_ID = 2**63 - 1


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": MAX_ID})
class IdFilter(django_filters.NumberFilter):
    """The id of a row (a customer, a team): a whole number from 1 to ``MAX_ID``; anything else
    (``1.5``, ``-3``, a number too large for the database) is a 400 naming the filter."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class AuditEntryFilter(FilterSet):
    """Filters shared by the audit page and the audit-log API."""

    action = django_filters.CharFilter(label=_("Action"), lookup_expr="startswith")
    actor = django_filters.CharFilter(
        field_name="actor_label", label=_("Actor"), lookup_expr="iexact"
    )
    object_type = django_filters.CharFilter(label=_("Object type"))
    object_id = django_filters.CharFilter(label=_("Object id"))
    request_id = django_filters.CharFilter(label=_("Request id"))
    occurred_after = UtcIsoDateTimeFilter(
        field_name="occurred_at", lookup_expr="gte", label=_("From")
    )
    occurred_before = UtcIsoDateTimeFilter(
        field_name="occurred_at", lookup_expr="lt", label=_("Until")
    )

    class Meta:
        model = AuditEntry
        fields = ["action", "actor", "object_type", "object_id", "request_id"]


class AuditPageFilter(AuditEntryFilter):
    """The audit page's filters: the API's, with days picked in a calendar instead of exact times.

    A day is read in the signed-in user's time zone (their preference, else ``TIME_ZONE``):
    "from 3 May" starts at midnight where the user is, "until 3 May" includes the whole day.
    The API's ``occurred_after`` and ``occurred_before`` still work in the address (the audit
    export links carry them), hidden from the form.
    """

    # Typed as the API takes them (an action's start, ``auth.``), offered by name in a list.
    action = django_filters.CharFilter(
        label=_("Action"),
        lookup_expr="startswith",
        widget=forms.TextInput(attrs={"list": "audit-actions"}),
    )
    object_type = django_filters.CharFilter(
        label=_("Object type"), widget=forms.TextInput(attrs={"list": "audit-object-types"})
    )
    occurred_after = UtcIsoDateTimeFilter(
        field_name="occurred_at", lookup_expr="gte", widget=forms.HiddenInput
    )
    occurred_before = UtcIsoDateTimeFilter(
        field_name="occurred_at", lookup_expr="lt", widget=forms.HiddenInput
    )
    from_day = django_filters.DateFilter(
        label=_("From (day)"),
        method="filter_from_day",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    until_day = django_filters.DateFilter(
        label=_("Until (day, included)"),
        method="filter_until_day",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    @staticmethod
    def _day_start(day: datetime.date) -> datetime.datetime:
        return datetime.datetime.combine(
            day, datetime.time.min, tzinfo=timezone.get_current_timezone()
        )

    def filter_from_day(self, queryset, name, value):
        return queryset.filter(occurred_at__gte=self._day_start(value))

    def filter_until_day(self, queryset, name, value):
        if value == datetime.date.max:
            return queryset
        return queryset.filter(occurred_at__lt=self._day_start(value + datetime.timedelta(days=1)))
