from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminSite

from privacy.models import AuditEntry, StaffProfile, Team
from privacy.services import team_create

# The admin demands a verified second factor, like the staff UI.
admin.site.__class__ = OTPAdminSite
admin.site.site_header = _("Marketbase administration")
admin.site.site_title = _("Marketbase")


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only: the audit log is appended to by services and never edited."""

    list_display = [
        "occurred_at",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "ip_address",
    ]
    list_filter = ["action", "object_type", "occurred_at"]
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


class TeamCreationForm(forms.ModelForm):
    name = forms.CharField(label=_("Name"), max_length=150)

    class Meta:
        model = Team
        fields = ["name"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["__str__", "slug", "member_count", "created_at"]
    search_fields = ["group__name", "slug"]
    readonly_fields = ["group", "slug", "created_at"]

    def get_queryset(self, request):
        from django.db.models import Count

        return (
            super()
            .get_queryset(request)
            .select_related("group")
            .annotate(members=Count("group__user"))
        )

    @admin.display(description=_("members"), ordering="members")
    def member_count(self, obj):
        return obj.members

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = TeamCreationForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else []

    def save_model(self, request, obj, form, change):
        if not change:
            created = team_create(name=form.cleaned_data["name"], actor=request.user)
            obj.pk, obj.group_id, obj.slug = created.pk, created.group_id, created.slug
            obj._state.adding = False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "time_zone"]
    search_fields = ["user__username"]
    list_select_related = ["user"]
