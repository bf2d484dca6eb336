"""Admin of the audit log: read-only, scoped by team."""

from django.contrib import admin

from privacy.core.admin.base import (
    ScopedModelAdmin,
)
from privacy.models import (
    AuditEntry,
)


@admin.register(AuditEntry)
class AuditEntryAdmin(ScopedModelAdmin):
    """Read-only: the audit log is appended to by services and never edited.

    Scoped like the audit page and the API: data stewards (and whoever else may view audit
    entries) read their teams' entries, administrators every entry.
    """

    list_display = [
        "occurred_at",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "ip_address",
    ]
    list_filter = ["action", "object_type", "team", "occurred_at"]
    search_fields = ["=object_id", "=request_id", "=actor_label", "^action"]
    date_hierarchy = "occurred_at"
    list_select_related = False
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
