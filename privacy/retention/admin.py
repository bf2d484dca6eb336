"""Admin of retention policies."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from privacy.core.reauth import reauth_is_recent, reauth_redirect
from privacy.models import (
    RetentionCategory,
    RetentionPolicy,
)
from privacy.retention.services import AUDIT_FLOOR_DAYS, retention_policy_update


class RetentionPolicyAdminForm(forms.ModelForm):
    class Meta:
        model = RetentionPolicy
        fields = ["retain_days", "is_active"]

    def clean_retain_days(self) -> int:
        days = self.cleaned_data["retain_days"]
        if self.instance.category == RetentionCategory.AUDIT_ENTRIES and days < AUDIT_FLOOR_DAYS:
            raise ValidationError(
                _("Audit entries are kept at least %(days)s days."),
                params={"days": AUDIT_FLOOR_DAYS},
            )
        return days


@admin.register(RetentionPolicy)
class RetentionPolicyAdmin(admin.ModelAdmin):
    """One policy per category, created by a migration: neither added nor deleted here. A
    change goes through the retention service, which audits it; the purge runs nightly or from
    the staff UI's "Run now"."""

    form = RetentionPolicyAdminForm
    list_display = ["category", "retain_days", "is_active", "last_run_at"]
    fields = [
        "category",
        "retain_days",
        "is_active",
        "last_run_at",
        "last_run_counts",
        "updated_at",
    ]
    readonly_fields = ["category", "last_run_at", "last_run_counts", "updated_at"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # As on the staff page: a shorter period can erase many customers at the next purge, so
        # a change needs a recent password and code. A stale session saves nothing and comes
        # back to this form (GET) after re-authenticating. Users who may not change policies get
        # the admin's usual refusal without being asked.
        if (
            request.method == "POST"
            and self.has_change_permission(request)
            and not reauth_is_recent(request)
        ):
            return reauth_redirect(request)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        retention_policy_update(
            policy=obj,
            retain_days=form.cleaned_data["retain_days"],
            is_active=form.cleaned_data["is_active"],
            actor=request.user,
        )
