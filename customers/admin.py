from collections import defaultdict

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import flatten_fieldsets
from django.utils.translation import gettext_lazy as _

from customers.masking import customer_masks
from customers.models import (
    Customer,
    CustomField,
    DateOrder,
    DuplicateCandidate,
    Event,
    Identity,
    ImportJob,
    ImportTemplate,
    MergeRecord,
    Purchase,
)
from customers.services.custom_fields import DEFINITION_FIELDS
from privacy.core.access import can_view_personal_data, scope_queryset
from privacy.core.admin.base import ScopedModelAdmin, masked_display
from privacy.erasure.services.erasure import subject_erase
from privacy.models import Team

_MASKED_PREFIX = "masked_"


def _can_see_personal_data(request) -> bool:
    return can_view_personal_data(request.user)


def _masked_columns() -> list[str]:
    """The customer's own columns among the masked fields (display_name is a property of two)."""
    masks = customer_masks()
    return [field.name for field in Customer._meta.concrete_fields if field.name in masks]


def _is_masked_lookup(lookup: str) -> bool:
    """Whether a search field or filter lookup reaches a masked column of the customer."""
    return lookup.lstrip("^=@").split("__")[0] in customer_masks()


class IdentityInline(admin.TabularInline):
    model = Identity
    fields = ["kind", "channel", "external_id", "source", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    @admin.display(description=_("external id"))
    def external_id(self, obj):
        return obj.lookup_key if obj.kind == "external" else "—"

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Customer)
class CustomerAdmin(ScopedModelAdmin):
    """Customers: masked contact details without "view personal data".

    What is masked, and how, is what the record of processing says
    (``customers.masking.customer_masks``), as in the API: in the list, on the change form (a
    read-only masked value instead of an input), and in search and filters (a masked column
    can be neither searched nor filtered on, not even through the address bar).

    Deleting a customer, one by one or with the bulk action, erases the person through
    ``subject_erase``: everything personal attached goes and the email and phone are suppressed.
    """

    list_display = [
        "id",
        "masked_display_name",
        "masked_email",
        "masked_phone",
        "country",
        "source_channel",
        "owner_team",
        "rfm_group",
        "created_at",
    ]
    list_filter = ["owner_team", "country", "source_channel", "lifecycle_status", "rfm_group"]
    search_fields = ["=id", "email_domain", "company"]
    list_select_related = ["owner_team__group"]
    show_full_result_count = False
    inlines = [IdentityInline]
    readonly_fields = [
        "owner_team",
        "email_domain",
        "age_band",
        "order_count",
        "total_spend",
        "average_order_value",
        "lifetime_value",
        "first_purchase_at",
        "last_purchase_at",
        "rfm_recency",
        "rfm_frequency",
        "rfm_monetary",
        "rfm_group",
        "merged_into",
        "created_at",
        "updated_at",
    ]
    # Custom field values are edited as one form field per definition (``get_form``).
    exclude = ["name_index", "provenance", "attributes", "private_attributes"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(merged_into__isnull=True)

    def get_form(self, request, obj=None, change=False, **kwargs):
        from customers.forms import CUSTOM_FIELD_PREFIX, custom_form_fields

        if obj is not None:
            # The model form is made of the model's fields; the custom ones are added below.
            if "fields" in kwargs:
                fields = kwargs["fields"]
            else:
                fields = flatten_fieldsets(self.get_fieldsets(request, obj))
            if fields is not None:
                kwargs["fields"] = [
                    name for name in fields if not name.startswith(CUSTOM_FIELD_PREFIX)
                ]
        form_class = super().get_form(request, obj, change=change, **kwargs)
        if obj is None:
            return form_class

        custom, initial = custom_form_fields(obj, include_personal=_can_see_personal_data(request))

        class CustomerAdminForm(form_class):
            def __init__(self, *args, **form_kwargs):
                super().__init__(*args, **form_kwargs)
                self.fields.update(custom)
                for name, value in initial.items():
                    self.initial.setdefault(name, value)

        return CustomerAdminForm

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        from customers.forms import custom_form_fields

        custom, _initial = custom_form_fields(obj, include_personal=_can_see_personal_data(request))
        if not custom:
            return fieldsets
        return [*fieldsets, (_("Custom fields"), {"fields": list(custom)})]

    def __getattr__(self, name: str):
        # ``masked_<field>``: the column or form row of a field the record of processing masks.
        field_name = name.removeprefix(_MASKED_PREFIX)
        if name != field_name and field_name in customer_masks():
            label = (
                _("name")
                if field_name == "display_name"
                else Customer._meta.get_field(field_name).verbose_name
            )
            return masked_display(field_name, label, customer_masks)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def get_exclude(self, request, obj=None):
        hidden = list(self.exclude)
        if not _can_see_personal_data(request):
            hidden += _masked_columns()
        return hidden

    def get_readonly_fields(self, request, obj=None):
        readonly = list(self.readonly_fields)
        if not _can_see_personal_data(request):
            # Custom values are shown as custom fields (personal ones left out), not as a row.
            readonly += [
                f"{_MASKED_PREFIX}{name}" for name in _masked_columns() if name not in self.exclude
            ]
        return readonly

    def get_list_display(self, request):
        if not _can_see_personal_data(request):
            return self.list_display
        return [name.removeprefix(_MASKED_PREFIX) for name in self.list_display]

    def get_search_fields(self, request):
        if _can_see_personal_data(request):
            return self.search_fields
        return [name for name in self.search_fields if not _is_masked_lookup(name)]

    def get_list_filter(self, request):
        filters = super().get_list_filter(request)
        if _can_see_personal_data(request):
            return filters
        return [name for name in filters if not (isinstance(name, str) and _is_masked_lookup(name))]

    def lookup_allowed(self, lookup, value, request=None):
        # The admin lets any lookup on the model's own columns through the address bar
        # (?birth_date__year=1985): for masked columns that would disclose them one by one.
        if _is_masked_lookup(lookup) and not (request and _can_see_personal_data(request)):
            return False
        return super().lookup_allowed(lookup, value, request)

    def has_add_permission(self, request):
        # Customers arrive through import, the API or the staff UI, which normalise them.
        return False

    def has_delete_permission(self, request, obj=None):
        # The role must grant customers.delete_customer (Administrator does); the customer must
        # be one the user may delete (own team, or a delete grant on it).
        if not request.user.has_perm("customers.delete_customer"):
            return False
        if obj is None:
            return True
        return scope_queryset(
            request.user, Customer.objects.filter(pk=obj.pk), action="delete"
        ).exists()

    def get_deleted_objects(self, objs, request):
        # Django's confirmation page would load every related row (events by the hundred
        # thousand) and ask for delete rights on each related model; the erasure removes them
        # all, so the page names the customers only.
        customers = list(objs)
        summary = {Customer._meta.verbose_name_plural: len(customers)}
        return [str(customer) for customer in customers], summary, set(), []

    def delete_model(self, request, obj):
        subject_erase(
            customer_ids=[obj.pk], team=obj.owner_team, actor=request.user, reason="admin"
        )

    def delete_queryset(self, request, queryset):
        by_team: dict[int, list[int]] = defaultdict(list)
        for team_id, pk in scope_queryset(request.user, queryset, action="delete").values_list(
            "owner_team_id", "pk"
        ):
            by_team[team_id].append(pk)
        teams = Team.objects.in_bulk(list(by_team))
        for team_id, customer_ids in by_team.items():
            subject_erase(
                customer_ids=customer_ids, team=teams[team_id], actor=request.user, reason="admin"
            )

    actions = ["merge_selected"]

    @admin.action(description=_("Merge the selected customers into the oldest of them"))
    def merge_selected(self, request, queryset):
        from django.contrib import messages

        from customers.services.merge import customer_merge

        chosen = list(scope_queryset(request.user, queryset, action="change").order_by("pk"))
        if len(chosen) < 2 or len({c.owner_team_id for c in chosen}) != 1:
            self.message_user(
                request,
                _("Select at least two customers of the same team that you may change."),
                messages.ERROR,
            )
            return
        survivor = chosen[0]
        for other in chosen[1:]:
            customer_merge(survivor=survivor, merged=other, actor=request.user, reason="admin")
        self.message_user(
            request,
            _("%(count)d customers merged into customer #%(pk)d.")
            % {"count": len(chosen) - 1, "pk": survivor.pk},
            messages.SUCCESS,
        )

    def save_model(self, request, obj, form, change):
        from customers.services.customers import EDITABLE_FIELDS, customer_update

        changes = {
            name: form.cleaned_data[name] for name in form.changed_data if name in EDITABLE_FIELDS
        }
        from customers.forms import custom_form_changes

        if attributes := custom_form_changes(form):
            changes["attributes"] = attributes
        customer = Customer.objects.get(pk=obj.pk)
        customer_update(actor=request.user, customer=customer, changes=changes)


class CustomFieldAdminForm(forms.ModelForm):
    class Meta:
        model = CustomField
        fields = ["owner_team", *DEFINITION_FIELDS]
        labels = {"owner_team": _("Team")}
        help_texts = {"options": _("For choices: the options, separated by commas.")}

    def _post_clean(self):
        # The service's check, on a copy: the key's uniqueness in the team, ranges, patterns.
        from customers.services.custom_fields import custom_field_check

        values = {
            name: value
            for name, value in self.cleaned_data.items()
            if name in self._meta.fields and name != "owner_team"
        }
        team = self.cleaned_data.get("owner_team") or getattr(self.instance, "owner_team", None)
        candidate = CustomField(pk=self.instance.pk, owner_team=team)
        for name in self._meta.fields:
            if name != "owner_team":
                setattr(candidate, name, values.get(name, getattr(self.instance, name)))
        for name, message in custom_field_check(candidate).items():
            self.add_error(name if name in self.fields else None, _(message))


@admin.register(CustomField)
class CustomFieldAdmin(ScopedModelAdmin):
    """Custom field definitions of the user's teams, for administrators; written through the
    custom field services (audited). Deleting one clears its values from every customer."""

    form = CustomFieldAdminForm
    list_display = ["key", "label_en", "label_zh", "type", "is_personal_data", "owner_team"]
    list_filter = ["type", "is_personal_data", "owner_team"]
    search_fields = ["key", "label_en", "label_zh"]
    list_select_related = ["owner_team__group"]

    def get_readonly_fields(self, request, obj=None):
        fixed = ["owner_team", "key", "type", "is_personal_data"]
        return [*fixed, "created_at", "updated_at"] if obj else []

    def _manages(self, request) -> bool:
        return request.user.has_perm("customers.manage_customfield")

    def has_add_permission(self, request):
        return self._manages(request) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        return self._manages(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._manages(request) and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        from django.core.exceptions import ValidationError

        from customers.services.custom_fields import (
            DEFINITION_FIELDS,
            FIXED_FIELDS,
            custom_field_create,
            custom_field_update,
        )

        data = form.cleaned_data
        try:  # the form ran the service's check; a race is left to the service
            if change:
                changes = {
                    name: data[name]
                    for name in form.changed_data
                    if name in DEFINITION_FIELDS and name not in FIXED_FIELDS
                }
                definition = custom_field_update(
                    actor=request.user,
                    definition=CustomField.objects.get(pk=obj.pk),
                    changes=changes,
                )
            else:
                values = {name: data[name] for name in DEFINITION_FIELDS if name in data}
                definition = custom_field_create(
                    actor=request.user, team=data["owner_team"], values=values
                )
        except ValidationError as error:
            # Shown on the form by save_form's caller: raise before the redirect.
            raise forms.ValidationError(error.message_dict) from error
        obj.pk, obj.created_at = definition.pk, definition.created_at
        obj._state.adding = False

    def delete_model(self, request, obj):
        self.delete_queryset(request, CustomField.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        from customers.services.custom_fields import custom_field_delete

        for definition in scope_queryset(request.user, queryset, action="delete"):
            custom_field_delete(actor=request.user, definition=definition)


class ReadOnlyScopedAdmin(ScopedModelAdmin):
    """Records that services write; the admin lists and shows them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyScopedAdmin):
    list_display = ["id", "type", "customer_id", "occurred_at", "source"]
    list_filter = ["type", "source", "occurred_at"]
    search_fields = ["=customer__id", "=client_id", "type"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False
    raw_id_fields = ["customer"]


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyScopedAdmin):
    list_display = ["order_reference", "customer_id", "occurred_at", "amount", "currency", "source"]
    list_filter = ["currency", "source", "occurred_at"]
    search_fields = ["=order_reference", "=customer__id"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False
    raw_id_fields = ["customer"]


@admin.register(Identity)
class IdentityAdmin(ReadOnlyScopedAdmin):
    list_display = ["id", "kind", "channel", "customer_id", "source", "created_at"]
    list_filter = ["kind", "channel"]
    search_fields = ["=customer__id"]
    exclude = ["value", "lookup_key"]
    show_full_result_count = False


class ImportUploadAdminForm(forms.ModelForm):
    """Upload a file from the admin; the same service as the wizard and the API runs it."""

    upload = forms.FileField(label=_("CSV file"))
    default_country = forms.CharField(label=_("Default country"), max_length=2, required=False)
    source_channel = forms.CharField(label=_("Source channel"), max_length=32, required=False)
    keep_file = forms.BooleanField(label=_("Keep the file after the import"), required=False)

    class Meta:
        model = ImportJob
        fields = ["upload", "owner_team", "kind", "is_dry_run"]
        labels = {"owner_team": _("Team")}


@admin.register(ImportJob)
class ImportJobAdmin(ScopedModelAdmin):
    list_display = [
        "id",
        "kind",
        "original_filename",
        "owner_team",
        "status",
        "progress_percent",
        "created_count",
        "merged_count",
        "rejected_count",
        "created_at",
    ]
    list_filter = ["status", "kind", "owner_team", "is_dry_run"]
    search_fields = ["=id", "original_filename"]
    exclude = ["file"]
    list_select_related = ["owner_team__group"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ImportUploadAdminForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [field.name for field in self.model._meta.fields if field.name != "file"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        from django.core.exceptions import ValidationError

        from customers.services.imports import import_job_create

        data = form.cleaned_data
        options = {
            key: data[key]
            for key in ("default_country", "source_channel", "keep_file")
            if data.get(key)
        }
        try:
            job = import_job_create(
                user=request.user,
                team=data["owner_team"],
                upload=data["upload"],
                kind=data["kind"],
                options=options,
                is_dry_run=data["is_dry_run"],
            )
        except ValidationError as error:
            raise ValidationError(error.message_dict) from error
        obj.pk = job.pk
        obj._state.adding = False

    def add_view(self, request, form_url="", extra_context=None):
        from django.core.exceptions import ValidationError

        try:
            return super().add_view(request, form_url, extra_context)
        except ValidationError as error:
            from django.contrib import messages
            from django.shortcuts import redirect

            for problems in error.message_dict.values():
                for problem in problems:
                    self.message_user(request, problem, messages.ERROR)
            return redirect(request.path)


class ImportTemplateAdminForm(forms.ModelForm):
    class Meta:
        model = ImportTemplate
        fields = ["owner_team", "name", "kind", "mapping", "date_order"]
        labels = {"owner_team": _("Team")}
        help_texts = {"mapping": _('Column header to field name, e.g. {"E-Mail": "email"}.')}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "date_order" in self.fields:  # not on a read-only change form
            self.fields["date_order"].required = False  # left out: "auto", the model's default

    def clean_date_order(self) -> str:
        return self.cleaned_data.get("date_order") or DateOrder.AUTO

    def clean_mapping(self):
        mapping = self.cleaned_data["mapping"]
        if not isinstance(mapping, dict) or not all(
            isinstance(column, str) and isinstance(field, str) for column, field in mapping.items()
        ):
            raise forms.ValidationError(_("Give an object of column header to field name."))
        return mapping

    def clean(self):
        cleaned = super().clean()
        team = cleaned.get("owner_team") or getattr(self.instance, "owner_team", None)
        name = cleaned.get("name")
        others = ImportTemplate.objects.exclude(pk=self.instance.pk)
        if team and name and others.filter(owner_team=team, name=name).exists():
            self.add_error("name", _("The team already has a template of this name."))
        return cleaned


@admin.register(ImportTemplate)
class ImportTemplateAdmin(ScopedModelAdmin):
    """Saved column mappings of the user's teams, written through the import-template services
    (audited). A template keeps its team; the wizard saves them too."""

    form = ImportTemplateAdminForm
    list_display = ["name", "kind", "date_order", "owner_team", "created_at"]
    list_filter = ["kind", "owner_team"]
    list_select_related = ["owner_team__group"]

    def get_readonly_fields(self, request, obj=None):
        return ["owner_team", "created_at"] if obj else []

    def save_model(self, request, obj, form, change):
        from customers.services.imports import (
            TEMPLATE_CHANGEABLE_FIELDS,
            import_template_save,
            import_template_update,
        )

        data = form.cleaned_data
        if change:
            changes = {
                name: data[name] for name in form.changed_data if name in TEMPLATE_CHANGEABLE_FIELDS
            }
            template = import_template_update(
                user=request.user, template=ImportTemplate.objects.get(pk=obj.pk), changes=changes
            )
        else:
            template = import_template_save(
                user=request.user,
                team=data["owner_team"],
                name=data["name"],
                kind=data["kind"],
                mapping=data["mapping"],
                date_order=data["date_order"],
            )
        obj.pk, obj.created_at = template.pk, template.created_at
        obj._state.adding = False

    def delete_model(self, request, obj):
        self.delete_queryset(request, ImportTemplate.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        from customers.services.imports import import_templates_delete

        chosen = list(scope_queryset(request.user, queryset, action="delete"))
        import_templates_delete(user=request.user, templates=chosen)


@admin.register(MergeRecord)
class MergeRecordAdmin(ReadOnlyScopedAdmin):
    list_display = [
        "id",
        "survivor_id",
        "merged_id",
        "reason",
        "performed_by",
        "performed_at",
        "undone_at",
    ]
    list_filter = ["reason", "performed_at"]
    exclude = ["survivor_before", "moved"]


@admin.register(DuplicateCandidate)
class DuplicateCandidateAdmin(ReadOnlyScopedAdmin):
    list_display = [
        "id",
        "first_id",
        "second_id",
        "score",
        "reason",
        "status",
        "decided_by",
        "created_at",
    ]
    list_filter = ["status", "reason"]
    ordering = ["-score", "id"]  # the most alike first, as in the queue
