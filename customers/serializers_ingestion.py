"""Serializers of the events and purchases API: stored rows, ingest batches and their results.

Items of a batch are taken as plain JSON objects and validated one by one by the ingestion
service, so one bad item is reported in its own result instead of failing the request. The
item serializers below document the item shape in the OpenAPI schema.
"""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from customers.models import Event, Purchase
from customers.services.ingestion import CREATED, DUPLICATE, MAX_BATCH, REJECTED


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = Event
        fields = [
            "id",
            "owner_team",
            "customer",
            "type",
            "occurred_at",
            "properties",
            "source",
            "client_id",
            "received_at",
        ]
        read_only_fields = fields


class PurchaseSerializer(serializers.ModelSerializer):
    class Meta:
        model = Purchase
        fields = [
            "id",
            "owner_team",
            "customer",
            "source",
            "order_reference",
            "occurred_at",
            "amount",
            "currency",
            "quantity",
            "items",
            "received_at",
        ]
        read_only_fields = fields


class _CustomerReferenceSerializer(serializers.Serializer):
    customer_id = serializers.IntegerField(
        required=False, help_text="The customer's id. Used first when several are given."
    )
    external_id = serializers.CharField(
        required=False, max_length=128, help_text="The customer's id on `channel`."
    )
    channel = serializers.CharField(
        required=False, max_length=32, help_text="Channel of `external_id`, e.g. `shop`."
    )
    email = serializers.EmailField(required=False, help_text="The customer's email address.")


class EventItemSerializer(_CustomerReferenceSerializer):
    """One event of a batch (schema only; the service validates each item)."""

    type = serializers.RegexField(r"^[a-z0-9_.:-]{1,64}$", help_text="e.g. `page_view`.")
    occurred_at = serializers.DateTimeField(
        help_text="ISO 8601 with a time zone; at most one day in the future."
    )
    properties = serializers.DictField(required=False, help_text="A JSON object, at most 16 KB.")
    client_id = serializers.CharField(
        required=False,
        max_length=128,
        help_text="Your id of the event; an event is stored once per source and client id, "
        "so a retried batch is safe. Events without one are never deduplicated.",
    )


class PurchaseItemSerializer(_CustomerReferenceSerializer):
    """One purchase of a batch (schema only; the service validates each item)."""

    order_reference = serializers.CharField(
        max_length=128, help_text="Unique per source: a purchase is stored once."
    )
    occurred_at = serializers.DateTimeField(
        help_text="ISO 8601 with a time zone; at most one day in the future."
    )
    amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=0, help_text="At most two decimal places."
    )
    currency = serializers.CharField(
        min_length=3, max_length=3, help_text="ISO 4217 code in upper case, e.g. `USD`."
    )
    quantity = serializers.IntegerField(required=False, min_value=1, default=1)
    items = serializers.ListField(
        child=serializers.DictField(), required=False, help_text="Order lines, JSON objects."
    )


def _items_field(item_serializer):
    @extend_schema_field(item_serializer(many=True))
    class ItemsField(serializers.ListField):
        pass

    return ItemsField(
        child=serializers.JSONField(),
        min_length=1,
        max_length=MAX_BATCH,
        help_text=f"1 to {MAX_BATCH:,} items.",
    )


class _BatchSerializer(serializers.Serializer):
    owner_team = serializers.IntegerField(
        required=False,
        help_text="Team whose customers the items belong to; needed only "
        "when you are in several teams.",
    )
    source = serializers.RegexField(
        r"^[a-z0-9_.:-]{1,32}$",
        required=False,
        default="api",
        help_text="Channel the items come from (`web`, `shop`, `app`...); default `api`.",
    )


class EventBatchSerializer(_BatchSerializer):
    items = _items_field(EventItemSerializer)


class PurchaseBatchSerializer(_BatchSerializer):
    items = _items_field(PurchaseItemSerializer)


class ItemErrorSerializer(serializers.Serializer):
    field = serializers.CharField(
        help_text="Path inside the item, e.g. `items.3`; empty: the item."
    )
    message = serializers.CharField()


class IngestResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the item in the request.")
    status = serializers.ChoiceField(choices=[CREATED, DUPLICATE, REJECTED])
    id = serializers.IntegerField(
        allow_null=True, help_text="The stored row (for a duplicate, the one stored before)."
    )
    errors = ItemErrorSerializer(many=True)


class IngestResponseSerializer(serializers.Serializer):
    results = IngestResultSerializer(many=True)
