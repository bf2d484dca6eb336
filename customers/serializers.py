from rest_framework import serializers

from customers.masking import customer_masks
from customers.models import Customer, ImportJob, ImportKind
from customers.services.customers import EDITABLE_FIELDS
from privacy.core.rest.fields import BlankChoicesAsNullMixin
from privacy.core.rest.parsers import storable_text_check


class CustomerSerializer(BlankChoicesAsNullMixin, serializers.ModelSerializer):
    """A customer as the API shows it; without "view personal data" the fields the record of
    processing masks are masked (``customers.masking.customer_masks``), as in the staff UI,
    the admin and the import preview."""

    display_name = serializers.CharField(read_only=True)
    owner_team = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = Customer
        fields = [
            "id",
            "owner_team",
            "email",
            "phone",
            "given_name",
            "family_name",
            "display_name",
            "postal_address",
            "postal_code",
            "country",
            "city",
            "birth_date",
            "age_band",
            "gender",
            "language",
            "company",
            "industry",
            "job_title",
            "source_channel",
            "signup_date",
            "tags",
            "attributes",
            "lifecycle_status",
            "email_domain",
            "order_count",
            "total_spend",
            "average_order_value",
            "lifetime_value",
            "first_purchase_at",
            "last_purchase_at",
            "rfm_recency",
            "rfm_frequency",
            "rfm_monetary",
            "rfm_group",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context.get("can_view_personal_data"):
            for name, mask in customer_masks().items():
                if name not in data:
                    continue
                # A masked date is null: the schema says the field holds a date.
                is_date = isinstance(self.fields[name], serializers.DateField)
                data[name] = None if is_date else mask(data[name])
        return data


class CustomerChangeSerializer(serializers.Serializer):
    """Writable fields of a profile, as strings; the normalisation service validates them."""

    def get_fields(self):
        fields = {}
        for name in EDITABLE_FIELDS:
            if name == "tags":
                fields[name] = serializers.ListField(
                    child=serializers.CharField(max_length=64), required=False
                )
            else:
                fields[name] = serializers.CharField(
                    required=False, allow_blank=True, allow_null=True, max_length=500
                )
        return fields


class ExternalIdSerializer(serializers.Serializer):
    channel = serializers.CharField(max_length=32)
    id = serializers.CharField(max_length=128)


class CustomerItemSerializer(CustomerChangeSerializer):
    """One item of an upsert batch or a create: profile fields plus identities."""

    def get_fields(self):
        fields = super().get_fields()
        fields["external_ids"] = ExternalIdSerializer(many=True, required=False)
        fields["source"] = serializers.CharField(max_length=32, required=False)
        fields["full_name"] = serializers.CharField(max_length=300, required=False)
        fields["signup_date"] = serializers.CharField(max_length=40, required=False)
        fields["notes"] = serializers.CharField(max_length=5000, required=False)
        return fields


class CustomerUpsertSerializer(serializers.Serializer):
    owner_team = serializers.IntegerField(required=False)
    items = serializers.ListField(child=serializers.DictField(), min_length=1, max_length=1000)


class ItemResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    status = serializers.CharField()
    customer_id = serializers.IntegerField(allow_null=True)
    errors = serializers.ListField(child=serializers.DictField())
    warnings = serializers.ListField(child=serializers.DictField())


class ItemResultsSerializer(serializers.Serializer):
    results = ItemResultSerializer(many=True)


class MergeSerializer(serializers.Serializer):
    other = serializers.IntegerField(help_text="Customer merged into this one.")


class TimelineEntrySerializer(serializers.Serializer):
    kind = serializers.CharField()
    item_id = serializers.IntegerField()
    at = serializers.DateTimeField()
    label = serializers.CharField()
    value = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    currency = serializers.CharField()
    channel = serializers.CharField()


class TimelinePageSerializer(serializers.Serializer):
    results = TimelineEntrySerializer(many=True)
    next_cursor = serializers.CharField(
        allow_null=True, help_text="Pass as cursor for the next page; null on the last page."
    )


class ImportJobSerializer(serializers.ModelSerializer):
    progress_percent = serializers.IntegerField(read_only=True)

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "owner_team",
            "kind",
            "original_filename",
            "encoding",
            "delimiter",
            "mapping",
            "is_dry_run",
            "status",
            "total_rows",
            "processed_rows",
            "progress_percent",
            "created_count",
            "updated_count",
            "merged_count",
            "unchanged_count",
            "rejected_count",
            "warning_count",
            "error",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    owner_team = serializers.IntegerField(required=False)
    kind = serializers.ChoiceField(choices=ImportKind.choices, default=ImportKind.CUSTOMERS)
    mapping = serializers.JSONField(required=False, help_text="{column header: field name}")
    default_country = serializers.CharField(max_length=2, required=False)
    source_channel = serializers.CharField(max_length=32, required=False)
    currency = serializers.CharField(max_length=3, required=False)
    delimiter = serializers.ChoiceField(
        choices=[",", ";", "\t", "whitespace"],
        required=False,
        help_text="Force the column separator; by default it is detected.",
    )
    has_header = serializers.BooleanField(
        default=True, help_text="False when the first line is data; columns are column_1..."
    )
    dry_run = serializers.BooleanField(default=False)
    keep_file = serializers.BooleanField(
        default=False,
        help_text="Keep the uploaded file (sealed) after the run, until the import retention "
        "period ends; by default it is deleted as soon as the report is written.",
    )

    def validate_mapping(self, value):
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            raise serializers.ValidationError("Give an object of column header to field name.")
        # A JSON string inside a form field: the parser saw only its escapes.
        storable_text_check(value)
        return value
