"""The record of processing: every field of every model, with its category and retention class.

``PERSONAL_DATA`` lists each model of the project's apps (``PROJECT_APPS``) by its label, and
each of its fields (concrete fields and many-to-many fields) with

- a **category**: what kind of data about a person the field holds (``CATEGORIES``);
- a **retention class**: how long it is kept (``RETENTION_CLASSES``).

A field that is not personal data is registered too, as ``NOT_PERSONAL``, so a new field is
never left out by accident: ``register_problems()`` names every field that is missing from the
register or registered but gone, and a test fails while there is any.

How fields are classed:

- a field that identifies, reaches or describes a person (a customer or a staff member) has the
  category of what it says, and the retention class of the record it sits in;
- keys that tie a record to a person (``Event.customer``, ``AuditEntry.actor``) are
  ``identity``; the bookkeeping of a personal record (its timestamps, source, status) is
  ``technical`` and goes with the record;
- keys of rows about nobody (``id`` of an event, ``owner_team``), and every field of records
  that are not about a person (teams, consent purposes, import templates), are not personal.

The retention classes say what the policy is; the purge jobs that carry them out belong to the
services of each app.
"""

from __future__ import annotations

from django.apps import apps
from django.db import models

from privacy.core.fields import EncryptedTextField

PROJECT_APPS = ("privacy", "customers", "segments", "campaigns", "config")  # LAYERING

CATEGORIES = {
    "contact": "Reaches the person: email, phone, postal address and its parts.",
    "identity": "Identifies or describes the person: names, birth date, employer, "
    "identifiers and keyed hashes of them, links to the person's record.",
    "behaviour": "What the person did: events, page views, sign-up.",
    "transaction": "What the person bought.",
    "consent": "What the person agreed to or refused, with its proof.",
    "technical": "Bookkeeping of a personal record: timestamps, sources, addresses, request ids.",
    "derived": "Computed from other personal data: metrics, scores, groups, tags.",
    "none": "Not personal data.",
}

RETENTION_CLASSES = {
    "customer_lifetime": "While the customer's record exists; erased with it (erasure request "
    "or inactivity purge).",
    "events_2y": "Behaviour events: deleted two years after they occurred.",
    "import_90d": "Uploaded import files, their row reports and who uploaded them: deleted 90 "
    "days after the import.",
    "audit_5y": "The audit log: append-only, kept five years.",
    "consent_proof": "Consent events: while the consent is relied on and three years after it "
    "ends, as proof; they outlive an erasure when ERASURE_KEEP_CONSENT_PROOF is on.",
    "suppression_permanent": "Suppression entries (keyed hashes only): while the person must "
    "not be collected or contacted again.",
    "request_record": "Data-subject requests: kept three years after the answer, to show how "
    "each was handled; the person's contact details are cleared when an erasure completes.",
    "export_package_7d": "Access packages (the ZIP of a person's data): the download link works "
    "for seven days and the file is purged by the export-packages retention policy.",
    "webhook_log": "Erasure notifications to downstream recipients: the body sent is cleared "
    "once delivered; the log line is kept with the audit log.",
    "staff_account": "Staff accounts, their settings and grants: while the account exists.",
    "not_personal": "Not personal data.",
}

NOT_PERSONAL = ("none", "not_personal")

_CUSTOMER = "customer_lifetime"


def _fields(category: str, retention: str, *names: str) -> dict[str, tuple[str, str]]:
    return dict.fromkeys(names, (category, retention))


def _not_personal(*names: str) -> dict[str, tuple[str, str]]:
    return dict.fromkeys(names, NOT_PERSONAL)


PERSONAL_DATA: dict[str, dict[str, tuple[str, str]]] = {
    # --- privacy ---------------------------------------------------------------------------------
    "privacy.Team": _not_personal("id", "group", "slug", "created_at"),
    "privacy.StaffProfile": {
        "id": NOT_PERSONAL,
        "user": ("identity", "staff_account"),
        "time_zone": ("technical", "staff_account"),
    },
    # An API token of a staff or integration account: its key is stored as a digest only.
    "privacy.ApiToken": {
        "id": NOT_PERSONAL,
        **_fields("identity", "staff_account", "user", "created_by"),
        **_fields(
            "technical",
            "staff_account",
            "name",
            "prefix",
            "digest",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
        ),
    },
    # Never holds personal-data values: who acted, on which object id, from where.
    "privacy.AuditEntry": {
        **_not_personal("id", "action", "object_type", "team"),
        **_fields("identity", "audit_5y", "actor", "actor_label", "object_id"),
        **_fields("technical", "audit_5y", "occurred_at", "ip_address", "request_id", "metadata"),
    },
    "privacy.ConsentPurpose": _not_personal(  # LAYERING: consent entry in the core
        "id",
        "code",
        "name",
        "description",
        "channels",
        "requires_double_opt_in",
        "is_active",
        "created_at",
    ),
    "privacy.PrivacyNotice": _not_personal(  # LAYERING: consent entry in the core
        "id", "version", "language", "text", "text_sha256", "published_at"
    ),
    "privacy.ConsentEvent": {  # LAYERING: consent entry in the core
        **_not_personal("id", "owner_team"),
        # subject_key: a keyed hash of the email, so the proof still names the person after
        # an erasure; recorded_by: the staff member who entered it.
        **_fields("identity", "consent_proof", "customer_id", "subject_key", "recorded_by"),
        **_fields(
            "consent",
            "consent_proof",
            "purpose",
            "channel",
            "status",
            "lawful_basis",
            "source",
            "source_reference",
            "evidence",
            "notice",
            "occurred_at",
            "expires_at",
        ),
    },
    "privacy.Suppression": {  # LAYERING: erasure entry in the core
        **_not_personal("id", "owner_team"),
        "lookup_key": ("identity", "suppression_permanent"),
        **_fields("technical", "suppression_permanent", "kind", "reason", "request_id"),
        "created_at": ("technical", "suppression_permanent"),
    },
    "privacy.DataSubjectRequest": {  # LAYERING: requests entry in the core
        **_not_personal(
            "id",
            "owner_team",
            "kind",
            "status",
            "channel",
            "due_on",
            "extension_months",
            "extended_at",
            "verification_method",
            "outcome",
            "progress",
            "last_overdue_alert_on",
            "created_at",
            "updated_at",
        ),
        **_fields("contact", "request_record", "subject_email", "subject_phone"),
        **_fields(
            "identity",
            "request_record",
            "subject_name",
            "customer_ids",
            "verified_by",
            "created_by",
            # staff notes and the person's own words may say anything about them
            "details",
            "verification_note",
            "extension_reason",
            "outcome_note",
        ),
        **_fields(
            "technical",
            "request_record",
            "received_at",
            "verified_at",
            "completed_at",
            "restriction_lifted_at",
        ),
        **_fields("identity", "export_package_7d", "package"),
        **_fields("technical", "export_package_7d", "package_size", "package_expires_at"),
    },
    "privacy.RetentionPolicy": _not_personal(  # LAYERING: retention entry in the core
        "id",
        "category",
        "retain_days",
        "is_active",
        "last_run_at",
        "last_run_counts",
        "updated_at",
    ),
    "privacy.ErasureWebhook": _not_personal(  # LAYERING: erasure entry in the core
        "id", "owner_team", "name", "url", "channel", "secret", "is_active", "created_at"
    ),
    "privacy.ErasureNotification": {  # LAYERING: erasure entry in the core
        **_not_personal(
            "id",
            "webhook",
            "erasure_reference",
            "status",
            "attempts",
            "response_status",
            "last_error",
            "created_at",
            "delivered_at",
        ),
        # customer numbers and external ids until delivered
        **_fields("identity", "webhook_log", "payload", "request_id"),
    },
    # LAYERING: the entries of the customers app (a higher app) live in the core.
    # --- customers -------------------------------------------------------------------------------
    "customers.Customer": {
        "id": ("identity", _CUSTOMER),  # the customer number staff see and quote
        "owner_team": NOT_PERSONAL,
        **_fields("contact", _CUSTOMER, "email", "phone", "postal_address", "country", "city"),
        "postal_code": ("contact", _CUSTOMER),
        **_fields(
            "identity",
            _CUSTOMER,
            "given_name",
            "family_name",
            "name_index",
            "birth_date",
            "gender",
            "language",
            "company",
            "industry",
            "job_title",
            # free text and custom attributes may say anything about the person
            "notes",
            "attributes",
            "merged_into",
        ),
        "signup_date": ("behaviour", _CUSTOMER),
        **_fields(
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
        **_fields(
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
        **_not_personal("id", "permission"),
        "user": ("identity", "staff_account"),
        "content_object": ("identity", _CUSTOMER),
    },
    "customers.CustomerGroupObjectPermission": {
        **_not_personal("id", "permission", "group"),
        "content_object": ("identity", _CUSTOMER),
    },
    "customers.Identity": {
        **_not_personal("id", "owner_team"),
        **_fields("identity", _CUSTOMER, "customer", "lookup_key"),
        "value": ("contact", _CUSTOMER),  # the encrypted email or phone
        **_fields("technical", _CUSTOMER, "kind", "channel", "source", "created_at"),
    },
    "customers.Event": {
        **_not_personal("id", "owner_team"),
        "customer": ("identity", "events_2y"),
        **_fields("behaviour", "events_2y", "type", "occurred_at", "properties"),
        **_fields("technical", "events_2y", "source", "client_id", "received_at"),
    },
    # Purchases feed the customer's metrics (RFM, lifetime value) and go with the customer;
    # the shop keeps the accounting records.
    "customers.Purchase": {
        **_not_personal("id", "owner_team"),
        "customer": ("identity", _CUSTOMER),
        **_fields(
            "transaction",
            _CUSTOMER,
            "order_reference",
            "occurred_at",
            "amount",
            "currency",
            "quantity",
            "items",
        ),
        **_fields("technical", _CUSTOMER, "source", "received_at"),
    },
    "customers.ImportJob": {
        **_not_personal(
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
        **_fields("technical", "import_90d", "original_filename", "error"),
    },
    "customers.ImportJobUserObjectPermission": {
        **_not_personal("id", "permission", "content_object"),
        "user": ("identity", "staff_account"),
    },
    "customers.ImportJobGroupObjectPermission": _not_personal(
        "id", "permission", "group", "content_object"
    ),
    # A report line holds no value from the file, only the verdict on it.
    "customers.ImportRow": {
        **_not_personal("id", "job", "line_number"),
        # fingerprint: a keyed hash of the normalised record
        **_fields("identity", "import_90d", "customer", "fingerprint"),
        **_fields("technical", "import_90d", "outcome", "warnings", "reason"),
    },
    "customers.ImportTemplate": _not_personal(
        "id", "owner_team", "name", "kind", "mapping", "created_at"
    ),
    "customers.MergeRecord": {
        "id": NOT_PERSONAL,
        # survivor_before: the survivor's encrypted profile before the merge, for undo
        **_fields("identity", _CUSTOMER, "survivor", "merged", "performed_by", "survivor_before"),
        **_fields(
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
        **_not_personal("id", "owner_team"),
        **_fields("identity", _CUSTOMER, "first", "second", "decided_by"),
        "reason": ("derived", _CUSTOMER),
        **_fields("technical", _CUSTOMER, "status", "decided_at", "created_at"),
    },
}


def registered_models() -> list[type[models.Model]]:
    """Every model of the project's apps that stores rows (unmanaged models store nothing)."""
    return [
        model
        for label in PROJECT_APPS
        for model in apps.get_app_config(label).get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    ]


def model_fields(model: type[models.Model]) -> list[models.Field]:
    return [*model._meta.concrete_fields, *model._meta.local_many_to_many]


def register_problems() -> list[str]:
    """Every way the register and the models disagree, one line each; empty when they agree."""
    problems: list[str] = []
    models_by_label = {model._meta.label: model for model in registered_models()}
    for label, model in models_by_label.items():
        registered = PERSONAL_DATA.get(label, {})
        names = [field.name for field in model_fields(model)]
        problems += [f"{label}.{name}: not registered" for name in names if name not in registered]
        problems += [
            f"{label}.{name}: registered but no such field"
            for name in registered
            if name not in names
        ]
    problems += [
        f"{label}: registered but no such model"
        for label in PERSONAL_DATA
        if label not in models_by_label
    ]
    for label, fields in PERSONAL_DATA.items():
        for name, (category, retention) in fields.items():
            if category not in CATEGORIES:
                problems.append(f"{label}.{name}: unknown category {category!r}")
            if retention not in RETENTION_CLASSES:
                problems.append(f"{label}.{name}: unknown retention class {retention!r}")
            if (category == "none") != (retention == "not_personal"):
                problems.append(
                    f"{label}.{name}: {category!r} with {retention!r}: only data that is not "
                    "personal is kept as 'not_personal'"
                )
    return problems


def personal_fields(model: type[models.Model]) -> dict[str, tuple[str, str]]:
    """The personal-data fields of ``model``: name → (category, retention class)."""
    return {
        name: entry
        for name, entry in PERSONAL_DATA.get(model._meta.label, {}).items()
        if entry != NOT_PERSONAL
    }


# Staff without the permission to view personal data see these categories masked.
MASKED_CATEGORIES = ("contact", "identity")


def _holds_written_value(field: models.Field) -> bool:
    """Whether ``field`` holds a value as it was written about the person (text, encrypted or
    not, and calendar dates), rather than a key, a link, a keyed hash, a file, structured data
    or a short plain value kept for segments (a country, a city, a company)."""
    if isinstance(field, models.DateField):
        return not isinstance(field, models.DateTimeField)
    return isinstance(field, EncryptedTextField | models.TextField)


def masked_fields(model: type[models.Model]) -> dict[str, str]:
    """The fields of ``model`` that staff without "view personal data" see masked: name →
    category.

    They are the personal fields of the categories ``MASKED_CATEGORIES`` whose value is written
    about the person: text and dates. Keys and links to records (the customer number, an
    account), keyed hashes and indexes (never shown), and the plain short values of these
    categories that segments select on (country, city, postal code, gender, language, company,
    industry, job title) are shown as they are. How each one is masked is
    ``privacy.core.masking.field_mask``.
    """
    fields = {field.name: field for field in model_fields(model)}
    return {
        name: category
        for name, (category, _retention) in personal_fields(model).items()
        if category in MASKED_CATEGORIES and name in fields and _holds_written_value(fields[name])
    }
