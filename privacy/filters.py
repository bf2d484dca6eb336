import django_filters
from django.utils.translation import gettext_lazy as _

from privacy.models import AuditEntry


class AuditEntryFilter(django_filters.FilterSet):
    """Filters shared by the audit page and the audit-log API."""

    action = django_filters.CharFilter(label=_("Action"), lookup_expr="startswith")
    actor = django_filters.CharFilter(
        field_name="actor_label", label=_("Actor"), lookup_expr="iexact"
    )
    object_type = django_filters.CharFilter(label=_("Object type"))
    object_id = django_filters.CharFilter(label=_("Object id"))
    request_id = django_filters.CharFilter(label=_("Request id"))
    occurred_after = django_filters.IsoDateTimeFilter(
        field_name="occurred_at", lookup_expr="gte", label=_("From")
    )
    occurred_before = django_filters.IsoDateTimeFilter(
        field_name="occurred_at", lookup_expr="lt", label=_("Until")
    )

    class Meta:
        model = AuditEntry
        fields = ["action", "actor", "object_type", "object_id", "request_id"]
