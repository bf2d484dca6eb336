"""REST API for behaviour events and purchases: batch ingest (POST) and scoped lists (GET)."""

from __future__ import annotations

from dataclasses import asdict

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, viewsets
from rest_framework.response import Response

from customers.api.customers import owner_team_for_request
from customers.models import Event, Purchase
from customers.serializers_ingestion import (
    EventBatchSerializer,
    EventSerializer,
    IngestResponseSerializer,
    PurchaseBatchSerializer,
    PurchaseSerializer,
)
from customers.services.ingestion import events_ingest, purchases_ingest
from privacy.core.filters import FilterSet, IdFilter, UtcIsoDateTimeFilter
from privacy.core.rest.viewsets import ScopedViewSetMixin

_BATCH_DESCRIPTION = """
Up to 1,000 items per request. The answer is **200** whenever the request itself is well
formed, with one result per item, in order: `created` (stored; `id` is the new row),
`duplicate` (stored before, by an earlier request or earlier in this one; `id` is that row;
nothing is stored twice) or `rejected` (`errors` name the field inside the item, e.g.
`occurred_at` or `items.3`). Valid items are stored even when others are rejected, so check
each status. A customer that does not exist and one of another team are both "Unknown
customer.". Retrying a whole batch is safe: {key}

A malformed request (no `items`, more than 1,000 items, an `owner_team` that is not yours) is
a **400** naming the field; nothing is stored.
"""


class EventFilter(FilterSet):
    customer = IdFilter(field_name="customer_id")
    type = django_filters.CharFilter(field_name="type")
    source = django_filters.CharFilter(field_name="source")
    occurred_after = UtcIsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = UtcIsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = Event
        fields = ["customer", "type", "source", "occurred_after", "occurred_before"]


class PurchaseFilter(FilterSet):
    customer = IdFilter(field_name="customer_id")
    source = django_filters.CharFilter(field_name="source")
    currency = django_filters.CharFilter(field_name="currency")
    order_reference = django_filters.CharFilter(field_name="order_reference")
    occurred_after = UtcIsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = UtcIsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt")

    class Meta:
        model = Purchase
        fields = [
            "customer",
            "source",
            "currency",
            "order_reference",
            "occurred_after",
            "occurred_before",
        ]


class _IngestViewSet(
    ScopedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """List and read stored rows; POST a batch to the ingestion service (needs "add")."""

    batch_serializer_class: type = EventBatchSerializer
    ingest = staticmethod(events_ingest)

    def create(self, request, *args, **kwargs):
        serializer = self.batch_serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        team = owner_team_for_request(request, data.get("owner_team"))
        try:
            results = self.ingest(
                actor=request.user, team=team, items=data["items"], source=data["source"]
            )
        except ValueError as error:
            raise exceptions.ValidationError({"items": str(error)}) from error
        return Response({"results": [asdict(result) for result in results]})


@extend_schema_view(
    list=extend_schema(summary="List events, most recently received first", tags=["events"]),
    retrieve=extend_schema(summary="One event", tags=["events"]),
    create=extend_schema(
        summary="Ingest a batch of events; each item reports its own result",
        description=_BATCH_DESCRIPTION.format(
            key="an event with a `client_id` is stored once per source and client id "
            "(events without one are stored every time)."
        ),
        tags=["events"],
        request=EventBatchSerializer,
        responses={200: IngestResponseSerializer},
    ),
)
class EventViewSet(_IngestViewSet):
    queryset = Event.objects.all()
    serializer_class = EventSerializer
    filterset_class = EventFilter
    batch_serializer_class = EventBatchSerializer
    ingest = staticmethod(events_ingest)

    def base_queryset(self):
        return Event.objects.all()


@extend_schema_view(
    list=extend_schema(summary="List purchases, most recently received first", tags=["purchases"]),
    retrieve=extend_schema(summary="One purchase", tags=["purchases"]),
    create=extend_schema(
        summary="Ingest a batch of purchases; each item reports its own result",
        description=_BATCH_DESCRIPTION.format(
            key="a purchase is stored once per source and `order_reference`."
        ),
        tags=["purchases"],
        request=PurchaseBatchSerializer,
        responses={200: IngestResponseSerializer},
    ),
)
class PurchaseViewSet(_IngestViewSet):
    queryset = Purchase.objects.all()
    serializer_class = PurchaseSerializer
    filterset_class = PurchaseFilter
    batch_serializer_class = PurchaseBatchSerializer
    ingest = staticmethod(purchases_ingest)

    def base_queryset(self):
        return Purchase.objects.all()
