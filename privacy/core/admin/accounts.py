"""The admin of staff accounts, role groups and API tokens, in place of the stock ones.

Everything that decides who sees what is saved through the account services
(``privacy.core.services.accounts``), which check the user's reach, audit each change and each
refusal: accounts' flags, teams and roles, passwords and API tokens. Lists and pages are scoped by
the access layer: an administrator sees the members of their teams and changes those they manage
(never a superuser, another administrator, or a member of another team), and is never shown
``is_superuser``, direct permissions, or teams other than their own. The forms offer only what
the user may choose; anything else posted is refused by the services, and audited.

Saving an account or a password, and making a token, need a recent password and code
(``privacy.core.reauth``). A token's key is shown once, on the page that answers its creation; it is
never stored.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model, update_session_auth_hash
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.models import Group
from django.db.models import Count, Exists, OuterRef
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_post_parameters

from privacy.core.admin.base import ScopedModelAdmin
from privacy.core.reauth import reauth_is_recent, reauth_redirect
from privacy.core.roles import ROLE_LABELS, ROLE_PERMISSIONS
from privacy.core.selectors import account_prefetches, api_tokens_for_user, token_holders_for_user
from privacy.core.services.accounts import (
    ACCOUNT_FIELDS,
    AccountError,
    AccountRefused,
    actor_teams,
    api_token_create,
    api_token_revoke,
    assignable_roles,
    team_membership_add,
    team_membership_remove,
    user_create,
    user_password_set,
    user_roles_set,
    user_update,
)
from privacy.models import ApiToken, Team

User = get_user_model()

# The request attribute that carries a service's refusal back into the form shown again.
_SERVICE_ERROR_ATTRIBUTE = "account_service_error"


class _OfferedChoices:
    """A choice field that offers some rows and accepts any row of its queryset.

    The widget lists what the user may choose; anything else of the queryset that is posted
    passes the form and reaches the service, which refuses it and audits the attempt (a form
    error would refuse it silently).
    """

    def offer(self, rows) -> None:
        choices = [(self.prepare_value(row), self.label_from_instance(row)) for row in rows]
        if getattr(self, "empty_label", None) is not None:
            choices.insert(0, ("", self.empty_label))
        self.widget.choices = choices


class OfferedChoiceField(_OfferedChoices, forms.ModelChoiceField):
    pass


class OfferedMultipleChoiceField(_OfferedChoices, forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple


class RoleChoiceField(OfferedMultipleChoiceField):
    def label_from_instance(self, obj) -> str:
        return str(ROLE_LABELS.get(obj.name, obj.name))


def _role_groups():
    return Group.objects.filter(name__in=ROLE_PERMISSIONS).order_by("name")


class _ServiceErrorForm:
    """A form made per request for ``actor``, that shows a service's refusal on its field."""

    actor = None  # set on the class ``_ServiceErrorAdmin.get_form`` makes for each request
    service_error: AccountError | None = None

    def clean(self):
        cleaned = super().clean()
        if self.service_error is not None:
            field = self.service_error.field
            self.add_error(field if field in self.fields else None, self.service_error.message)
        return cleaned


class _AccountForm(_ServiceErrorForm, forms.Form):
    """Teams and roles of an account, offered as the user (``actor``) may give them."""

    teams = OfferedMultipleChoiceField(
        queryset=Team.objects.all(),
        required=False,
        label=_("Teams"),
        help_text=_("Only your own teams are listed."),
    )
    roles = RoleChoiceField(queryset=_role_groups(), required=False, label=_("Roles"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        teams = actor_teams(self.actor)
        self.fields["teams"].offer(teams.select_related("group"))
        self.fields["roles"].offer(_role_groups().filter(name__in=assignable_roles(self.actor)))
        if self.instance.pk is not None:
            mine = teams.filter(group__user=self.instance)
            self.initial["teams"] = list(mine.values_list("pk", flat=True))
            held = _role_groups().filter(user=self.instance)
            self.initial["roles"] = list(held.values_list("pk", flat=True))

    def forged_superuser_flag(self) -> bool | None:
        """``is_superuser`` posted by a user who is not offered the field, or None."""
        if "is_superuser" in self.fields or "is_superuser" not in self.data:
            return None
        return forms.CheckboxInput().value_from_datadict(self.data, self.files, "is_superuser")


class AccountCreationForm(_AccountForm, AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = [*ACCOUNT_FIELDS, "is_superuser"]


class AccountChangeForm(_AccountForm, forms.ModelForm):
    class Meta:
        model = User
        fields = [*ACCOUNT_FIELDS, "is_superuser"]


class _ServiceErrorAdmin:
    """Admin views that save through the account services.

    The admin saves in a transaction of its own: a refusal rolls back what was saved and the
    refusal's entry with it, so the entry is recorded again outside, and the form comes back
    with the service's words on the field at fault.
    """

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.actor = request.user
        form.service_error = getattr(request, _SERVICE_ERROR_ATTRIBUTE, None)
        return form

    def _saving(self, view, request, *args):
        try:
            return view(request, *args)
        except AccountError as error:
            if isinstance(error, AccountRefused):
                error.ensure_audited()
            setattr(request, _SERVICE_ERROR_ATTRIBUTE, error)
            return view(request, *args)


sensitive_post_parameters_m = method_decorator(sensitive_post_parameters())


class AccountAdmin(_ServiceErrorAdmin, ScopedModelAdmin, DjangoUserAdmin):
    """Staff accounts, through the account services."""

    form = AccountChangeForm
    add_form = AccountCreationForm
    list_display = ["username", "email", "first_name", "last_name", "teams", "roles", "is_active"]
    list_filter = ["is_active", "is_staff"]
    search_fields = ["username", "first_name", "last_name", "email"]
    filter_horizontal = ()
    readonly_fields = ["password_state", "last_login", "date_joined"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(*account_prefetches(request.user))

    def lookup_allowed(self, lookup, value, request=None):
        # is_superuser is not shown to others than superusers: not filtered by it either.
        if lookup.startswith("is_superuser") and not (request and request.user.is_superuser):
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_list_display(self, request):
        extra = ["is_staff", "is_superuser"] if request.user.is_superuser else ["is_staff"]
        return [*self.list_display, *extra]

    def get_list_filter(self, request):
        return (
            [*self.list_filter, "is_superuser"] if request.user.is_superuser else self.list_filter
        )

    def _flags(self, request) -> list[str]:
        flags = ["is_active", "is_staff"]
        return [*flags, "is_superuser"] if request.user.is_superuser else flags

    def get_fieldsets(self, request, obj=None):
        access = (_("Access"), {"fields": [*self._flags(request), "teams", "roles"]})
        personal = (_("Personal info"), {"fields": ["first_name", "last_name", "email"]})
        if obj is None:
            password = ["usable_password", "password1", "password2"]
            return [(None, {"fields": ["username", *password]}), personal, access]
        dates = (_("Important dates"), {"fields": ["last_login", "date_joined"]})
        return [(None, {"fields": ["username", "password_state"]}), personal, access, dates]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj is not None else []

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = self.add_form if obj is None else self.form
        return super().get_form(request, obj, **kwargs)

    def has_delete_permission(self, request, obj=None):
        # Accounts are deactivated, never deleted: their audit entries keep naming them.
        return False

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and not reauth_is_recent(request):
            may_save = (
                self.has_add_permission(request)
                if object_id is None
                else self.has_change_permission(request)
            )
            if may_save:
                return reauth_redirect(request)
        return self._saving(super().changeform_view, request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        teams = list(data.get("teams") or [])
        role_names = [group.name for group in data.get("roles") or []]
        if not change:
            created = user_create(
                actor=request.user,
                username=data["username"],
                email=data.get("email", ""),
                first_name=data.get("first_name", ""),
                last_name=data.get("last_name", ""),
                password=data.get("password1") if data.get("set_usable_password") else None,
                is_active=data.get("is_active", True),
                is_staff=data.get("is_staff", False),
                is_superuser=bool(data.get("is_superuser") or form.forged_superuser_flag()),
                teams=teams,
                role_names=role_names,
            )
            obj.pk, obj.password = created.pk, created.password
            obj._state.adding = False
            return
        user = User._default_manager.get(pk=obj.pk)
        changeable = {*ACCOUNT_FIELDS, "is_superuser"}
        changes = {name: data[name] for name in form.changed_data if name in changeable}
        forged = form.forged_superuser_flag()
        if forged is not None:
            changes["is_superuser"] = forged
        user_update(actor=request.user, user=user, changes=changes)
        current = set(form.initial.get("teams", []))
        for team in teams:
            if team.pk not in current:
                team_membership_add(actor=request.user, user=user, team=team)
        for team in Team.objects.filter(pk__in=current - {team.pk for team in teams}):
            team_membership_remove(actor=request.user, user=user, team=team)
        if "roles" in form.changed_data:
            user_roles_set(actor=request.user, user=user, role_names=role_names)

    def save_related(self, request, form, formsets, change):
        """Teams and roles were saved by the services; there is nothing else."""

    @sensitive_post_parameters_m
    def user_change_password(self, request, id, form_url=""):
        user = self.get_object(request, unquote(id))
        if (
            request.method != "POST"
            or user is None
            or not self.has_change_permission(request, user)
        ):
            return super().user_change_password(request, id, form_url)
        if not reauth_is_recent(request):
            return reauth_redirect(request)
        form = self.change_password_form(user, request.POST)
        usable = form.is_valid() and form.cleaned_data["set_usable_password"]
        if not form.is_valid() or not (usable or "unset-password" in request.POST):
            # The stock view shows the form with its errors (and saves nothing).
            return super().user_change_password(request, id, form_url)
        try:
            user_password_set(
                actor=request.user,
                user=user,
                password=form.cleaned_data["password1"] if usable else None,
            )
        except AccountError as error:
            messages.error(request, error.message)
            return redirect(request.get_full_path())
        if user.pk == request.user.pk:
            update_session_auth_hash(request, user)
        messages.success(
            request,
            _("Password changed.") if usable else _("Password-based sign-in was disabled."),
        )
        return redirect(reverse("admin:auth_user_change", args=[user.pk]))

    @admin.display(description=_("teams"))
    def teams(self, obj) -> str:
        return ", ".join(group.name for group in obj.shown_team_groups)

    @admin.display(description=_("roles"))
    def roles(self, obj) -> str:
        return ", ".join(str(ROLE_LABELS.get(g.name, g.name)) for g in obj.role_groups)

    @admin.display(description=_("password"))
    def password_state(self, obj) -> str:
        state = _("set") if obj.has_usable_password() else _("none: cannot sign in with one")
        return format_html(
            '{} · <a href="{}">{}</a>',
            state,
            reverse("admin:auth_user_password_change", args=[obj.pk]),
            _("Set a password"),
        )


class RoleGroupAdmin(admin.ModelAdmin):
    """Groups, read-only, for superusers: the four roles (defined in ``privacy/core/roles.py`` and
    re-synced at every migrate) and the groups that hold each team's members. Memberships are
    changed on the accounts."""

    list_display = ["name", "kind", "member_count"]
    search_fields = ["name"]
    fields = ["name", "kind", "permission_names"]
    readonly_fields = fields

    def get_queryset(self, request):
        is_team = Exists(Team.objects.filter(group=OuterRef("pk")))
        return super().get_queryset(request).annotate(members=Count("user"), is_team=is_team)

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("kind"))
    def kind(self, obj) -> str:
        if obj.name in ROLE_PERMISSIONS:
            return _("role")
        return _("team") if obj.is_team else _("group")

    @admin.display(description=_("members"), ordering="members")
    def member_count(self, obj) -> int:
        return obj.members

    @admin.display(description=_("permissions"))
    def permission_names(self, obj) -> str:
        names = obj.permissions.select_related("content_type").order_by(
            "content_type__app_label", "codename"
        )
        return ", ".join(f"{p.content_type.app_label}.{p.codename}" for p in names)


class ApiTokenAddForm(_ServiceErrorForm, forms.ModelForm):
    user = OfferedChoiceField(queryset=User._default_manager.all(), label=_("Account"))

    class Meta:
        model = ApiToken
        fields = ["user", "name", "expires_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].offer(token_holders_for_user(self.actor).order_by("username"))


class ApiTokenAdmin(_ServiceErrorAdmin, ScopedModelAdmin):
    """API tokens: made here (the key is shown once), revoked with the list's action; never
    edited or deleted, so that the list keeps what each token was and when it was used."""

    list_display = [
        "key_prefix",
        "name",
        "user",
        "state",
        "created_at",
        "created_by",
        "expires_at",
        "last_used_at",
        "revoked_at",
    ]
    list_filter = ["revoked_at", "expires_at"]
    search_fields = ["name", "=prefix", "user__username"]
    list_select_related = ["user", "created_by"]
    actions = ["revoke"]
    # A token's page shows what the list does: never the key, which is not stored.
    view_fields = list_display

    def get_fields(self, request, obj=None):
        return ["user", "name", "expires_at"] if obj is None else self.view_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.view_fields

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiTokenAddForm
        return super().get_form(request, obj, **kwargs)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_revoke_permission(self, request):
        return request.user.has_perm("privacy.change_apitoken")

    def add_view(self, request, form_url="", extra_context=None):
        if (
            request.method == "POST"
            and self.has_add_permission(request)
            and not reauth_is_recent(request)
        ):
            return reauth_redirect(request)
        return self._saving(super().add_view, request, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        token, key = api_token_create(
            actor=request.user,
            user=data["user"],
            name=data["name"],
            expires_at=data.get("expires_at"),
        )
        obj.pk, obj.prefix, obj.created_at = token.pk, token.prefix, token.created_at
        obj._state.adding = False
        obj.shown_key = key

    def response_add(self, request, obj, post_url_continue=None):
        """The key, this once, on the page itself: never in a message, a session or a URL."""
        response = TemplateResponse(
            request,
            "admin/privacy/apitoken/created.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": _("API token created"),
                "token": obj,
                "key": obj.shown_key,
                "list_url": reverse("admin:privacy_apitoken_changelist"),
            },
        )
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description=_("Revoke the selected tokens"), permissions=["revoke"])
    def revoke(self, request, queryset):
        tokens = api_tokens_for_user(request.user, action="change").filter(
            pk__in=queryset.values("pk"), revoked_at__isnull=True
        )
        count = 0
        for token in tokens:
            api_token_revoke(actor=request.user, token=token)
            count += 1
        self.message_user(
            request,
            ngettext("%(count)d token revoked.", "%(count)d tokens revoked.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    @admin.display(description=_("key starts with"), ordering="prefix")
    def key_prefix(self, obj) -> str:
        return f"{obj.prefix}…"

    @admin.display(description=_("state"))
    def state(self, obj) -> str:
        if obj.revoked_at is not None:
            return _("revoked")
        if obj.is_expired(timezone.now()):
            return _("expired")
        return _("active")


def register(site: admin.AdminSite) -> None:
    """Replace the stock account and group admins; add the API tokens'."""
    for model in (User, Group):
        if site.is_registered(model):
            site.unregister(model)
    site.register(User, AccountAdmin)
    site.register(Group, RoleGroupAdmin)
    site.register(ApiToken, ApiTokenAdmin)
