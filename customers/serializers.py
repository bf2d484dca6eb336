from rest_framework import serializers

from customers.masking import customer_masks
from customers.models import (
    Customer,
    CustomField,
    CustomFieldType,
    DateOrder,
    ImportJob,
    ImportKind,
)
from customers.services.custom_fields import DEFINITION_FIELDS, private_attributes_of
from customers.services.customers import EDITABLE_FIELDS
from privacy.core.masking import mask_text
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
            "birth_year",
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
        # Personal custom values are kept encrypted apart; shown beside the others, masked
        # like the contact details for those who may not see personal data.
        private = private_attributes_of(instance)
        if private and not self.context.get("can_view_personal_data"):
            private = {key: mask_text(str(value)) for key, value in private.items()}
        data["attributes"] = {**(data.get("attributes") or {}), **private}
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
        fields["attributes"] = serializers.DictField(
            required=False,
            help_text="Custom field key → typed value (null clears it): see custom-fields.",
        )
        return fields


class CustomFieldSerializer(serializers.ModelSerializer):
    """A custom field definition; the service checks and stores it."""

    owner_team = serializers.IntegerField(source="owner_team_id", required=False)
    type = serializers.ChoiceField(choices=CustomFieldType.choices)
    options = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=200
    )
    label_zh = serializers.CharField(max_length=100, required=False, allow_blank=True)
    pattern = serializers.CharField(max_length=200, required=False, allow_blank=True)

    class Meta:
        model = CustomField
        fields = ["id", "owner_team", *DEFINITION_FIELDS, "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]
        # Uniqueness per team is the service's check (it knows the team).
        validators = []


class ExternalIdSerializer(serializers.Serializer):
    channel = serializers.CharField(max_length=32)
    id = serializers.CharField(max_length=128)


class CustomerPageSerializer(serializers.Serializer):
    """A page of customers, as the list answers it (cursor pagination)."""

    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = CustomerSerializer(many=True)


class CustomerSearchSerializer(serializers.Serializer):
    """What ``POST /api/v1/customers/search/`` looks for: every term given must match."""

    email = serializers.CharField(max_length=320, required=False, help_text="Exact email.")
    phone = serializers.CharField(
        max_length=40, required=False, help_text="Exact phone, E.164 or national with country."
    )
    country = serializers.CharField(
        max_length=2, required=False, help_text="ISO code: the region of a national phone."
    )
    name = serializers.CharField(
        max_length=200,
        required=False,
        help_text=(
            "The start of each name word (three letters or more; shorter: whole words), in any "
            "order; a single word also matches the start of the email's local part."
        ),
    )
    external_id = ExternalIdSerializer(
        required=False, help_text="An id on another channel (CRM, shop, WeChat...)."
    )

    def validate(self, attrs):
        if not any(attrs.get(name) for name in ("email", "phone", "name", "external_id")):
            raise serializers.ValidationError(
                "Give at least one of email, phone, name and external_id."
            )
        return attrs


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
    date_order = serializers.SerializerMethodField(help_text="The order chosen at upload.")
    date_orders = serializers.SerializerMethodField(
        help_text=(
            "{field: day_first|month_first} for each date column whose order was chosen or "
            "inferred from the file when the run started; other columns are read by country."
        )
    )

    def get_date_order(self, job: ImportJob) -> str:
        return job.options.get("date_order") or DateOrder.AUTO

    def get_date_orders(self, job: ImportJob) -> dict[str, str]:
        return job.options.get("date_orders") or {}

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
            "date_order",
            "date_orders",
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
    date_order = serializers.ChoiceField(
        choices=DateOrder.choices,
        default=DateOrder.AUTO,
        help_text=(
            "How numeric dates such as 07/12/1946 are read. auto: a date column with a day "
            "above 12 first is day first, one with a month above 12 second is month first; "
            "otherwise each row by its country, with a warning for each ambiguous date."
        ),
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
