"""The record of processing: every field of every model, with its category and retention class.

``PERSONAL_DATA`` lists each model of the project's apps by its label, and each of its fields
(concrete fields and many-to-many fields) with

- a **category**: what kind of data about a person the field holds (``CATEGORIES``);
- a **retention class**: how long it is kept (``RETENTION_CLASSES``).

A field that is not personal data is registered too, as ``NOT_PERSONAL``, so a new field is
never left out by accident: ``register_problems()`` names every field that is missing from the
register or registered but gone, and a test fails while there is any.

The core knows no model above it: the app or privacy package that owns a model registers its
entries with ``processing_register`` in its ``AppConfig.ready()`` (``docs/registries.md``), and
the register covers every model of each app that registered one (``covered_apps``).

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

from collections.abc import Mapping

from django.apps import apps
from django.db import models

from privacy.core.fields import EncryptedTextField
from privacy.core.registry import Registry

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


def personal(category: str, retention: str, *names: str) -> dict[str, tuple[str, str]]:
    """Entries of the fields ``names``, all of one category and retention class."""
    return dict.fromkeys(names, (category, retention))


def not_personal(*names: str) -> dict[str, tuple[str, str]]:
    """Entries of the fields ``names``, none of them personal data."""
    return dict.fromkeys(names, NOT_PERSONAL)


Entry = dict[str, tuple[str, str]]

# Model label ("customers.Customer") -> {field name: (category, retention class)}, registered by
# the app or privacy package that owns the model, in its ``AppConfig.ready()``.
PERSONAL_DATA: Registry[Entry] = Registry("record of processing")


def processing_register(entries: Mapping[str, Mapping[str, tuple[str, str]]]) -> None:
    """Register the record of processing of some models: ``{model label: {field: (category,
    retention class)}}``. Call it from ``AppConfig.ready()`` of the app that owns the models."""
    for label, fields in entries.items():
        PERSONAL_DATA.register(label, dict(fields))


def covered_apps() -> list[str]:
    """The apps the record covers: every app that registered an entry, in registration order."""
    return list(dict.fromkeys(label.split(".", 1)[0] for label in PERSONAL_DATA))


def registered_models() -> list[type[models.Model]]:
    """Every model of the apps the record covers that stores rows (unmanaged models store
    nothing): a model of theirs without an entry is a problem, not a model left out."""
    installed = {config.label: config for config in apps.get_app_configs()}
    return [
        model
        for label in covered_apps()
        if label in installed
        for model in installed[label].get_models(include_auto_created=True)
        if model._meta.managed and not model._meta.proxy
    ]


def model_fields(model: type[models.Model]) -> list[models.Field]:
    return [*model._meta.concrete_fields, *model._meta.local_many_to_many]


def register_problems(register: Mapping[str, Entry] = PERSONAL_DATA) -> list[str]:
    """Every way the register and the models disagree, one line each; empty when they agree."""
    problems: list[str] = []
    models_by_label = {model._meta.label: model for model in registered_models()}
    for label, model in models_by_label.items():
        registered = register.get(label, {})
        names = [field.name for field in model_fields(model)]
        problems += [f"{label}.{name}: not registered" for name in names if name not in registered]
        problems += [
            f"{label}.{name}: registered but no such field"
            for name in registered
            if name not in names
        ]
    problems += [
        f"{label}: registered but no such model"
        for label in register
        if label not in models_by_label
    ]
    for label, fields in register.items():
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
