"""What each app's ``AppConfig.ready()`` registers, registry by registry, by key.

The rest of the suite relies on these registrations and never makes them itself, so a
registration that is removed or renamed fails here by name as well as in the tests of what it
does. ``SegmentsConfig`` and ``CampaignsConfig`` register nothing (yet every registry is
compared whole, so a new registration is added here on purpose).
"""

import weakref

from axes.signals import user_locked_out
from django.apps import apps
from django.contrib.auth.models import Group
from django.core.management.sql import emit_post_migrate_signal
from django.db.models.signals import post_migrate

from customers import registrations as customers_registrations
from customers.models import Channel, Customer, ImportJob, ImportRow
from customers.services.erasure import customers_erase, customers_erasure_collect
from customers.services.export import (
    customers_export,
    customers_export_collect,
    customers_export_sources,
)
from customers.services.merge import PROFILE_FIELDS, merge_hooks
from customers.services.reindex import customers_reindex
from customers.services.requests import CustomerDirectory
from customers.services.retention import (
    ImportFilesPurger,
    InactiveCustomersPurger,
    events_purger,
)
from privacy.consent import registrations as consent_registrations
from privacy.consent.services.merge import consent_merge_hook, consent_merge_undo_hook
from privacy.core import labels, refusals, roles
from privacy.core import registrations as core_registrations
from privacy.core.crypto import reindexers
from privacy.core.pages import object_pages
from privacy.core.subjects import subject_directory
from privacy.erasure import registrations as erasure_registrations
from privacy.erasure.services.erasure import erasers
from privacy.models import DataSubjectRequest, PrivacyNotice, RetentionCategory
from privacy.requests import registrations as requests_registrations
from privacy.requests.package.registry import exporters
from privacy.requests.services.eraser import requests_erase
from privacy.retention import registrations as retention_registrations
from privacy.retention.services import (
    AccessPackagePurger,
    AuditEntryPurger,
    TablePurger,
    purgers,
)


def receivers_by_dispatch_uid(signal) -> dict[str, object]:
    """The receivers of ``signal`` connected with a ``dispatch_uid``, by that uid."""
    found = {}
    for (key, _sender), receiver, _is_async in signal.receivers:
        if isinstance(key, str):
            found[key] = receiver() if isinstance(receiver, weakref.ref) else receiver
    return found


def test_erasers_in_the_order_they_run_reversed():
    # privacy (first in INSTALLED_APPS) registers before customers; erasers run in reverse.
    assert {
        label: (registration.erase, registration.collect)
        for label, registration in erasers().items()
    } == {
        "privacy.requests": (requests_erase, None),
        "customers": (customers_erase, customers_erasure_collect),
    }
    assert list(erasers()) == ["privacy.requests", "customers"]


def test_exporters():
    assert {
        label: (registration.export, registration.collect, registration.sources)
        for label, registration in exporters().items()
    } == {
        "customers": (customers_export, customers_export_collect, customers_export_sources),
    }


def test_merge_hooks():
    assert merge_hooks() == {"privacy.consent": (consent_merge_hook, consent_merge_undo_hook)}


def test_retention_purgers_one_per_category():
    registered = purgers()

    assert {category: type(purger) for category, purger in registered.items()} == {
        RetentionCategory.AUDIT_ENTRIES: AuditEntryPurger,
        RetentionCategory.EXPORT_PACKAGES: AccessPackagePurger,
        RetentionCategory.EVENTS: TablePurger,
        RetentionCategory.IMPORT_FILES: ImportFilesPurger,
        RetentionCategory.INACTIVE_CUSTOMERS: InactiveCustomersPurger,
    }
    assert set(registered) == set(RetentionCategory.values)
    assert registered[RetentionCategory.EVENTS] == events_purger()


def test_blind_index_reindexers():
    assert reindexers() == {"customers.indexes": customers_reindex}


def test_subject_directory():
    assert type(subject_directory()) is CustomerDirectory


def test_signal_receivers():
    assert receivers_by_dispatch_uid(post_migrate)["privacy_roles_sync"] is (
        roles.roles_sync_after_migrate
    )
    assert receivers_by_dispatch_uid(user_locked_out) == {
        "privacy_locked_out": refusals.locked_out_record
    }


def test_role_permissions_come_back_with_every_migrate(db):
    # Given the roles as migrated, then stripped of every permission
    role_groups = Group.objects.filter(name__in=roles.ROLE_PERMISSIONS)
    migrated = {group.name: set(group.permissions.all()) for group in role_groups}
    assert sorted(migrated) == sorted(roles.ROLE_PERMISSIONS)
    assert all(migrated.values())
    for group in role_groups:
        group.permissions.clear()

    # When a migrate finishes
    emit_post_migrate_signal(verbosity=0, interactive=False, db="default")

    # Then every role holds exactly its permissions again
    assert {group.name: set(group.permissions.all()) for group in role_groups} == migrated


def test_labels_each_package_registers():
    # Each package's tables of display names, whole, under their kinds (privacy.core.labels).
    expected: dict[str, dict] = {}
    for kind, names in (
        (labels.AUDIT_ACTION, core_registrations.AUDIT_ACTIONS),
        (labels.AUDIT_ACTION, consent_registrations.AUDIT_ACTIONS),
        (labels.CONSENT_PURPOSE, consent_registrations.CONSENT_PURPOSES),
        (labels.CONSENT_SOURCE, consent_registrations.CONSENT_SOURCES),
        (labels.AUDIT_ACTION, erasure_registrations.AUDIT_ACTIONS),
        (labels.AUDIT_ACTION, requests_registrations.AUDIT_ACTIONS),
        (labels.AUDIT_ACTION, retention_registrations.AUDIT_ACTIONS),
        (labels.RETENTION_TABLE, retention_registrations.RETENTION_TABLES),
        (labels.AUDIT_ACTION, customers_registrations.AUDIT_ACTIONS),
        (labels.CHANNEL, {channel.value: channel.label for channel in Channel}),
        (labels.EVENT_TYPE, customers_registrations.EVENT_TYPES),
        (labels.MERGE_REASON, customers_registrations.MERGE_REASONS),
        (labels.RETENTION_TABLE, customers_registrations.RETENTION_TABLES),
        (labels.RFM_GROUP, customers_registrations.RFM_GROUPS),
        (labels.AGE_BAND, customers_registrations.AGE_BANDS),
        (
            labels.FIELD,
            {name: Customer._meta.get_field(name).verbose_name for name in PROFILE_FIELDS},
        ),
    ):
        expected.setdefault(kind, {}).update(names)
    for kind, names in expected.items():
        assert labels.labels(kind) == names, kind
    object_types = labels.labels(labels.OBJECT_TYPE)
    for app in ("privacy", "customers"):
        for model in apps.get_app_config(app).get_models():
            assert model._meta.label_lower in object_types
    assert object_types["customers.importrow"] == customers_registrations.OBJECT_TYPES[ImportRow]
    assert "auth.user" in object_types and "auth.group" in object_types


def test_object_pages():
    assert object_pages() == {
        "privacy.privacynotice": (PrivacyNotice, "notice-detail"),
        "privacy.datasubjectrequest": (DataSubjectRequest, "request-detail"),
        "customers.customer": (Customer, "customer-detail"),
        "customers.importjob": (ImportJob, "import-detail"),
    }
