"""Retention: the policies, the dry run and the purge over every category, the audit log's one
door, access packages, the nightly task, the staff UI, the admin and the migration."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from customers.models import Customer, Event, ImportJob, ImportRow, ImportStatus, RowOutcome
from privacy.models import (
    AuditEntry,
    AuditLogIsAppendOnly,
    DataSubjectRequest,
    RequestChannel,
    RequestKind,
    RequestStatus,
    RetentionCategory,
    RetentionPolicy,
)
from privacy.retention import services as retention_services
from privacy.retention.services import (
    AUDIT_ENTRY_LABEL,
    DEFAULT_RETAIN_DAYS,
    PACKAGE_LABEL,
    AccessPackagePurger,
    AuditEntryPurger,
    purgers,
    retention_policies_ensure,
    retention_policy_update,
    retention_preview,
    retention_purge,
)
from privacy.retention.tasks import retention_purge_task
from tests.customers.factories import CustomerFactory, EventFactory
from tests.factories import UserFactory

# The audit policy is shortened so that test entries can be "old" without decades of data.
DAYS = {**DEFAULT_RETAIN_DAYS, RetentionCategory.AUDIT_ENTRIES: 400}
APP_ROLE = "marketbase_app_retention_test"


@pytest.fixture
def policies(db) -> dict[str, RetentionPolicy]:
    retention_policies_ensure()
    for category, days in DAYS.items():
        RetentionPolicy.objects.filter(category=category).update(retain_days=days, is_active=True)
    return {policy.category: policy for policy in RetentionPolicy.objects.all()}


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def days_ago(days: float):
    return timezone.now() - timedelta(days=days)


def audit_entry_at(days: float, action: str = "test.old") -> int:
    """An audit entry written ``days`` ago (the model's auto_now_add cannot back-date one)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO privacy_auditentry (occurred_at, actor_label, action, object_type, "
            "object_id, request_id, metadata) VALUES (%s, '', %s, '', '', '', '{}') RETURNING id",
            [days_ago(days), action],
        )
        return cursor.fetchone()[0]


def access_request(team, *, completed_days: float, expired_days: float) -> DataSubjectRequest:
    """A completed access request whose package was stored and whose link expired."""
    name = default_storage.save("privacy/packages/package.zip", ContentFile(b"PK\x05\x06"))
    return DataSubjectRequest.objects.create(
        owner_team=team,
        kind=RequestKind.ACCESS,
        channel=RequestChannel.EMAIL,
        received_at=days_ago(completed_days + 5),
        due_on=days_ago(completed_days).date(),
        status=RequestStatus.COMPLETED,
        completed_at=days_ago(completed_days),
        package=name,
        package_size=4,
        package_expires_at=days_ago(expired_days),
    )


def old_import(team, *, finished_days: float, rows: int) -> ImportJob:
    name = default_storage.save("imports/old.csv", ContentFile(b"email\nann@example.com\n"))
    job = ImportJob.objects.create(
        owner_team=team,
        file=name,
        status=ImportStatus.SUCCEEDED,
        total_rows=rows,
        created_count=rows,
        finished_at=days_ago(finished_days),
    )
    ImportRow.objects.bulk_create(
        ImportRow(job=job, line_number=line, outcome=RowOutcome.CREATED)
        for line in range(2, rows + 2)
    )
    return job


@pytest.fixture
def world(policies, team_a, media):
    """Something to remove, and something to keep, in every category."""
    customer = CustomerFactory(owner_team=team_a)
    for days in (800, 900, 2000):
        EventFactory(customer=customer, occurred_at=days_ago(days))
    EventFactory(customer=customer, occurred_at=days_ago(5))
    olaf = CustomerFactory(owner_team=team_a)
    EventFactory(customer=olaf, occurred_at=days_ago(1500))
    Customer.objects.filter(pk=olaf.pk).update(updated_at=days_ago(1200))
    old_import(team_a, finished_days=120, rows=2)
    old_import(team_a, finished_days=10, rows=3)
    old = access_request(team_a, completed_days=45, expired_days=38)
    recent = access_request(team_a, completed_days=5, expired_days=-2)
    audit_entry_at(500)
    audit_entry_at(450)
    audit_entry_at(300)
    return {"customer": customer, "olaf": olaf, "old_request": old, "recent_request": recent}


def table_sizes() -> dict[str, int]:
    return {
        "events": Event.objects.count(),
        "customers": Customer.objects.count(),
        "import_rows": ImportRow.objects.count(),
        "packages": DataSubjectRequest.objects.exclude(package="").count(),
        "audit": AuditEntry.objects.count(),
    }


# --- Registry, preview and purge over every category ----------------------------------------------


def test_every_category_has_a_purger():
    assert set(purgers()) == set(RetentionCategory.values)


def test_register_purger_refuses_an_unknown_category():
    from privacy.retention.services import register_purger

    with pytest.raises(ValueError, match="Unknown retention category"):
        register_purger("holiday_photos", AuditEntryPurger())


def test_the_preview_changes_nothing_and_its_counts_are_what_the_purge_removes(
    world, django_capture_on_commit_callbacks
):
    # Given data past its retention in every category, and data within it
    sizes = table_sizes()

    # When previewing (no actor: nothing audited)
    previews = {preview.policy.category: preview.counts for preview in retention_preview()}

    # Then nothing changed, and the counts are per table
    assert table_sizes() == sizes
    assert previews == {
        "audit_entries": {AUDIT_ENTRY_LABEL: 2},
        "events": {"customers.event": 4},
        "export_packages": {PACKAGE_LABEL: 1},
        "import_files": {"customers.import_row": 2, "customers.import_file": 1},
        "inactive_customers": {"customers.customer": 1, "customers.purchase": 0},
    }

    # When purging every active policy
    with django_capture_on_commit_callbacks(execute=True):
        result = retention_purge(batch_size=2)

    # Then each category removed what its preview counted (the inactive customer's old event
    # went with the events policy, which runs before)
    assert set(result) == set(previews)
    for category, counts in previews.items():
        assert {label: result[category][label] for label in counts} == counts, category
    assert result["inactive_customers"]["customers.event"] == 0
    assert {
        policy.category: policy.last_run_counts for policy in RetentionPolicy.objects.all()
    } == result
    purges = AuditEntry.objects.filter(action="retention.purge")
    assert sorted(entry.metadata["category"] for entry in purges) == sorted(previews)

    # And a second run removes nothing
    second = retention_purge(batch_size=2)
    assert {
        label: count for counts in second.values() for label, count in counts.items() if count
    } == {}


def test_only_the_policies_that_are_switched_on_run(world):
    RetentionPolicy.objects.exclude(category="events").update(is_active=False)

    assert [preview.policy.category for preview in retention_preview()] == ["events"]
    assert retention_purge() == {"events": {"customers.event": 4}}
    assert DataSubjectRequest.objects.exclude(package="").count() == 2


def test_a_failing_purger_is_audited_and_raises(policies, monkeypatch):
    class Broken:
        def count(self, *, before):
            return {}

        def purge(self, *, before, batch_size):
            raise RuntimeError("disk on fire")

    monkeypatch.setitem(retention_services._purgers._entries, "events", Broken())
    with pytest.raises(RuntimeError):
        retention_purge(category="events")

    entry = AuditEntry.objects.get(action="retention.purge")
    assert entry.metadata["error"] == "RuntimeError"
    assert RetentionPolicy.objects.get(category="events").last_run_at is None


# --- The audit log: deletable through retention only -------------------------------------------


def raw(sql: str, params=None, *, flag: bool = False, role: str | None = None) -> None:
    """Run ``sql`` in a savepoint that is rolled back whatever happens."""
    with transaction.atomic(), connection.cursor() as cursor:
        try:
            if role:
                cursor.execute(f"SET LOCAL ROLE {role}")
            if flag:
                cursor.execute("SET LOCAL marketbase.retention = 'on'")
            cursor.execute(sql, params)
        finally:
            transaction.set_rollback(True)


@pytest.mark.parametrize(
    ("statement", "flag", "days"),
    [
        ("DELETE FROM privacy_auditentry WHERE id = %s", False, 500),
        ("DELETE FROM privacy_auditentry WHERE id = %s", True, 300),
        ("UPDATE privacy_auditentry SET action = 'forged' WHERE id = %s", True, 500),
        ("UPDATE privacy_auditentry SET action = 'forged' WHERE id = %s", False, 500),
    ],
    ids=["delete-old-without-flag", "delete-recent-with-flag", "update-with-flag", "update"],
)
def test_the_trigger_refuses_anything_but_the_retention_delete_of_old_entries(
    policies, statement, flag, days
):
    entry_id = audit_entry_at(days)
    with pytest.raises(DatabaseError, match="append-only"):
        raw(statement, [entry_id], flag=flag)
    assert AuditEntry.objects.get(pk=entry_id).action == "test.old"


def test_the_trigger_lets_an_old_entry_go_with_the_flag_while_the_policy_is_on(policies):
    entry_id = audit_entry_at(500)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL marketbase.retention = 'on'")
        cursor.execute("DELETE FROM privacy_auditentry WHERE id = %s", [entry_id])
        assert cursor.rowcount == 1
        transaction.set_rollback(True)

    # With the policy switched off, not even the flag lets it go
    RetentionPolicy.objects.filter(category="audit_entries").update(is_active=False)
    with pytest.raises(DatabaseError, match="append-only"):
        raw("DELETE FROM privacy_auditentry WHERE id = %s", [entry_id], flag=True)
    assert AuditEntryPurger().purge(before=timezone.now(), batch_size=10) == {AUDIT_ENTRY_LABEL: 0}
    assert AuditEntry.objects.filter(pk=entry_id).exists()


def test_the_orm_still_refuses_to_delete_audit_entries(policies):
    audit_entry_at(500)
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEntry.objects.all().delete()


@pytest.fixture
def app_role(db):
    call_command("db_grants", "--role", APP_ROLE)


def test_the_app_role_deletes_old_entries_only_through_the_retention_function(policies, app_role):
    # Given old and recent entries
    old = [audit_entry_at(500), audit_entry_at(401)]
    recent = audit_entry_at(399)

    # When the app's database role deletes directly, even with the flag: refused
    with pytest.raises(DatabaseError, match="permission denied"):
        raw("DELETE FROM privacy_auditentry", flag=True, role=APP_ROLE)
    # nor may it call the function with a later cut-off than the policy's
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {APP_ROLE}")
        cursor.execute("SELECT * FROM privacy_audit_entries_purge(now(), 0, 100)")
        deleted, selected, _last = cursor.fetchone()
        assert (deleted, selected) == (2, 2)  # the policy's 400 days still bind it
        transaction.set_rollback(True)

    # When the retention purge runs as the app role
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {APP_ROLE}")
        counts = retention_purge(category="audit_entries", batch_size=1)
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == APP_ROLE
        cursor.execute("RESET ROLE")

    # Then the old entries went, and the recent one stays
    assert counts == {"audit_entries": {AUDIT_ENTRY_LABEL: 2}}
    assert not AuditEntry.objects.filter(pk__in=old).exists()
    assert AuditEntry.objects.filter(pk=recent).exists()
    assert AuditEntry.objects.filter(action="retention.purge").count() == 1


# --- Access packages -----------------------------------------------------------------------------


def test_expired_access_packages_lose_their_file_and_the_request_says_so(
    policies, team_a, media, django_capture_on_commit_callbacks
):
    # Given a package 45 days after completion (link dead 38 days), one whose link died only
    # 20 days ago, and a recent one
    old = access_request(team_a, completed_days=45, expired_days=38)
    late_link = access_request(team_a, completed_days=45, expired_days=20)
    recent = access_request(team_a, completed_days=5, expired_days=-2)
    old_file = old.package.name
    assert AccessPackagePurger().count(before=days_ago(30)) == {PACKAGE_LABEL: 1}

    # When the export-packages policy runs
    with django_capture_on_commit_callbacks(execute=True):
        result = retention_purge(category="export_packages", batch_size=1)

    # Then only the old package went, from storage and from its request, and it is on record
    assert result == {"export_packages": {PACKAGE_LABEL: 1}}
    old.refresh_from_db()
    assert (old.package.name, old.package_size) == ("", None)
    assert not default_storage.exists(old_file)
    for kept in (late_link, recent):
        kept.refresh_from_db()
        assert default_storage.exists(kept.package.name)
    entry = AuditEntry.objects.get(action="request.package_delete")
    assert (entry.object_type, entry.object_id) == ("privacy.datasubjectrequest", str(old.pk))
    assert entry.metadata == {"reason": "retention", "bytes": 4}


def test_a_rolled_back_batch_keeps_the_package_file(policies, team_a, media):
    old = access_request(team_a, completed_days=45, expired_days=38)
    with transaction.atomic():
        AccessPackagePurger().purge(before=days_ago(30), batch_size=10)
        transaction.set_rollback(True)
    old.refresh_from_db()
    assert default_storage.exists(old.package.name)


# --- The task ----------------------------------------------------------------------------------


def test_the_task_runs_the_purge_as_the_user_who_asked_and_is_idempotent(world, steward):
    result = retention_purge_task.apply(kwargs={"category": "events", "actor_id": steward.pk}).get()

    assert result == {"events": {"customers.event": 4}}
    entry = AuditEntry.objects.get(action="retention.purge")
    assert entry.actor == steward
    again = retention_purge_task.apply(kwargs={"category": "events", "actor_id": None}).get()
    assert again == {"events": {"customers.event": 0}}


# --- The staff UI ------------------------------------------------------------------------------


def test_the_steward_sees_the_policies_with_their_last_run(policies, steward, verified_client):
    retention_purge(category="events")
    client = verified_client(steward)

    response = client.get(reverse("retention-list"))

    assert response.status_code == 200
    page = response.content.decode()
    for policy in policies.values():
        assert str(policy.get_category_display()) in page
        assert reverse("retention-edit", args=[policy.pk]) in page
    assert "Behaviour events" in page and "customers.event" not in page  # a table by its name
    assert reverse("retention-run") in page
    assert reverse("retention-list") in client.get(reverse("privacy-home")).content.decode()


def test_the_steward_changes_a_period_and_it_is_audited(policies, steward, verified_client):
    client = verified_client(steward)
    url = reverse("retention-edit", args=[policies["events"].pk])

    assert client.get(url).status_code == 200
    response = client.post(url, {"retain_days": "365", "is_active": "on"})

    assert response.status_code == 302
    policy = RetentionPolicy.objects.get(category="events")
    assert (policy.retain_days, policy.is_active) == (365, True)
    entry = AuditEntry.objects.get(action="retention.policy_change")
    assert (entry.actor, entry.object_id) == (steward, str(policy.pk))
    assert entry.metadata == {
        "category": "events",
        "before": {"retain_days": 730, "is_active": True},
        "after": {"retain_days": 365, "is_active": True},
    }


@pytest.mark.parametrize(
    "days", ["0", "-5", "", "40000"], ids=["zero", "negative", "empty", "huge"]
)
def test_an_invalid_period_is_refused_and_nothing_changes(policies, steward, verified_client, days):
    client = verified_client(steward)
    url = reverse("retention-edit", args=[policies["events"].pk])

    response = client.post(url, {"retain_days": days})

    assert response.status_code == 200
    assert RetentionPolicy.objects.get(category="events").retain_days == 730
    assert not AuditEntry.objects.filter(action="retention.policy_change").exists()


def test_saving_an_unchanged_policy_writes_no_audit_entry(policies, steward):
    retention_policy_update(
        policy=policies["events"], retain_days=730, is_active=True, actor=steward
    )
    assert not AuditEntry.objects.filter(action="retention.policy_change").exists()


def test_the_preview_page_shows_the_counts_and_is_audited_but_removes_nothing(
    world, steward, verified_client
):
    client = verified_client(steward)
    sizes = table_sizes()

    response = client.get(reverse("retention-preview"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Import rows" in page and "customers.import_row" not in page
    assert table_sizes()["events"] == sizes["events"]
    previews = AuditEntry.objects.filter(action="retention.preview")
    assert sorted(entry.metadata["category"] for entry in previews) == sorted(
        RetentionCategory.values
    )
    assert {entry.actor for entry in previews} == {steward}
    events = next(entry for entry in previews if entry.metadata["category"] == "events")
    assert events.metadata["counts"] == {"customers.event": 4}


@pytest.mark.parametrize(
    ("posted", "category"), [({}, None), ({"category": "events"}, "events")], ids=["all", "one"]
)
def test_run_now_queues_the_purge_after_commit(
    policies, steward, verified_client, django_capture_on_commit_callbacks, posted, category
):
    client = verified_client(steward)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("retention-run"), posted)

    assert response.status_code == 302
    assert response["Location"] == reverse("retention-list")
    assert len(callbacks) == 1
    entry = AuditEntry.objects.get(action="retention.run_request")
    assert (entry.actor, entry.metadata) == (steward, {"category": category or "all"})


def test_run_now_with_an_unknown_category_queues_nothing(
    policies, steward, verified_client, django_capture_on_commit_callbacks
):
    client = verified_client(steward)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("retention-run"), {"category": "holiday_photos"})
    assert response.status_code == 302
    assert callbacks == []
    assert not AuditEntry.objects.filter(action="retention.run_request").exists()


def test_a_viewer_without_the_change_permission_sees_but_cannot_change_or_run(
    policies, team_a, verified_client, django_capture_on_commit_callbacks
):
    viewer = UserFactory()
    viewer.user_permissions.add(
        Permission.objects.get(content_type__app_label="privacy", codename="view_retentionpolicy")
    )
    client = verified_client(viewer)

    page = client.get(reverse("retention-list"))
    assert page.status_code == 200
    assert reverse("retention-run") not in page.content.decode()
    assert client.get(reverse("retention-preview")).status_code == 200
    edit = reverse("retention-edit", args=[policies["events"].pk])
    assert client.post(edit, {"retain_days": "1", "is_active": "on"}).status_code == 404
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert client.post(reverse("retention-run")).status_code == 404
    assert callbacks == []
    assert RetentionPolicy.objects.get(category="events").retain_days == 730
    assert not AuditEntry.objects.filter(action__startswith="retention.run").exists()


def test_an_unknown_policy_is_not_found(policies, steward, verified_client):
    client = verified_client(steward)
    assert client.get(reverse("retention-edit", args=[999_999])).status_code == 404


# --- The admin ---------------------------------------------------------------------------------


def test_the_admin_changes_a_policy_through_the_service(policies, steward, verified_client):
    client = verified_client(steward)
    policy = policies["import_files"]
    url = reverse("admin:privacy_retentionpolicy_change", args=[policy.pk])

    response = client.post(url, {"retain_days": "60"})

    assert response.status_code == 302
    policy.refresh_from_db()
    assert (policy.retain_days, policy.is_active) == (60, False)
    entry = AuditEntry.objects.get(action="retention.policy_change")
    assert entry.metadata["after"] == {"retain_days": 60, "is_active": False}
    assert client.get(reverse("admin:privacy_retentionpolicy_add")).status_code == 403
    delete = reverse("admin:privacy_retentionpolicy_delete", args=[policy.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403


# --- The migration -----------------------------------------------------------------------------


def _guard_function() -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.proname FROM pg_trigger AS t JOIN pg_proc AS p ON p.oid = t.tgfoid "
            "WHERE t.tgname = 'privacy_auditentry_append_only'"
        )
        return cursor.fetchone()[0]


def test_the_migration_reverses_and_applies_again(policies):
    # Given the migrated database: the retention guard and the default policies
    assert _guard_function() == "privacy_audit_entry_guard"
    executor = MigrationExecutor(connection)

    # When migration 0005 is reversed
    executor.migrate([("privacy", "0004_requests_retention_webhooks")])

    # Then the audit log refuses every DELETE again, and the policies and the job are gone
    assert _guard_function() == "privacy_refuse_change"
    assert not RetentionPolicy.objects.exists()
    assert not PeriodicTask.objects.filter(task="privacy.retention_purge_task").exists()
    entry_id = audit_entry_at(500)
    with pytest.raises(DatabaseError, match="append-only"):
        raw("DELETE FROM privacy_auditentry WHERE id = %s", [entry_id], flag=True)

    # When applied again
    executor.loader.build_graph()
    executor.migrate([("privacy", "0005_retention_defaults")])

    # Then the defaults are back
    assert _guard_function() == "privacy_audit_entry_guard"
    assert dict(RetentionPolicy.objects.values_list("category", "retain_days")) == (
        DEFAULT_RETAIN_DAYS
    )
    assert PeriodicTask.objects.filter(task="privacy.retention_purge_task").count() == 1


def test_changing_a_policy_or_running_the_purge_needs_a_recent_re_authentication(
    steward, verified_client
):
    from privacy.core.reauth import SESSION_KEY

    retention_policies_ensure()
    policy = RetentionPolicy.objects.get(category="events")
    client = verified_client(steward)
    session = client.session
    session[SESSION_KEY] = 0
    session.save()

    edit = client.post(f"/privacy/retention/{policy.pk}/edit/", {"retain_days": 1})
    run = client.post("/privacy/retention/run/", {"category": "events"})

    assert edit.status_code == 302 and edit["Location"].startswith("/accounts/reauth/")
    assert run["Location"] == "/accounts/reauth/?next=%2Fprivacy%2Fretention%2Fpreview%2F"
    policy.refresh_from_db()
    assert policy.retain_days == 730
    assert not AuditEntry.objects.filter(action="retention.run_request").exists()
