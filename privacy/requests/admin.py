"""Admin of data-subject requests: intake and the list, scoped by team."""

import functools

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from privacy.core.admin.base import (
    ScopedModelAdmin,
    masked_display,
    team_choices,
)
from privacy.core.masking import masks_for
from privacy.models import (
    DataSubjectRequest,
)
from privacy.requests.forms import CustomerNumbersField
from privacy.requests.selectors import requests_with_overdue
from privacy.requests.services.lifecycle import RequestError, intake_fields, request_create

# --- Data-subject requests ----------------------------------------------------------------------


_SERVICE_ERROR_ATTRIBUTE = "data_subject_request_intake_error"
_masks = functools.partial(masks_for, DataSubjectRequest)


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


@admin.register(DataSubjectRequest)
class DataSubjectRequestAdmin(ScopedModelAdmin):
    """Data-subject requests of the user's teams.

    Adding one is intake through ``request_create`` (customers looked up, due date set, audited).
    The steps after intake (carrying the request out, recording the answer sent) are taken in
    the Privacy area or through the API, so a recorded
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
                    "answered_at",
                    "answer_channel",
                    "masked_answer_note",
                    "answered_by",
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
            actor=request.user,
            **intake_fields(data),
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

    # The person's details and the staff's notes as the record of processing masks them.
    masked_email = staticmethod(masked_display("subject_email", _("email"), _masks))
    masked_phone = staticmethod(masked_display("subject_phone", _("phone"), _masks))
    masked_name = staticmethod(masked_display("subject_name", _("name"), _masks))
    masked_extension_reason = staticmethod(
        masked_display("extension_reason", _("reason for the extension"), _masks)
    )
    masked_outcome_note = staticmethod(masked_display("outcome_note", _("answer note"), _masks))
    masked_answer_note = staticmethod(
        masked_display("answer_note", _("note on the answer sent"), _masks)
    )

    @admin.display(description=_("steps"))
    def staff_page(self, obj):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("request-detail", kwargs={"pk": obj.pk}),
            _("Open the request in the Privacy area"),
        )
