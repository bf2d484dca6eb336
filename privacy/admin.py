from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from privacy.core.access import scope_queryset
from privacy.core.admin import accounts as admin_accounts
from privacy.core.admin.base import (
    MarketbaseAdminSite,
    OwnChoicesMixin,
    ScopedModelAdmin,
    colleague_choices,
    team_choices,
)
from privacy.core.forms import PreferencesForm
from privacy.core.masking import MASK, mask_email, mask_name, mask_phone, mask_text
from privacy.core.reauth import reauth_is_recent, reauth_redirect
from privacy.core.selectors import visible_teams
from privacy.core.services.audit import staff_profile_update, staff_profiles_delete, team_create
from privacy.erasure.services.webhooks import (
    erasure_notifications_retry,
    erasure_webhook_create,
    erasure_webhook_update,
    erasure_webhook_url_validate,
    webhook_secret_generate,
)
from privacy.models import (
    AuditEntry,
    DataSubjectRequest,
    ErasureNotification,
    ErasureWebhook,
    RetentionCategory,
    RetentionPolicy,
    StaffProfile,
    Team,
)
from privacy.requests.forms import CustomerNumbersField
from privacy.requests.selectors import requests_with_overdue
from privacy.requests.services.lifecycle import RequestError, request_create
from privacy.retention.services import AUDIT_FLOOR_DAYS, retention_policy_update

# The admin demands a verified second factor, like the staff UI, and signs in through it.
admin.site.__class__ = MarketbaseAdminSite
admin.site.site_header = _("Marketbase administration")
admin.site.site_title = _("Marketbase")
# Accounts, groups and API tokens: scoped, and saved through the audited account services.
admin_accounts.register(admin.site)


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

        # Superusers see every team; anyone else who may view teams sees their own.
        user = request.user
        visible = visible_teams(user) if user.has_perm("privacy.view_team") else Team.objects.none()
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
class StaffProfileAdmin(OwnChoicesMixin, admin.ModelAdmin):
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


class _ErasureWebhookForm(forms.ModelForm):
    # An address typed without a scheme is taken as https, the only one production accepts.
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")

    def clean_url(self):
        url = self.cleaned_data["url"]
        try:
            erasure_webhook_url_validate(url=url)
        except ValidationError as error:
            raise ValidationError(error.message_dict["url"]) from error
        return url


class ErasureWebhookAddForm(_ErasureWebhookForm):
    secret = forms.CharField(
        label=_("Signing secret"),
        max_length=128,
        initial=webhook_secret_generate,
        help_text=_(
            "Give this secret to the recipient now: after saving, it is only shown masked."
        ),
    )

    class Meta:
        model = ErasureWebhook
        fields = ["owner_team", "name", "url", "channel", "secret", "is_active"]


class ErasureWebhookChangeForm(_ErasureWebhookForm):
    new_secret = forms.CharField(
        label=_("New signing secret"),
        max_length=128,
        required=False,
        help_text=_("Leave empty to keep the current secret."),
    )

    class Meta:
        model = ErasureWebhook
        fields = ["name", "url", "channel", "is_active"]


@admin.register(ErasureWebhook)
class ErasureWebhookAdmin(ScopedModelAdmin):
    """Recipients told of every erasure of their team's customers.

    Added and changed through the webhook services (address checked, audited); the signing
    secret is shown only while adding, masked afterwards. A webhook is deactivated rather than
    deleted, so its delivery log stays.
    """

    list_display = ["name", "owner_team", "url", "channel", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name"]
    list_select_related = ["owner_team__group"]

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = ErasureWebhookAddForm if obj is None else ErasureWebhookChangeForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        return ["owner_team", "masked_secret", "created_at"] if obj else []

    @admin.display(description=_("signing secret"))
    def masked_secret(self, obj):
        return f"{MASK}{obj.secret[-4:]}" if obj.secret else ""

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            changes = {
                name: data[name]
                for name in form.changed_data
                if name in {"name", "url", "channel", "is_active"}
            }
            if data.get("new_secret"):
                changes["secret"] = data["new_secret"]
            erasure_webhook_update(
                webhook=ErasureWebhook.objects.get(pk=obj.pk), changes=changes, actor=request.user
            )
            return
        webhook = erasure_webhook_create(
            team=data["owner_team"],
            name=data["name"],
            url=data["url"],
            channel=data["channel"],
            secret=data["secret"],
            is_active=data["is_active"],
            actor=request.user,
        )
        obj.pk, obj.created_at = webhook.pk, webhook.created_at
        obj._state.adding = False


@admin.register(ErasureNotification)
class ErasureNotificationAdmin(ScopedModelAdmin):
    """The delivery log of erasure webhooks: written by the erasure and the delivery task.

    The body sent is never shown (it names erased customers). It is cleared when delivery
    fails for good, so only a failed notification that still has one can be sent again.
    """

    list_display = [
        "created_at",
        "webhook",
        "erasure_reference",
        "request_id",
        "status",
        "attempts",
        "response_status",
        "last_error",
        "delivered_at",
    ]
    list_filter = ["status"]
    search_fields = ["=erasure_reference"]
    list_select_related = ["webhook"]
    show_full_result_count = False
    exclude = ["payload"]
    actions = ["deliver_again"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields if field.name != "payload"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_deliver_again_permission(self, request):
        return request.user.has_perm("privacy.change_erasurenotification")

    @admin.action(
        description=_("Send the selected failed notifications again"),
        permissions=["deliver_again"],
    )
    def deliver_again(self, request, queryset):
        chosen = scope_queryset(request.user, queryset, action="change").values_list(
            "pk", flat=True
        )
        result = erasure_notifications_retry(notification_ids=list(chosen), actor=request.user)
        if result.without_payload:
            self.message_user(
                request,
                ngettext(
                    "%(count)d notification cannot be sent again: its content was deleted when "
                    "its delivery failed for good. Tell the recipient of its erasure reference "
                    "another way.",
                    "%(count)d notifications cannot be sent again: their content was deleted when "
                    "their delivery failed for good. Tell the recipients of their erasure "
                    "references another way.",
                    result.without_payload,
                )
                % {"count": result.without_payload},
                messages.ERROR,
            )
        if result.retried or not result.without_payload:
            self.message_user(
                request,
                ngettext(
                    "%(count)d notification will be sent again.",
                    "%(count)d notifications will be sent again.",
                    result.retried,
                )
                % {"count": result.retried},
                messages.SUCCESS if result.retried else messages.WARNING,
            )


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


# --- Data-subject requests ----------------------------------------------------------------------


class DataSubjectRequestIntakeForm(forms.ModelForm):
    """Intake from the admin: what the staff UI's intake asks, for ``request_create``."""

    subject_email = forms.CharField(label=_("Email"), required=False, max_length=254)
    subject_phone = forms.CharField(
        label=_("Phone"),
        required=False,
        max_length=64,
        help_text=_("With its country code, e.g. +44 20 7946 0000."),
    )
    subject_name = forms.CharField(label=_("Name"), required=False, max_length=200)
    details = forms.CharField(
        label=_("What the person wrote"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    customer_ids = CustomerNumbersField(
        label=_("Customer numbers (optional)"),
        required=False,
        help_text=_("Numbers of customers you already know the request is about."),
    )
    # What the service refused after the form was valid; shown when the form comes back.
    service_error: RequestError | None = None

    class Meta:
        model = DataSubjectRequest
        fields = ["owner_team", "kind", "channel", "received_at"]

    def clean(self):
        cleaned = super().clean()
        if self.service_error is not None:
            field = self.service_error.field
            self.add_error(field if field in self.fields else None, self.service_error.message)
        return cleaned


class RequestOverdueFilter(admin.SimpleListFilter):
    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("Overdue")), ("no", _("Not overdue"))]

    def queryset(self, request, queryset):
        if self.value() in {"yes", "no"}:
            return queryset.filter(is_overdue=self.value() == "yes")
        return queryset


_SERVICE_ERROR_ATTRIBUTE = "data_subject_request_intake_error"


@admin.register(DataSubjectRequest)
class DataSubjectRequestAdmin(ScopedModelAdmin):
    """Data-subject requests of the user's teams.

    Adding one is intake through ``request_create`` (customers looked up, due date set, audited).
    The steps after intake are taken in the Privacy area or through the API, so a recorded
    request is read-only here, and never deleted. The person's details, and the staff's notes
    (which may say what was corrected), are masked here; the Privacy area shows them to whoever
    may see them, and audits it.
    """

    list_display = ["number", "kind", "status", "received_at", "due", "outcome", "owner_team"]
    list_display_links = ["number"]
    list_filter = ["status", "kind", RequestOverdueFilter, "outcome", "channel", "owner_team"]
    search_fields = ["=id"]
    date_hierarchy = "received_at"
    show_full_result_count = False
    add_fieldsets = (
        (None, {"fields": ["owner_team", "kind", "channel", "received_at"]}),
        (
            _("The person, as they identified themselves"),
            {"fields": ["subject_email", "subject_phone", "subject_name", "customer_ids"]},
        ),
        (None, {"fields": ["details"]}),
    )
    view_fieldsets = (
        (
            None,
            {
                "fields": [
                    "number",
                    "staff_page",
                    "kind",
                    "status",
                    "owner_team",
                    "channel",
                    "received_at",
                    "due",
                    "extension_months",
                    "masked_extension_reason",
                ]
            },
        ),
        (
            _("The person (masked)"),
            {"fields": ["masked_email", "masked_phone", "masked_name", "customer_ids"]},
        ),
        (
            _("Answer"),
            {
                "fields": [
                    "verification_method",
                    "verified_at",
                    "verified_by",
                    "outcome",
                    "masked_outcome_note",
                    "completed_at",
                    "package_expires_at",
                    "created_by",
                    "created_at",
                ]
            },
        ),
    )

    def get_queryset(self, request):
        return requests_with_overdue(super().get_queryset(request))

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else self.view_fieldsets

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [name for _title, options in self.view_fieldsets for name in options["fields"]]

    def get_changeform_initial_data(self, request):
        initial = {"received_at": timezone.now()}
        candidates = list(team_choices(request.user)[:2])
        if len(candidates) == 1:
            initial["owner_team"] = candidates[0].pk
        return {**initial, **super().get_changeform_initial_data(request)}

    def get_form(self, request, obj=None, **kwargs):
        if obj is not None:
            return super().get_form(request, obj, **kwargs)
        kwargs["form"] = DataSubjectRequestIntakeForm
        form = super().get_form(request, obj, **kwargs)
        form.service_error = getattr(request, _SERVICE_ERROR_ATTRIBUTE, None)
        return form

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except RequestError as error:
            # The service refused the intake (an address that is not one, customer numbers of
            # another team) and the admin's transaction rolled back: the form is shown again,
            # with the service's words on the field at fault.
            setattr(request, _SERVICE_ERROR_ATTRIBUTE, error)
            return super().add_view(request, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        created = request_create(
            team=data["owner_team"],
            kind=data["kind"],
            channel=data["channel"],
            actor=request.user,
            received_at=data["received_at"],
            subject_email=data["subject_email"],
            subject_phone=data["subject_phone"],
            subject_name=data["subject_name"],
            details=data["details"],
            customer_ids=data["customer_ids"],
        )
        obj.pk, obj.due_on, obj.customer_ids = created.pk, created.due_on, created.customer_ids
        obj._state.adding = False
        found = len(created.customer_ids)
        self.message_user(
            request,
            ngettext(
                "%(count)d customer was found; the answer is due on %(due)s.",
                "%(count)d customers were found; the answer is due on %(due)s.",
                found,
            )
            % {"count": found, "due": created.due_on.isoformat()}
            if found
            else _("Nobody was found with these details: the answer will be “no data held”."),
            messages.INFO,
        )

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("number"), ordering="pk")
    def number(self, obj):
        return f"#{obj.pk}"

    @admin.display(description=_("due"), ordering="due_on")
    def due(self, obj):
        if getattr(obj, "is_overdue", False):
            return _("%(date)s (overdue)") % {"date": obj.due_on.isoformat()}
        return obj.due_on.isoformat()

    @admin.display(description=_("email"))
    def masked_email(self, obj):
        return mask_email(obj.subject_email)

    @admin.display(description=_("phone"))
    def masked_phone(self, obj):
        return mask_phone(obj.subject_phone)

    @admin.display(description=_("name"))
    def masked_name(self, obj):
        return mask_name(obj.subject_name)

    @admin.display(description=_("reason for the extension"))
    def masked_extension_reason(self, obj):
        return mask_text(obj.extension_reason)

    @admin.display(description=_("answer note"))
    def masked_outcome_note(self, obj):
        return mask_text(obj.outcome_note)

    @admin.display(description=_("steps"))
    def staff_page(self, obj):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("request-detail", kwargs={"pk": obj.pk}),
            _("Open the request in the Privacy area"),
        )
