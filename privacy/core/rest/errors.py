"""JSON errors that name the field path of every problem."""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

from privacy.core.refusals import api_refusal_record


def _flatten(detail: Any, path: str = "") -> list[dict[str, str]]:
    if isinstance(detail, dict):
        errors = []
        for key, value in detail.items():
            field = path if key == "non_field_errors" else (f"{path}.{key}" if path else str(key))
            errors.extend(_flatten(value, field))
        return errors
    if isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            return [
                {"field": path, "message": str(item), "code": getattr(item, "code", "invalid")}
                for item in detail
            ]
        errors = []
        for index, item in enumerate(detail):
            errors.extend(_flatten(item, f"{path}.{index}" if path else str(index)))
        return errors
    return [{"field": path, "message": str(detail), "code": getattr(detail, "code", "error")}]


def exception_handler(exc, context):
    """JSON errors: ``{"detail": ..., "errors": [{"field": "items.0.email", "message": ...}]}``.

    Refusals (401 to a presented credential, 403, 404 from scoping) are audited here.
    """
    original = exc
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        # A domain check below the view (a filter normalising ?email=) is the client's error.
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if response.status_code in {401, 403, 404}:
        api_refusal_record(original, context["request"], status=response.status_code)
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(data)
        response.data = {"detail": _("Invalid input."), "errors": errors}
    else:
        detail = data.get("detail", data) if isinstance(data, dict) else data
        response.data = error_body(str(detail), code=_code(exc))
    return response


def error_body(detail: str, *, code: str) -> dict[str, Any]:
    """The JSON error shape for one problem that is not a field's."""
    return {"detail": detail, "errors": [{"field": "", "message": detail, "code": code}]}


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler404``: an address under ``/api/`` that reaches no view (``/api/v1/customers/1.5/``)
    is answered in the API's JSON error shape; every other address gets Django's page."""
    if request.path_info.startswith("/api/"):
        detail = str(exceptions.NotFound.default_detail)
        return JsonResponse(error_body(detail, code="not_found"), status=404)
    return defaults.page_not_found(request, exception)


def _code(exc) -> str:
    codes = exc.get_codes() if hasattr(exc, "get_codes") else "error"
    return codes if isinstance(codes, str) else "error"
