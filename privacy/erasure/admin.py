"""Admin of erasure webhooks and their notifications."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from privacy.core.access import scope_queryset
from privacy.core.admin.base import (
    ScopedModelAdmin,
)
from privacy.core.masking import MASK
from privacy.erasure.services.webhooks import (
    erasure_notifications_retry,
    erasure_webhook_create,
    erasure_webhook_update,
    erasure_webhook_url_validate,
    webhook_secret_generate,
)
from privacy.models import (
    ErasureNotification,
    ErasureWebhook,
)


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
