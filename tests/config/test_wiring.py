"""What each app's ``AppConfig.ready()`` registers, registry by registry, by key.

The rest of the suite relies on these registrations and never makes them itself, so a
registration that is removed or renamed fails here by name as well as in the tests of what it
does. ``SegmentsConfig`` and ``CampaignsConfig`` register nothing (yet every registry is
compared whole, so a new registration is added here on purpose).
"""

import weakref

from axes.signals import user_locked_out
from django.contrib.auth.models import Group
from django.core.management.sql import emit_post_migrate_signal
from django.db.models.signals import post_migrate

from customers.services.erasure import customers_erase, customers_erasure_collect
from customers.services.export import (
    customers_export,
    customers_export_collect,
    customers_export_sources,
)
from customers.services.merge import merge_hooks
from customers.services.reindex import customers_reindex
from customers.services.requests import CustomerDirectory
from customers.services.retention import (
    ImportFilesPurger,
    InactiveCustomersPurger,
    events_purger,
)
from privacy.consent.services.merge import consent_merge_hook, consent_merge_undo_hook
from privacy.core import refusals, roles
from privacy.core.crypto import reindexers
from privacy.core.subjects import subject_directory
from privacy.erasure.services.erasure import erasers
from privacy.models import RetentionCategory
from privacy.requests.package.registry import exporters
from privacy.requests.services.eraser import requests_erase
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
