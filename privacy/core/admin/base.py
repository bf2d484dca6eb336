"""Admin base classes: the site, and model admins that scope every list and object through the
access layer, offer only the user's teams (and colleagues) to choose from, audit refusals and
ask for a recent re-authentication before deleting.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html
from django_otp.admin import OTPAdminSite

from privacy.core.access import scope_queryset, teams_for_user, user_teams
from privacy.core.masking import Mask
from privacy.core.reauth import reauth_is_recent, reauth_redirect
from privacy.core.refusals import OUT_OF_SCOPE, access_denied_record
from privacy.core.services.audit import audit_record, personal_data_view_record
from privacy.models import Team


class MarketbaseAdminSite(OTPAdminSite):
    """The admin, for users who passed the TOTP step; signing in and out is audited.

    There is one sign-in, the staff pages', which audit the password step, the code step and
    their failures. The admin's own sign-in form would do none of that, so it sends everyone
    there (a verified user asking for it is sent on to the index, as Django does).
    """

    def login(self, request, extra_context=None):
        if request.method == "GET" and self.has_permission(request):
            return super().login(request, extra_context)
        target = request.GET.get("next") or reverse("admin:index", current_app=self.name)
        return redirect(f"{reverse('login')}?{urlencode({'next': target})}")

    def logout(self, request, extra_context=None):
        if request.method == "POST" and request.user.is_authenticated:
            audit_record(action="auth.logout", actor=request.user)
        return super().logout(request, extra_context)


def _after_reauth(action):
    """An admin action that first asks for a recent re-authentication.

    A stale session goes to the re-authentication page and comes back to the list (GET), where
    the user selects the rows and confirms again: nothing is deleted on the way.
    """

    @functools.wraps(action)
    def guarded(modeladmin, request, queryset):
        if not reauth_is_recent(request):
            return reauth_redirect(request)
        return action(modeladmin, request, queryset)

    return guarded


def masked_display(name: str, label: object, masks: Callable[[], dict[str, Mask]]):
    """A read-only admin column or form row showing field ``name`` of an object as ``masks()``
    (read when shown: what the record of processing masks) says, or as it is when it is not
    masked. A ``staticmethod`` of the model admin, or returned by its ``__getattr__``."""

    @admin.display(description=label)
    def masked(obj):
        mask = masks().get(name)
        value = getattr(obj, name)
        return mask(value) if mask else value

    return masked


def team_choices(user: AbstractBaseUser) -> QuerySet[Team]:
    """Teams the user may pick in an admin form: the user's own (every team for a superuser)."""
    return teams_for_user(user).select_related("group")


def colleague_choices(user: AbstractBaseUser) -> QuerySet:
    """Staff accounts the user may pick in an admin form: members of the user's teams, or every
    account for a superuser (a team administrator, too, reaches the members of their teams only).
    """
    accounts = get_user_model()._default_manager.order_by(get_user_model().USERNAME_FIELD)
    if user.is_superuser:
        return accounts
    members = get_user_model()._default_manager.filter(groups__team__in=user_teams(user))
    return accounts.filter(pk__in=members.values("pk"))


class OwnChoicesMixin:
    """Admin forms offer only the user's teams and colleagues in foreign keys to either.

    Django fills a foreign key's choices with every row, so without this a marketer adding a
    record could pick (and read the names of) every team and every account. A list filter on a
    team offers only the teams of the rows the user may see.
    """

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is Team:
            kwargs["queryset"] = team_choices(request.user)
        elif db_field.related_model is get_user_model():
            kwargs["queryset"] = colleague_choices(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_list_filter(self, request):
        team_fields = {
            field.name
            for field in self.model._meta.get_fields()
            if field.many_to_one and field.related_model is Team
        }
        return [
            (name, admin.RelatedOnlyFieldListFilter)
            if isinstance(name, str) and name in team_fields
            else name
            for name in super().get_list_filter(request)
        ]


def _related_link(model_admin: admin.ModelAdmin, request, field):
    """A read-only display of foreign key ``field``: a link to the related object's admin page
    when that page lets the user in (view or change permission on the object), its name
    otherwise."""

    @admin.display(description=field.verbose_name)
    def related_link(obj):
        related = getattr(obj, field.name)
        if related is None:
            return model_admin.get_empty_value_display()
        related_admin = model_admin.admin_site._registry.get(type(related))
        if related_admin is None or not related_admin.has_view_or_change_permission(
            request, related
        ):
            return str(related)
        meta = related._meta
        url = reverse(
            f"admin:{meta.app_label}_{meta.model_name}_change",
            args=[quote(related.pk)],
            current_app=model_admin.admin_site.name,
        )
        return format_html('<a href="{}">{}</a>', url, related)

    related_link.__name__ = field.name  # the row keeps its CSS class, "field-<name>"
    return related_link


def _swapped(fields, displays: dict):
    """``fields`` of a fieldset (names, or tuples of names on one line) with each name that
    ``displays`` maps replaced by its display function."""
    return [
        _swapped(name, displays)
        if isinstance(name, list | tuple)
        else displays.get(name, name)
        if isinstance(name, str)
        else name
        for name in fields
    ]


class PermittedLinksMixin:
    """A change form's read-only foreign keys link to the related object's admin page only for
    users that page lets in.

    Django renders a read-only foreign key as a link to the related object's admin page without
    asking whether that page would let the user in, so a marketer reading a customer was
    offered the team's page, which answers 403. Here, for the one request, each read-only
    foreign key of the form is shown by ``_related_link`` instead.
    """

    def render_change_form(self, request, context, *args, **kwargs):
        adminform = context.get("adminform")
        if adminform is not None:
            relations = {
                field.name: field for field in self.model._meta.concrete_fields if field.is_relation
            }
            displays = {
                name: _related_link(self, request, relations[name])
                for name in adminform.readonly_fields
                if isinstance(name, str) and name in relations
            }
            if displays:
                adminform.readonly_fields = _swapped(adminform.readonly_fields, displays)
                adminform.fieldsets = [
                    (title, {**options, "fields": _swapped(options["fields"], displays)})
                    for title, options in adminform.fieldsets
                ]
        return super().render_change_form(request, context, *args, **kwargs)


class ReauthBeforeDeleteMixin:
    """Deleting, one object or with the bulk action, needs a recent re-authentication.

    Users without the delete permission get the admin's usual refusal, without being asked.
    """

    def delete_view(self, request, object_id, extra_context=None):
        if self.has_delete_permission(request) and not reauth_is_recent(request):
            return reauth_redirect(request)
        return super().delete_view(request, object_id, extra_context)

    def get_actions(self, request):
        actions = super().get_actions(request)
        if "delete_selected" in actions:
            function, name, description = actions["delete_selected"]
            actions["delete_selected"] = (_after_reauth(function), name, description)
        return actions


class PersonalDataViewsAuditMixin:
    """A list page or a change form that shows personal data (the record of processing's
    personal fields, unmasked: ``shows_personal_data``) writes one ``personal_data.view`` audit
    entry naming the rows shown: one insert per page, never one per row."""

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if changelist is not None:
            # The page's rows, read once: the template iterates the same, now cached, queryset.
            personal_data_view_record(
                actor=request.user, model=self.model, objects=changelist.result_list
            )
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        shown = (getattr(response, "context_data", None) or {}).get("original")
        if shown is not None:
            personal_data_view_record(actor=request.user, model=self.model, objects=[shown])
        return response


class ScopedModelAdmin(
    PersonalDataViewsAuditMixin,
    PermittedLinksMixin,
    OwnChoicesMixin,
    ReauthBeforeDeleteMixin,
    admin.ModelAdmin,
):
    """Lists and objects limited by team ownership and object grants, in SQL.

    An object outside the user's scope is simply not found (the admin answers with a redirect to
    its index), and the refusal is audited; changing needs the change grant on that very object.
    Forms offer only the user's teams (``OwnChoicesMixin``). Pages that show personal data
    are audited (``PersonalDataViewsAuditMixin``).
    """

    def get_queryset(self, request):
        return scope_queryset(request.user, super().get_queryset(request), action="view")

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None and self._is_out_of_scope(request, object_id, from_field):
            access_denied_record(
                request,
                status=302,  # the admin's "does not exist": a redirect to its index
                reason=OUT_OF_SCOPE,
                object_type=self.model._meta.label_lower,
                object_id=str(object_id),
            )
        return obj

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

    def _is_out_of_scope(self, request, object_id, from_field) -> bool:
        """Whether the object exists but the access layer keeps it from the user."""
        field = self.model._meta.get_field(from_field) if from_field else self.model._meta.pk
        try:
            rows = self.model._default_manager.filter(**{field.name: field.to_python(object_id)})
        except ValidationError:
            return False
        return rows.exists() and not scope_queryset(request.user, rows, action="view").exists()
