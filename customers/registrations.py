"""What the customers app registers into the layers below it, from ``CustomersConfig.ready()``
(``docs/registries.md``): the record of processing of its models, what each role gets of its
permissions, the subject directory, and its part in erasure, access packages, retention,
re-indexing and merges."""

from __future__ import annotations

from django.apps import apps
from django.utils.translation import gettext_lazy as _

from customers.models import (
    Channel,
    Customer,
    CustomerGroupObjectPermission,
    CustomerUserObjectPermission,
    DuplicateCandidate,
    ImportJob,
    ImportJobGroupObjectPermission,
    ImportJobUserObjectPermission,
    ImportRow,
    ImportTemplate,
    MergeRecord,
)
from customers.services.custom_fields import DEFINITION_FIELDS
from customers.services.erasure import customers_erase, customers_erasure_collect
from customers.services.export import (
    customers_export,
    customers_export_collect,
    customers_export_sources,
)
from customers.services.merge import PROFILE_FIELDS, register_merge_hook
from customers.services.reindex import customers_reindex
from customers.services.requests import CustomerDirectory
from customers.services.retention import (
    CUSTOMER_LABEL,
    EVENT_LABEL,
    IMPORT_FILE_LABEL,
    IMPORT_ROW_LABEL,
    PURCHASE_LABEL,
    customers_purgers_register,
)
from privacy.consent.services.merge import consent_merge_hook, consent_merge_undo_hook
from privacy.core.crypto import register_reindexer
from privacy.core.labels import (
    AGE_BAND,
    AUDIT_ACTION,
    CHANNEL,
    EVENT_TYPE,
    FIELD,
    MERGE_REASON,
    RETENTION_TABLE,
    RFM_GROUP,
    labels_register,
    object_types_register,
)
from privacy.core.pages import object_page_register
from privacy.core.processing import NOT_PERSONAL, not_personal, personal, processing_register
from privacy.core.roles import (
    ADMINISTRATOR,
    ANALYST,
    DATA_STEWARD,
    MARKETER,
    role_permissions_register,
)
from privacy.core.subjects import register_subject_directory
from privacy.erasure.services.erasure import register_eraser
from privacy.requests.package.registry import register_exporter

_CUSTOMER = "customer_lifetime"

PROCESSING = {
    "customers.Customer": {
        "id": ("identity", _CUSTOMER),  # the customer number staff see and quote
        "owner_team": NOT_PERSONAL,
        **personal("contact", _CUSTOMER, "email", "phone", "postal_address", "country", "city"),
        "postal_code": ("contact", _CUSTOMER),
        **personal(
            "identity",
            _CUSTOMER,
            "given_name",
            "family_name",
            "name_index",
            "search_prefixes",
            "birth_date",
            "birth_year",
            "gender",
            "language",
            "company",
            "industry",
            "job_title",
            # free text and custom attributes may say anything about the person
            "notes",
            "attributes",
            # the values of custom fields marked as personal data, encrypted
            "private_attributes",
            "merged_into",
        ),
        "signup_date": ("behaviour", _CUSTOMER),
        **personal(
            "derived",
            _CUSTOMER,
            "email_domain",
            "age_band",
            "tags",
            "lifecycle_status",
            "first_purchase_at",
            "last_purchase_at",
            "order_count",
            "total_spend",
            "average_order_value",
            "lifetime_value",
            "rfm_recency",
            "rfm_frequency",
            "rfm_monetary",
            "rfm_group",
        ),
        **personal(
            "technical",
            _CUSTOMER,
            "source_channel",
            "provenance",
            "metrics_updated_at",
            "processing_restricted_at",
            "marketing_objection_at",
            "created_at",
            "updated_at",
        ),
    },
    "customers.CustomerUserObjectPermission": {
        **not_personal("id", "permission"),
        "user": ("identity", "staff_account"),
        "content_object": ("identity", _CUSTOMER),
    },
    "customers.CustomerGroupObjectPermission": {
        **not_personal("id", "permission", "group"),
        "content_object": ("identity", _CUSTOMER),
    },
    "customers.Identity": {
        **not_personal("id", "owner_team"),
        **personal("identity", _CUSTOMER, "customer", "lookup_key"),
        "value": ("contact", _CUSTOMER),  # the encrypted email or phone
        **personal("technical", _CUSTOMER, "kind", "channel", "source", "created_at"),
    },
    "customers.Event": {
        **not_personal("id", "owner_team"),
        "customer": ("identity", "events_2y"),
        **personal("behaviour", "events_2y", "type", "occurred_at", "properties"),
        **personal("technical", "events_2y", "source", "client_id", "received_at"),
    },
    # Purchases feed the customer's metrics (RFM, lifetime value) and go with the customer;
    # the shop keeps the accounting records.
    "customers.Purchase": {
        **not_personal("id", "owner_team"),
        "customer": ("identity", _CUSTOMER),
        **personal(
            "transaction",
            _CUSTOMER,
            "order_reference",
            "occurred_at",
            "amount",
            "currency",
            "quantity",
            "items",
        ),
        **personal("technical", _CUSTOMER, "source", "received_at"),
    },
    "customers.ImportJob": {
        **not_personal(
            "id",
            "owner_team",
            "kind",
            "encoding",
            "delimiter",
            "mapping",
            "options",
            "is_dry_run",
            "status",
            "total_rows",
            "processed_rows",
            "next_line",
            "created_count",
            "updated_count",
            "merged_count",
            "unchanged_count",
            "rejected_count",
            "warning_count",
            "created_at",
            "started_at",
            "finished_at",
        ),
        "created_by": ("identity", "import_90d"),
        "file": ("contact", "import_90d"),  # the uploaded file: everyone's contact details
        # a file name or an error message may quote a person
        **personal("technical", "import_90d", "original_filename", "error"),
    },
    "customers.ImportJobUserObjectPermission": {
        **not_personal("id", "permission", "content_object"),
        "user": ("identity", "staff_account"),
    },
    "customers.ImportJobGroupObjectPermission": not_personal(
        "id", "permission", "group", "content_object"
    ),
    # A report line holds no value from the file, only the verdict on it.
    "customers.ImportRow": {
        **not_personal("id", "job", "line_number"),
        # fingerprint: a keyed hash of the normalised record
        **personal("identity", "import_90d", "customer", "fingerprint"),
        **personal("technical", "import_90d", "outcome", "warnings", "reason"),
    },
    # Definitions of custom fields: their values are in the customer's attributes.
    "customers.CustomField": not_personal(
        "id", "owner_team", *DEFINITION_FIELDS, "created_at", "updated_at"
    ),
    # A staff user's saved view of the customer list: its filters hold no search term.
    "customers.CustomerListView": {
        "id": NOT_PERSONAL,
        "owner": ("identity", "staff_account"),
        **personal(
            "technical", "staff_account", "name", "filters", "columns", "created_at", "updated_at"
        ),
    },
    "customers.ImportTemplate": not_personal(
        "id", "owner_team", "name", "kind", "mapping", "date_order", "created_at"
    ),
    "customers.MergeRecord": {
        "id": NOT_PERSONAL,
        # survivor_before: the survivor's encrypted profile before the merge, for undo
        **personal("identity", _CUSTOMER, "survivor", "merged", "performed_by", "survivor_before"),
        **personal(
            "technical",
            _CUSTOMER,
            "reason",
            "performed_at",
            "overwritten_fields",
            "moved",
            "undone_at",
        ),
    },
    "customers.DuplicateCandidate": {
        **not_personal("id", "owner_team"),
        **personal("identity", _CUSTOMER, "first", "second", "decided_by"),
        **personal("derived", _CUSTOMER, "reason", "score", "reasons"),
        **personal("technical", _CUSTOMER, "status", "decided_at", "created_at"),
    },
    # Counts per team and day (customers.quality): no customer, no value, nobody's data.
    "customers.DataQualitySnapshot": not_personal(
        "id",
        "owner_team",
        "taken_on",
        "taken_at",
        "customer_count",
        "field_count",
        "filled_count",
        "checked_count",
        "valid_count",
        "duplicate_count",
        "consented_count",
        "average_age_days",
        "fields",
    ),
}


# --- Display names of the app's codes (privacy.core.labels) -----------------------------------
AUDIT_ACTIONS = {
    "customer.search": _("Customers searched"),
    "customer.tag": _("Tag added to customers"),
    "customer.untag": _("Tag removed from customers"),
    "customer_list_view.save": _("Customer list view saved"),
    "customer_list_view.delete": _("Customer list view deleted"),
    "import.retry": _("Import queued again"),
    "import.cancel": _("Import cancelled"),
    "customer.view_personal_data": _("Customer's contact details viewed"),
    "customer.update": _("Customer changed"),
    "customer.upsert": _("Customers created or updated"),
    "customer.merge": _("Customers merged"),
    "customer.merge_undo": _("Merge undone"),
    "customer.export": _("Customers exported"),
    "customers.enrich": _("Customer metrics computed"),
    "customers.data_quality_snapshot": _("Data quality measured"),
    "custom_field.create": _("Custom field created"),
    "custom_field.update": _("Custom field changed"),
    "custom_field.delete": _("Custom field deleted"),
    "duplicates.find": _("Duplicates searched"),
    "duplicate.dismiss": _("Possible duplicate dismissed"),
    "import.create": _("Import started"),
    "import.finish": _("Import finished"),
    "import.report_download": _("Import row report downloaded"),
    "import_template.save": _("Import template saved"),
    "import_template.update": _("Import template changed"),
    "import_template.delete": _("Import template deleted"),
    "event.ingest": _("Events received"),
    "purchase.ingest": _("Purchases received"),
    "demo.seed": _("Demo data created"),
}

# Event types the product and its demo data send; an integration's own types read as written.
EVENT_TYPES = {
    "page_view": _("Page view"),
    "email_open": _("Email opened"),
    "email_click": _("Email link clicked"),
    "store_visit": _("Store visit"),
    "app_open": _("App opened"),
    "newsletter_signup": _("Newsletter sign-up"),
}

# Why two profiles were merged: the way it was asked for, or the channel the record came from.
MERGE_REASONS = {
    **{channel.value: channel.label for channel in Channel},
    "duplicate": _("Duplicate review"),
    "staff": _("Merged by staff"),
    "admin": _("Merged in the admin"),
    "api": _("Merged through the API"),
    "import": _("Import"),
}

RETENTION_TABLES = {
    EVENT_LABEL: _("Behaviour events"),
    PURCHASE_LABEL: _("Purchases"),
    CUSTOMER_LABEL: _("Customers"),
    IMPORT_ROW_LABEL: _("Import rows"),
    IMPORT_FILE_LABEL: _("Import files"),
}

# The groups enrichment stores (customers.services.enrichment.RFM_GROUP_RULES).
RFM_GROUPS = {
    "Champions": _("Champions"),
    "Loyal": _("Loyal"),
    "Potential loyalist": _("Potential loyalist"),
    "New": _("New"),
    "Promising": _("Promising"),
    "Needs attention": _("Needs attention"),
    "About to sleep": _("About to sleep"),
    "Cannot lose them": _("Cannot lose them"),
    "At risk": _("At risk"),
    "Lost": _("Lost"),
    "Hibernating": _("Hibernating"),
}

# The bands enrichment derives from the birth date.
AGE_BANDS = {
    "<18": _("Under 18"),
    "18-24": _("18 to 24"),
    "25-34": _("25 to 34"),
    "35-44": _("35 to 44"),
    "45-54": _("45 to 54"),
    "55-64": _("55 to 64"),
    "65+": _("65 and over"),
}


# Models whose verbose_name says nothing to staff, or is not translated.
OBJECT_TYPES = {
    CustomerUserObjectPermission: _("Customer shared with a user"),
    CustomerGroupObjectPermission: _("Customer shared with a team"),
    ImportJobUserObjectPermission: _("Import shared with a user"),
    ImportJobGroupObjectPermission: _("Import shared with a team"),
    ImportRow: _("Import row"),
    ImportTemplate: _("Import template"),
    MergeRecord: _("Merge record"),
    DuplicateCandidate: _("Possible duplicate"),
}


def labels_customers_register() -> None:
    labels_register(AUDIT_ACTION, AUDIT_ACTIONS)
    labels_register(CHANNEL, {channel.value: channel.label for channel in Channel})
    labels_register(EVENT_TYPE, EVENT_TYPES)
    labels_register(MERGE_REASON, MERGE_REASONS)
    labels_register(RETENTION_TABLE, RETENTION_TABLES)
    labels_register(RFM_GROUP, RFM_GROUPS)
    labels_register(AGE_BAND, AGE_BANDS)
    # The fields of a profile, as merges name the ones they overwrote (and import warnings).
    labels_register(
        FIELD, {name: Customer._meta.get_field(name).verbose_name for name in PROFILE_FIELDS}
    )
    object_types_register(apps.get_app_config("customers").get_models(), OBJECT_TYPES)
    object_page_register(Customer, "customer-detail")
    object_page_register(ImportJob, "import-detail")


def customers_register() -> None:
    processing_register(PROCESSING)
    role_permissions_register(
        "customers",
        {
            ADMINISTRATOR: [""],
            DATA_STEWARD: ["view_", "change_"],
            MARKETER: ["view_", "add_", "change_"],
            ANALYST: ["view_"],
        },
    )
    register_reindexer("customers.indexes", customers_reindex)
    register_eraser("customers", customers_erase, collect=customers_erasure_collect)
    register_exporter(
        "customers",
        customers_export,
        collect=customers_export_collect,
        sources=customers_export_sources,
    )
    register_merge_hook("privacy.consent", consent_merge_hook, consent_merge_undo_hook)
    register_subject_directory("customers", CustomerDirectory())
    customers_purgers_register()
    labels_customers_register()
