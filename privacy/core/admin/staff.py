"""Admin of teams and staff members' display preferences."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from privacy.core.access import teams_for_user
from privacy.core.admin.base import (
    OwnChoicesMixin,
    PermittedLinksMixin,
    PersonalDataViewsAuditMixin,
    colleague_choices,
)
from privacy.core.forms import PreferencesForm
from privacy.core.services.staff import staff_profile_update, staff_profiles_delete, team_create
from privacy.models import (
    StaffProfile,
    Team,
)


class TeamCreationForm(forms.ModelForm):
    name = forms.CharField(label=_("Name"), max_length=150)

    class Meta:
        model = Team
        fields = ["name"]


@admin.register(Team)
class TeamAdmin(PermittedLinksMixin, admin.ModelAdmin):
    list_display = ["__str__", "slug", "member_count", "created_at"]
    search_fields = ["group__name", "slug"]
    readonly_fields = ["group", "slug", "created_at"]

    def get_queryset(self, request):
        from django.db.models import Count

        # Superusers see every team; anyone else who may view teams sees their own.
        user = request.user
        visible = (
            teams_for_user(user) if user.has_perm("privacy.view_team") else Team.objects.none()
        )
        return (
            super()
            .get_queryset(request)
            .filter(pk__in=visible.values("pk"))
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


class StaffProfileAdminForm(forms.ModelForm):
    # The choices of the Preferences page: a zone the staff UI can show times in.
    time_zone = PreferencesForm.base_fields["time_zone"]

    class Meta:
        model = StaffProfile
        fields = ["user", "time_zone"]


@admin.register(StaffProfile)
class StaffProfileAdmin(
    PersonalDataViewsAuditMixin, PermittedLinksMixin, OwnChoicesMixin, admin.ModelAdmin
):
    """Display preferences of the staff of the user's teams (of everyone, for whoever may
    change accounts), saved through ``staff_profile_update`` like the Preferences page, and
    audited; a profile keeps its account."""

    form = StaffProfileAdminForm
    list_display = ["user", "time_zone"]
    search_fields = ["user__username"]
    list_select_related = ["user"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(user__in=colleague_choices(request.user))

    def get_readonly_fields(self, request, obj=None):
        return ["user"] if obj else []

    def save_model(self, request, obj, form, change):
        user = obj.user if change else form.cleaned_data["user"]
        profile = staff_profile_update(
            user=user, time_zone=form.cleaned_data["time_zone"], actor=request.user
        )
        obj.pk = profile.pk
        obj._state.adding = False

    def delete_model(self, request, obj):
        staff_profiles_delete(profiles=[obj], actor=request.user)

    def delete_queryset(self, request, queryset):
        staff_profiles_delete(profiles=list(queryset), actor=request.user)
