"""The OpenAPI schema's view of the API: every operation documents the errors it can answer.

``AutoSchema`` (``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]``) adds the project's JSON error shape
(``privacy.core.rest.errors``) as the 400, 401, 403, 404 and 429 responses of every operation,
unless the operation declares that status itself. The errors are the same for every endpoint (a
field that does not validate, no or a bad credential, a role without the permission, a row out
of scope or an invalid cursor, the throttle), so they are declared here once rather than on each
view, and endpoints added later get them too.

Filter parameters are declared ``allowEmptyValue``: as in the staff UI's forms, ``?status=``
means "not filtered" (django-filter ignores empty values), not an invalid status. Text filters
and the strings of request bodies declare that they refuse the NUL character, as every form field
and the API's parsers do.
"""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from django.utils.translation import gettext_lazy as _
from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorItemSerializer(serializers.Serializer):
    field = serializers.CharField(
        help_text=_("Path of the input at fault (items.0.email); empty for the whole request.")
    )
    message = serializers.CharField()
    code = serializers.CharField(help_text=_("Machine-readable reason, e.g. invalid, required."))


class ErrorSerializer(serializers.Serializer):
    """The body of every error answer: ``{"detail": ..., "errors": [...]}``."""

    detail = serializers.CharField()
    errors = ErrorItemSerializer(many=True)


NO_NUL_CHARACTER = "^[^\\x00]*$"

ERROR_RESPONSES: dict[int, Any] = {
    400: _("Invalid input: each error names the field at fault."),
    401: _("No credentials, or credentials that do not authenticate."),
    403: _("The role does not allow this, or a browser session must re-authenticate first."),
    404: _("Not found, or out of the user's reach (another team's), or an invalid cursor."),
    429: _("Too many requests for this token; retry later."),
}


def _is_free_text(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "string" and not schema.keys() & {"enum", "format", "pattern"}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, with the error responses every operation can give."""

    def get_filter_backends(self) -> list[Any]:
        # Filters and pages belong to reads: a POST that answers a list is no list view.
        return super().get_filter_backends() if self.method == "GET" else []

    def _get_paginator(self):
        return super()._get_paginator() if self.method == "GET" else None

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        for parameter in (operation or {}).get("parameters", []):
            schema = parameter.get("schema", {})
            if parameter.get("in") == "query" and _is_free_text(schema):
                # Every query parameter is refused with a NUL character (a 400 naming it).
                parameter["schema"] = {**schema, "pattern": NO_NUL_CHARACTER}
        return operation

    def _get_filter_parameters(self) -> list[dict[str, Any]]:
        parameters = []
        for parameter in super()._get_filter_parameters():
            schema = parameter.get("schema", {})
            if _is_free_text(schema):
                # Form fields refuse the NUL character (a 400 naming the filter).
                parameter = {**parameter, "schema": {**schema, "pattern": NO_NUL_CHARACTER}}
            parameters.append({**parameter, "allowEmptyValue": True})
        return parameters

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        has_own_pattern = any(
            isinstance(validator, RegexValidator) for validator in field.validators
        )
        if direction == "request" and _is_free_text(schema) and not has_own_pattern:
            # The API's parsers refuse a NUL character in any string of a body (a 400 naming it).
            schema = {**schema, "pattern": NO_NUL_CHARACTER}
        return schema

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for status_code, description in ERROR_RESPONSES.items():
            code = str(status_code)
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=str(description)),
                    code,
                    media_types=["application/json"],
                    direction=direction,
                )
        return responses
