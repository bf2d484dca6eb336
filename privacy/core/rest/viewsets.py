"""Every API viewset derives from ``ScopedViewSetMixin``.

It forces authentication and role permissions, refuses query parameters holding a NUL (a 400
naming the parameter: PostgreSQL cannot store one), and its ``get_queryset`` passes the
subclass's ``base_queryset()`` through the access layer, so a subclass cannot return rows the
user may not reach. Overriding ``get_queryset`` is refused when the class is defined.
"""

from __future__ import annotations

from typing import Any

from rest_framework import mixins, permissions, viewsets

from privacy.core.access import get_for_user, owner_path, permission_name, scope_queryset
from privacy.core.rest.parsers import storable_text_check

_ACTION_BY_METHOD = {
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "POST": "add",
    "PUT": "change",
    "PATCH": "change",
    "DELETE": "delete",
}


class RolePermission(permissions.BasePermission):
    """The user's role must grant the action on the model (row scoping is the access layer's)."""

    def has_permission(self, request, view) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        if request.method.lower() not in view.http_method_names or not hasattr(
            view, request.method.lower()
        ):
            return True  # the view answers 405 Method Not Allowed
        model = view.base_queryset().model
        action = view.access_action()
        if action != "add" and owner_path(model) is not None:
            # Team-owned rows: object grants may allow what the role does not, so the scoped
            # queryset decides row by row (and answers 404 for the rest).
            return True
        return request.user.has_perm(permission_name(model, action))


class ScopedViewSetMixin:
    """Authentication, role permission and row scoping for every API endpoint."""

    permission_classes = [permissions.IsAuthenticated, RolePermission]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise TypeError(
                f"{cls.__name__} overrides get_queryset; define base_queryset() instead so the "
                "access layer always applies."
            )

    def initial(self, request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        # After authentication, so an anonymous request is a 401 whatever it asks; request
        # bodies are checked by the parsers (privacy.core.rest.parsers).
        storable_text_check(request.query_params)

    def base_queryset(self):
        """The rows this endpoint serves before scoping (with select_related and friends)."""
        return self.queryset.all()

    # Custom actions name the permission they need, e.g. {"merge": "change"}.
    access_actions: dict[str, str] = {}

    def access_action(self) -> str:
        action = getattr(self, "action", None)
        if action in self.access_actions:
            return self.access_actions[action]
        if action in {"list", "retrieve", "metadata"}:
            return "view"
        return _ACTION_BY_METHOD.get(self.request.method, "view")

    def get_queryset(self):
        return scope_queryset(self.request.user, self.base_queryset(), action=self.access_action())

    def get_object(self):
        lookup = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        # get_for_user scopes the rows itself; given them unscoped, it can tell the audit log
        # that a 404 refused an existing row.
        queryset = self.filter_queryset(self.base_queryset())
        obj = get_for_user(self.request.user, queryset, pk=lookup, action=self.access_action())
        self.check_object_permissions(self.request, obj)
        return obj


class ScopedReadOnlyViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


class ScopedModelViewSet(
    ScopedViewSetMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    viewsets.GenericViewSet,
):
    """Create, read and update. Deletion is not offered: erasure has its own service."""
