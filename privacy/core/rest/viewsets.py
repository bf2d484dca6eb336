"""Every API viewset derives from ``ScopedViewSetMixin``; this is the contract it keeps.

What the base does for every request:

- it authenticates with the API's own schemes only (``Authorization: Token`` and the
  TOTP-verified session) and requires a signed-in user whose role grants the action
  (``IsAuthenticated`` and ``RolePermission``);
- it refuses query parameters holding a NUL (a 400 naming the parameter: PostgreSQL cannot
  store one), and on a list every query parameter it does not know (a 400 naming it:
  ``privacy.core.rest.filters``);
- it serves rows through the access layer: ``get_queryset()`` is the subclass's
  ``base_queryset()`` passed through ``privacy.core.access.scope_queryset`` for the action's access
  level, and ``get_object()`` takes the object from those same rows (``get_for_user``), so
  another team's object and a missing one are the same 404, the first audited as
  ``access.denied`` (``privacy.core.refusals``);
- a list page or an object it answers with is audited when it shows personal data (the record of
  processing's personal fields, unmasked): one ``personal_data.view`` entry naming the rows, taken
  where the list or retrieve hands them to ``get_serializer``;
- it refuses DRF's default ``perform_create``, ``perform_update`` and ``perform_destroy``, which
  save a serializer with no service and no audit entry: calling one raises
  ``ImproperlyConfigured`` naming the viewset.

What a subclass defines:

- ``base_queryset()`` (or ``queryset``): the rows before scoping, with ``select_related`` and
  friends. It is unscoped: a subclass serves rows through ``get_queryset()`` / ``get_object()``
  and reads ``base_queryset()`` itself only to read again an object the request already reached
  or made, or to hand it to ``get_for_user``;
- ``access_actions``: the access level (view, add, change or delete) of every extra ``@action``,
  such as ``{"merge": "change"}``; the standard actions take theirs from the HTTP method;
- its writes: the action (``create``, ``update``, ...) or ``perform_create`` and friends call the
  one service that writes and audits;
- more permission classes if it needs them, kept beside the base's
  (``[*ScopedViewSetMixin.permission_classes, OtherPermission]``).

What fails loudly. When the class is defined (``TypeError``): a subclass (or a mixin listed
before the base) that defines one of ``PROTECTED_HOOKS`` (``get_queryset``, ``get_object``,
``filter_queryset``, the permission and authentication hooks, ``initial``); ``permission_classes``
without the base's; ``authentication_classes`` other than the API's; DRF's write mixins listed
before the base; an extra action missing from ``access_actions``, or an unknown level; a
``lookup_field`` other than ``pk``; an attribute named ``dangerous...`` that is no escape
hatch. When a request comes (``ImproperlyConfigured``, a 500): DRF's default write hooks, and
permission or authentication classes that drop the base's although the class kept them
(``as_view(permission_classes=...)``, or set on the instance).

The escape hatches are named ``dangerously_...``, so a reviewer finds every use with one grep:

- ``dangerously_unscoped_queryset()``: the rows an endpoint serves as they are, without the
  access layer (``get_queryset`` and ``get_object`` use it, and the role must grant the action
  on the model);
- ``dangerously_allow_anonymous = True``: the class's own ``permission_classes`` and
  ``authentication_classes`` replace the base's, for a public endpoint (which also needs the
  unscoped queryset: the access layer gives an anonymous user no rows).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework import mixins, permissions, viewsets
from rest_framework.generics import get_object_or_404

from privacy.core.access import ACTIONS, get_for_user, owner_path, permission_name, scope_queryset
from privacy.core.rest.authentication import TokenAuthentication, VerifiedSessionAuthentication
from privacy.core.rest.filters import unknown_query_check
from privacy.core.rest.parsers import storable_text_check
from privacy.core.services.audit import personal_data_view_record

_ACTION_BY_METHOD = {
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "POST": "add",
    "PUT": "change",
    "PATCH": "change",
    "DELETE": "delete",
}

# What a subclass must not define, and what it does instead.
PROTECTED_HOOKS = {
    "get_queryset": "define base_queryset() instead so the access layer always applies",
    "get_object": "the base takes the object from the scoped rows; define base_queryset()",
    "filter_queryset": "set filter_backends or filterset_class; the base filters the scoped rows",
    "get_permissions": "add permission classes beside the base's in permission_classes",
    "check_permissions": "add permission classes beside the base's in permission_classes",
    "check_object_permissions": "add permission classes beside the base's in permission_classes",
    "get_authenticators": "the API authenticates with the base's authentication_classes",
    "perform_authentication": "the API authenticates with the base's authentication_classes",
    "initial": "the base authenticates, permits and checks the query string there",
}

ESCAPE_HATCHES = ("dangerously_unscoped_queryset", "dangerously_allow_anonymous")

_DRF_WRITE_HOOKS = {
    "perform_create": mixins.CreateModelMixin.perform_create,
    "perform_update": mixins.UpdateModelMixin.perform_update,
    "perform_destroy": mixins.DestroyModelMixin.perform_destroy,
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
        model = view.served_model()
        action = view.access_action()
        if action != "add" and owner_path(model) is not None and not view.is_unscoped():
            # Team-owned rows: object grants may allow what the role does not, so the scoped
            # queryset decides row by row (and answers 404 for the rest).
            return True
        return request.user.has_perm(permission_name(model, action))


REQUIRED_PERMISSIONS = (permissions.IsAuthenticated, RolePermission)
API_AUTHENTICATION = (TokenAuthentication, VerifiedSessionAuthentication)


def _gate_problems(permission_classes, authenticators) -> list[str]:
    """What drops the base's gate: a required permission class missing from
    ``permission_classes``, an authenticator (class or instance) that is not the API's, or none."""
    problems = []
    missing = [
        required.__name__
        for required in REQUIRED_PERMISSIONS
        if not any(
            isinstance(item, type) and issubclass(item, required) for item in permission_classes
        )
    ]
    if missing:
        problems.append(
            f"permission_classes lacks {', '.join(missing)} (keep the base's beside yours, or "
            "set dangerously_allow_anonymous = True)"
        )
    classes = [item if isinstance(item, type) else type(item) for item in authenticators]
    foreign = [item.__name__ for item in classes if not issubclass(item, API_AUTHENTICATION)]
    if foreign or not classes:
        problems.append(
            f"authentication_classes holds {', '.join(foreign) or 'nothing'}, not the API's "
            "(keep the base's, or set dangerously_allow_anonymous = True)"
        )
    return problems


def _overrides_before_base(cls: type, name: str) -> bool:
    """Whether a class before ``ScopedViewSetMixin`` in ``cls``'s MRO (the subclass, one of its
    parents, a mixin listed before the base) defines ``name``."""
    mro = cls.__mro__
    return any(name in vars(klass) for klass in mro[: mro.index(ScopedViewSetMixin)])


class ScopedViewSetMixin:
    """Authentication, role permission and row scoping for every API endpoint."""

    authentication_classes = list(API_AUTHENTICATION)
    permission_classes = list(REQUIRED_PERMISSIONS)

    # An escape hatch: see the module's docstring. So is ``dangerously_unscoped_queryset()``,
    # which the base does not define: defining it is what opens the hatch.
    dangerously_allow_anonymous = False

    # Custom actions name the permission they need, e.g. {"merge": "change"}.
    access_actions: dict[str, str] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        problems = [
            *cls._hook_problems(),
            *cls._access_problems(),
            *cls._hatch_problems(),
        ]
        if not cls.dangerously_allow_anonymous:
            problems.extend(_gate_problems(cls.permission_classes, cls.authentication_classes))
        if problems:
            raise TypeError(f"{cls.__name__}: " + "; ".join(problems) + ".")

    @classmethod
    def _hook_problems(cls) -> list[str]:
        problems = [
            f"it overrides {name} ({advice})"
            for name, advice in PROTECTED_HOOKS.items()
            if _overrides_before_base(cls, name)
        ]
        for name, drf_default in _DRF_WRITE_HOOKS.items():
            if getattr(cls, name, None) is drf_default:
                problems.append(
                    f"DRF's {name} comes before the base's; list ScopedViewSetMixin before "
                    "DRF's mixins and write through a service"
                )
        return problems

    @classmethod
    def _access_problems(cls) -> list[str]:
        problems = [
            f"access_actions[{name!r}] is {level!r}, not one of {', '.join(ACTIONS)}"
            for name, level in cls.access_actions.items()
            if level not in ACTIONS
        ]
        if hasattr(cls, "get_extra_actions"):
            undeclared = sorted(
                extra.__name__
                for extra in cls.get_extra_actions()
                if extra.__name__ not in cls.access_actions
            )
            if undeclared:
                problems.append(
                    f"the actions {', '.join(undeclared)} need a level in access_actions"
                )
        if getattr(cls, "lookup_field", "pk") != "pk":
            problems.append("objects are looked up by primary key: leave lookup_field as 'pk'")
        return problems

    @classmethod
    def _hatch_problems(cls) -> list[str]:
        problems = [
            f"{name} is no escape hatch (the hatches are {', '.join(ESCAPE_HATCHES)})"
            for name in vars(cls)
            if name.lower().startswith("dangerous") and name not in ESCAPE_HATCHES
        ]
        if hasattr(cls, "dangerously_unscoped_queryset") and not callable(
            cls.dangerously_unscoped_queryset
        ):
            problems.append("dangerously_unscoped_queryset must be a method")
        if not isinstance(cls.dangerously_allow_anonymous, bool):
            problems.append("dangerously_allow_anonymous must be True or False")
        return problems

    # --- Authentication and permissions ---------------------------------------------------------

    def get_authenticators(self):
        # The first hook of every request: the classes the view was built with, which may be
        # other than the class's (``as_view(permission_classes=...)``), are checked here.
        authenticators = super().get_authenticators()
        if not self.dangerously_allow_anonymous:
            problems = _gate_problems(self.permission_classes, authenticators)
            if problems:
                raise ImproperlyConfigured(
                    f"{type(self).__name__} was built so that " + "; ".join(problems) + "."
                )
        return authenticators

    def initial(self, request, *args, **kwargs) -> None:
        super().initial(request, *args, **kwargs)
        # After authentication, so an anonymous request is a 401 whatever it asks; request
        # bodies are checked by the parsers (privacy.core.rest.parsers).
        storable_text_check(request.query_params)
        if getattr(self, "action", None) == "list":
            # django-filter ignores what it does not know; a list must not (a 400 naming it).
            unknown_query_check(self, request)

    # --- Input ----------------------------------------------------------------------------------

    def validated_input(self, serializer_class) -> dict:
        """The request body checked by ``serializer_class``; a 400 naming each field at fault.

        Writes pass what it returns to a service; the serializer never saves anything.
        """
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    # --- Rows -----------------------------------------------------------------------------------

    def base_queryset(self):
        """The rows this endpoint serves before scoping (with select_related and friends)."""
        return self.queryset.all()

    @classmethod
    def is_unscoped(cls) -> bool:
        """Whether the endpoint opened the ``dangerously_unscoped_queryset()`` hatch."""
        return hasattr(cls, "dangerously_unscoped_queryset")

    def served_model(self):
        rows = self.dangerously_unscoped_queryset() if self.is_unscoped() else self.base_queryset()
        return rows.model

    def access_action(self) -> str:
        action = getattr(self, "action", None)
        if action in self.access_actions:
            return self.access_actions[action]
        if action in {"list", "retrieve", "metadata"}:
            return "view"
        return _ACTION_BY_METHOD.get(self.request.method, "view")

    def get_queryset(self):
        if self.is_unscoped():
            return self.dangerously_unscoped_queryset()
        return scope_queryset(self.request.user, self.base_queryset(), action=self.access_action())

    def get_object(self):
        lookup = self.kwargs[self.lookup_url_kwarg or self.lookup_field]
        if self.is_unscoped():
            obj = get_object_or_404(
                self.filter_queryset(self.dangerously_unscoped_queryset()), pk=lookup
            )
        else:
            # get_for_user scopes the rows itself; given them unscoped, it can tell the audit
            # log that a 404 refused an existing row.
            queryset = self.filter_queryset(self.base_queryset())
            obj = get_for_user(self.request.user, queryset, pk=lookup, action=self.access_action())
        self.check_object_permissions(self.request, obj)
        return obj

    # --- Reads of personal data ------------------------------------------------------------------

    def get_serializer(self, *args, **kwargs):
        # A list page or an object that shows personal data is audited here, where every list
        # and retrieve (the DRF mixins' and the subclasses' own) hands over what it shows: one
        # ``personal_data.view`` entry per answer, naming the rows.
        serializer = super().get_serializer(*args, **kwargs)
        if args and getattr(self, "action", None) in {"list", "retrieve"}:
            shown = args[0] if kwargs.get("many") else [args[0]]
            personal_data_view_record(
                actor=self.request.user, model=self.served_model(), objects=shown
            )
        return serializer

    # --- Writes ---------------------------------------------------------------------------------

    def _refuse_default_write(self, hook: str, action: str):
        raise ImproperlyConfigured(
            f"{type(self).__name__} relies on DRF's default {hook}, which saves the serializer "
            f"with no service and no audit entry: override {hook} or the {action} action to "
            "call the service that writes and audits."
        )

    def perform_create(self, serializer) -> None:
        self._refuse_default_write("perform_create", "create")

    def perform_update(self, serializer) -> None:
        self._refuse_default_write("perform_update", "update")

    def perform_destroy(self, instance) -> None:
        self._refuse_default_write("perform_destroy", "destroy")


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
    """Create, read and update; the writes go through services (override ``perform_create`` and
    ``perform_update``, or the actions). Deletion is not offered: erasure has its own service."""
