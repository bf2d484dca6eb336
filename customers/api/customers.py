"""REST API for customers: list, search, create, correct, upsert in batches, timeline, merge."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, status
from rest_framework.decorators import action
from rest_framework.response import Response

from customers.filters import CustomerFilter
from customers.masking import customer_masks
from customers.models import Customer
from customers.selectors import SEARCH_FIELDS, SearchError, customers_search
from customers.serializers import (
    CustomerChangeSerializer,
    CustomerItemSerializer,
    CustomerPageSerializer,
    CustomerSearchSerializer,
    CustomerSerializer,
    CustomerUpsertSerializer,
    ItemResultSerializer,
    ItemResultsSerializer,
    MergeSerializer,
    TimelineEntrySerializer,
    TimelinePageSerializer,
)
from customers.services.custom_fields import custom_fields_by_key
from customers.services.customers import InvalidChanges, customer_update, customers_upsert_items
from customers.services.merge import customer_merge
from privacy.core.access import can_view_personal_data, get_for_user, team_for_user
from privacy.core.rest.reauth import reauth_check_for_session
from privacy.core.rest.viewsets import ScopedModelViewSet
from privacy.core.services.audit import audit_record
from privacy.erasure.services.erasure import subject_erase

CORRECTION_DESCRIPTION = (
    "Only the fields sent change, normalised as on import. Without the permission to view "
    "personal data, the fields the API masks (email, phone, names, postal address, birth date) "
    "cannot be sent: each is a 400 naming it."
)


def owner_team_for_request(request, team_id):
    try:
        return team_for_user(request.user, team_id)
    except ValueError as error:
        raise exceptions.ValidationError({"owner_team": str(error)}) from error


def item_errors(errors: list[dict[str, str]]) -> dict[str, list[str]]:
    """An item's errors (``[{"field": "email", "message": ...}]``) as a validation error's
    detail, so the answer names each field (or the whole item) rather than list positions."""
    detail: dict[str, list[str]] = {}
    for error in errors:
        detail.setdefault(error["field"] or "non_field_errors", []).append(error["message"])
    return detail


def personal_attribute_keys(team, items) -> dict[str, str]:
    """``attributes.<key>`` → refusal for each personal custom field the items set: as with
    the contact details, nobody changes what they may not see."""
    keys = {key for item in items for key in (item.get("attributes") or {})}
    if not keys:
        return {}
    definitions = custom_fields_by_key(team.pk)
    return {
        f"attributes.{key}": "Changing this field needs the permission to view personal data."
        for key in sorted(keys)
        if key in definitions and definitions[key].is_personal_data
    }


# Custom-field filters are named by the team's keys, so they cannot be listed as parameters of
# the schema: the operation's description says how to write them.
ATTRIBUTE_FILTERS = (
    "Filter on a custom field with `attributes.<key>=value` for equality and, as the type "
    "allows, `attributes.<key>__gte`, `__lte` (numbers, years, dates), `__in` (comma-separated) "
    "and `__contains` (text, several choices). A key the team does not define is a 400, as is "
    "any other query parameter the list does not know."
)


@extend_schema_view(
    list=extend_schema(summary="List customers", tags=["customers"], description=ATTRIBUTE_FILTERS),
    retrieve=extend_schema(summary="One customer", tags=["customers"]),
    create=extend_schema(
        summary="Create (or match) one customer",
        tags=["customers"],
        request=CustomerItemSerializer,
        responses={201: ItemResultSerializer},
    ),
    partial_update=extend_schema(
        summary="Correct a customer's details",
        description=CORRECTION_DESCRIPTION,
        tags=["customers"],
        request=CustomerChangeSerializer,
    ),
    update=extend_schema(
        summary="Correct a customer's details",
        description=CORRECTION_DESCRIPTION,
        tags=["customers"],
        request=CustomerChangeSerializer,
    ),
    destroy=extend_schema(
        summary="Erase a customer: the person and everything personal attached",
        description=(
            "Deletes the customer, the profiles merged into it, identities, events, purchases, "
            "consents and the stored import files that contain the person; the email and phone "
            "are suppressed so imports and upserts refuse them. Needs the delete permission."
        ),
        tags=["customers"],
        responses={204: None},
    ),
)
class CustomerViewSet(ScopedModelViewSet):
    queryset = Customer.objects.active()
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    access_actions = {"merge": "change", "upsert": "add", "timeline": "view", "search": "view"}

    def base_queryset(self):
        return Customer.objects.active()

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["can_view_personal_data"] = can_view_personal_data(self.request.user)
        return context

    def retrieve(self, request, *args, **kwargs):
        # The base audits what the answer shows (personal_data.view).
        return Response(self.get_serializer(self.get_object()).data)

    def destroy(self, request, *args, **kwargs):
        customer = self.get_object()
        reauth_check_for_session(request)
        subject_erase(
            customer_ids=[customer.pk], team=customer.owner_team, actor=request.user, reason="api"
        )
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _upsert(self, request, team_id, items, *, single=False):
        team = owner_team_for_request(request, team_id)
        if not self.get_serializer_context()["can_view_personal_data"]:
            hidden = personal_attribute_keys(team, items)
            if hidden:
                raise exceptions.ValidationError(hidden)
        try:
            results = customers_upsert_items(actor=request.user, team=team, items=items)
        except InvalidChanges as error:
            raise exceptions.ValidationError(
                error.errors[0] if single else {"items": error.errors}
            ) from error
        except ValueError as error:
            raise exceptions.ValidationError({"items": str(error)}) from error
        return [result.__dict__ for result in results]

    def create(self, request, *args, **kwargs):
        serializer = CustomerItemSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = self._upsert(
            request, request.data.get("owner_team"), [serializer.validated_data], single=True
        )[0]
        if result["status"] == "rejected":
            raise exceptions.ValidationError(item_errors(result["errors"]))
        return Response(result, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        customer = self.get_object()
        serializer = CustomerChangeSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        unknown = sorted(set(request.data) - set(serializer.fields))
        if unknown:
            raise exceptions.ValidationError(
                {name: "This field cannot be changed." for name in unknown}
            )
        if not self.get_serializer_context()["can_view_personal_data"]:
            # As in the staff UI and the admin: nobody changes what they may not see.
            hidden = sorted(set(request.data) & customer_masks().keys())
            if hidden:
                raise exceptions.ValidationError(
                    {
                        name: "Changing this field needs the permission to view personal data."
                        for name in hidden
                    }
                )
            hidden_attributes = personal_attribute_keys(
                customer.owner_team, [serializer.validated_data]
            )
            if hidden_attributes:
                raise exceptions.ValidationError(hidden_attributes)
        try:
            customer = customer_update(
                actor=request.user, customer=customer, changes=serializer.validated_data
            )
        except InvalidChanges as error:
            raise exceptions.ValidationError(error.errors) from error
        return Response(self.get_serializer(customer).data)

    @extend_schema(
        summary="Create or update up to 1,000 customers; each item reports its own result",
        tags=["customers"],
        request=CustomerUpsertSerializer,
        responses={200: ItemResultsSerializer},
    )
    @action(detail=False, methods=["post"])
    def upsert(self, request):
        serializer = CustomerUpsertSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        items = []
        errors = {}
        for index, item in enumerate(serializer.validated_data["items"]):
            item_serializer = CustomerItemSerializer(data=item)
            if item_serializer.is_valid():
                items.append(item_serializer.validated_data)
            else:
                errors[index] = item_serializer.errors
                items.append({})
        if errors:
            raise exceptions.ValidationError({"items": errors})
        results = self._upsert(request, serializer.validated_data.get("owner_team"), items)
        return Response({"results": results})

    @extend_schema(
        summary="Find customers by email, phone, name or external id",
        description=(
            "The terms travel in the body, never in the address, so no access log holds them; "
            "every term given must match. Answered a page at a time like the list: POST the same "
            "body to the `next` address for the following page. Each search is audited "
            "(customer.search: the terms' names and the customers found, never the values)."
        ),
        tags=["customers"],
        request=CustomerSearchSerializer,
        parameters=[
            OpenApiParameter("cursor", str, description="from the `next` address of a page"),
            OpenApiParameter("page_size", int, description="rows per page, 1 to 500"),
        ],
        responses={200: CustomerPageSerializer},
    )
    @action(detail=False, methods=["post"])
    def search(self, request):
        terms = self.validated_input(CustomerSearchSerializer)
        external = terms.get("external_id") or {}
        try:
            customers = customers_search(
                self.get_queryset(),
                email=terms.get("email", ""),
                phone=terms.get("phone", ""),
                country=terms.get("country", ""),
                name=terms.get("name", ""),
                external_channel=external.get("channel", ""),
                external_id=external.get("id", ""),
            )
        except SearchError as error:
            raise exceptions.ValidationError({error.field: [error.reason]}) from error
        page = self.paginate_queryset(customers)
        audit_record(
            action="customer.search",
            actor=request.user,
            object_type="customers.customer",
            metadata={
                "terms": sorted(term for term in SEARCH_FIELDS if terms.get(term)),
                "customer_ids": [customer.pk for customer in page],
            },
        )
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Events and purchases of a customer, newest first",
        tags=["customers"],
        parameters=[
            OpenApiParameter("cursor", str, description="next_cursor of the previous page"),
            OpenApiParameter("limit", int, description="at most 200 (default 50)"),
        ],
        responses={200: TimelinePageSerializer},
    )
    @action(detail=True, methods=["get"])
    def timeline(self, request, pk=None):
        from customers.selectors import TimelineCursorError, customer_timeline

        customer = self.get_object()
        limit_text = request.query_params.get("limit", "50")
        # ASCII digits only: int() would also read Arabic-Indic or full-width digits, and "1_2".
        if not (limit_text.isascii() and limit_text.isdigit()):
            raise exceptions.ValidationError({"limit": "A whole number."})
        digits = limit_text.lstrip("0")
        limit = 200 if len(digits) > 3 else min(200, max(1, int(digits or "0")))
        try:
            entries, next_cursor = customer_timeline(
                customer, cursor=request.query_params.get("cursor"), limit=limit
            )
        except TimelineCursorError as error:
            raise exceptions.ValidationError({"cursor": str(error)}) from error
        data = TimelineEntrySerializer(entries, many=True).data
        return Response({"results": data, "next_cursor": next_cursor or None})

    @extend_schema(
        summary="Merge another customer into this one",
        tags=["customers"],
        request=MergeSerializer,
        responses={200: CustomerSerializer},
    )
    @action(detail=True, methods=["post"])
    def merge(self, request, pk=None):
        survivor = self.get_object()
        serializer = MergeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        other = get_for_user(
            request.user,
            self.base_queryset(),
            pk=serializer.validated_data["other"],
            action="change",
        )
        try:
            customer_merge(survivor=survivor, merged=other, actor=request.user, reason="api")
        except ValueError as error:
            raise exceptions.ValidationError({"other": str(error)}) from error
        survivor.refresh_from_db()
        return Response(self.get_serializer(survivor).data)
