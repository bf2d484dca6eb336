"""Admin base classes that scope every list and object through the access layer."""

from __future__ import annotations

from django.contrib import admin

from privacy.access import scope_queryset


class ScopedModelAdmin(admin.ModelAdmin):
    """Lists and objects limited by team ownership and object grants, in SQL.

    An object outside the user's scope is simply not found (the admin answers 404), and
    changing needs the change grant on that very object.
    """

    def get_queryset(self, request):
        return scope_queryset(request.user, super().get_queryset(request), action="view")

    def has_change_permission(self, request, obj=None):
        if obj is None:
            return super().has_change_permission(request) or self._granted(request, "change")
        return scope_queryset(
            request.user, self.model._default_manager.filter(pk=obj.pk), action="change"
        ).exists()

    def has_view_permission(self, request, obj=None):
        if obj is None:
            return super().has_view_permission(request) or self._granted(request, "view")
        return scope_queryset(
            request.user, self.model._default_manager.filter(pk=obj.pk), action="view"
        ).exists()

    def _granted(self, request, action: str) -> bool:
        # Object grants alone let a user into the changelist, which shows only those rows.
        return scope_queryset(
            request.user, self.model._default_manager.all(), action=action
        ).exists()
