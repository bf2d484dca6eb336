"""Admin of the audit log: read-only, scoped by team."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from privacy.core import labels
from privacy.core.admin.base import (
    ScopedModelAdmin,
)
from privacy.models import (
    AuditEntry,
)


class _CodeFilter(admin.SimpleListFilter):
    """Entries by a registered code, offered by its name (``privacy.core.labels``)."""

    kind = ""

    def lookups(self, request, model_admin):
        named = [(code, labels.label(self.kind, code)) for code in labels.labels(self.kind)]
        return sorted(named, key=lambda pair: pair[1])

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(**{self.parameter_name: value}) if value else queryset


class ActionFilter(_CodeFilter):
    title = _("action")
    parameter_name = "action"
    kind = labels.AUDIT_ACTION


class ObjectTypeFilter(_CodeFilter):
    title = _("object type")
    parameter_name = "object_type"
    kind = labels.OBJECT_TYPE


@admin.register(AuditEntry)
class AuditEntryAdmin(ScopedModelAdmin):
    """Read-only: the audit log is appended to by services and never edited.

    Scoped like the audit page and the API: data stewards (and whoever else may view audit
    entries) read their teams' entries, administrators every entry.
    """

    list_display = [
        "occurred_at",
        "actor_label",
        "action_name",
        "object_type_name",
        "object_id",
        "ip_address",
    ]
    list_filter = [ActionFilter, ObjectTypeFilter, "team", "occurred_at"]
    search_fields = ["=object_id", "=request_id", "=actor_label", "^action"]
    date_hierarchy = "occurred_at"
    list_select_related = False
    show_full_result_count = False

    @admin.display(description=_("action"), ordering="action")
    def action_name(self, entry: AuditEntry) -> str:
        return labels.label(labels.AUDIT_ACTION, entry.action)

    @admin.display(description=_("object type"), ordering="object_type")
    def object_type_name(self, entry: AuditEntry) -> str:
        return labels.label(labels.OBJECT_TYPE, entry.object_type)

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
