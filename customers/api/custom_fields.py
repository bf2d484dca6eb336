"""REST API for custom field definitions: marketers read them, the team's administrators
define, change and delete them."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, permissions, status, viewsets
from rest_framework.response import Response

from customers.api.customers import owner_team_for_request
from customers.models import CustomField
from customers.serializers import CustomFieldSerializer
from customers.services.custom_fields import (
    custom_field_create,
    custom_field_delete,
    custom_field_update,
)
from privacy.core.rest.viewsets import ScopedViewSetMixin

MANAGE_PERMISSION = "customers.manage_customfield"


class ManagesCustomFields(permissions.BasePermission):
    """Defining, changing and deleting custom fields is for administrators."""

    message = "Defining custom fields needs the Administrator role."

    def has_permission(self, request, view) -> bool:
        offered = request.method.lower() in view.http_method_names and hasattr(
            view, request.method.lower()
        )
        if request.method in permissions.SAFE_METHODS or not offered:
            return True  # reading, or a method the route does not offer (405)
        return request.user.has_perm(MANAGE_PERMISSION)


@extend_schema_view(
    list=extend_schema(summary="List custom field definitions", tags=["custom fields"]),
    retrieve=extend_schema(summary="One custom field definition", tags=["custom fields"]),
    create=extend_schema(summary="Define a custom field", tags=["custom fields"]),
    update=extend_schema(
        summary="Change a custom field's labels or checks", tags=["custom fields"]
    ),
    partial_update=extend_schema(
        summary="Change a custom field's labels or checks", tags=["custom fields"]
    ),
    destroy=extend_schema(
        summary="Delete a custom field and clear its values from every customer",
        description="The number of customers whose value was cleared is in the audit log.",
        tags=["custom fields"],
        responses={204: None},
    ),
)
class CustomFieldViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    queryset = CustomField.objects.all()
    serializer_class = CustomFieldSerializer
    permission_classes = [*ScopedViewSetMixin.permission_classes, ManagesCustomFields]

    def base_queryset(self):
        return CustomField.objects.order_by("owner_team_id", "key")

    def create(self, request, *args, **kwargs):
        data = dict(self.validated_input(CustomFieldSerializer))
        team = owner_team_for_request(request, data.pop("owner_team_id", None))
        try:
            definition = custom_field_create(actor=request.user, team=team, values=data)
        except DjangoValidationError as error:
            raise exceptions.ValidationError(error.message_dict) from error
        return Response(CustomFieldSerializer(definition).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        definition = self.get_object()
        serializer = CustomFieldSerializer(
            definition, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        if changes.pop("owner_team_id", definition.owner_team_id) != definition.owner_team_id:
            raise exceptions.ValidationError({"owner_team": "A custom field stays in its team."})
        try:
            definition = custom_field_update(
                actor=request.user, definition=definition, changes=changes
            )
        except DjangoValidationError as error:
            raise exceptions.ValidationError(error.message_dict) from error
        return Response(CustomFieldSerializer(definition).data)

    def destroy(self, request, *args, **kwargs):
        custom_field_delete(actor=request.user, definition=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
