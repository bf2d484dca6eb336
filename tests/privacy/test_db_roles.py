"""The app's database role cannot rewrite history: grants and triggers, checked in SQL."""

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from privacy.consent.services.records import consent_record
from privacy.core.services.audit import audit_record
from privacy.erasure.services.erasure import subject_erase
from privacy.models import AuditEntry, ConsentEvent, Suppression
from tests.customers.factories import CustomerFactory

ROLE = "marketbase_app_test"


@pytest.fixture
def app_role(db):
    call_command("db_grants", "--role", ROLE)
    call_command("db_grants", "--role", ROLE)  # a second run changes nothing and does not fail


@pytest.fixture
def jane(team_a):
    customer = CustomerFactory(owner_team=team_a)
    consent_record(
        customer=customer,
        purpose_code="email_marketing",
        channel="email",
        status="granted",
        source="form",
    )
    audit_record(action="test.entry")
    return customer


def as_app(sql: str, params=None) -> None:
    """Run ``sql`` as the app role, in a savepoint that is rolled back whatever happens."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {ROLE}")
        try:
            cursor.execute(sql, params)
        finally:
            transaction.set_rollback(True)


TABLES = {
    "audit": AuditEntry._meta.db_table,
    "consent": ConsentEvent._meta.db_table,
    "suppression": Suppression._meta.db_table,
}


@pytest.mark.parametrize(
    ("statement", "error"),
    [
        ("UPDATE {audit} SET action = 'forged'", "permission denied"),
        ("DELETE FROM {audit}", "permission denied"),
        ("TRUNCATE {audit}", "permission denied"),
        ("ALTER TABLE {audit} DISABLE TRIGGER ALL", "must be owner"),
        ("DROP TRIGGER privacy_auditentry_append_only ON {audit}", "must be owner"),
        ("UPDATE {consent} SET status = 'granted'", "permission denied"),
        ("TRUNCATE {consent}", "permission denied"),
        ("DELETE FROM {consent}", "append-only"),
        ("ALTER TABLE {consent} DISABLE TRIGGER ALL", "must be owner"),
        ("UPDATE {suppression} SET lookup_key = 'x'", "permission denied"),
        ("DELETE FROM {suppression}", "permission denied"),
    ],
    ids=[
        "audit-update",
        "audit-delete",
        "audit-truncate",
        "audit-disable-trigger",
        "audit-drop-trigger",
        "consent-update",
        "consent-truncate",
        "consent-delete-outside-erasure",
        "consent-disable-trigger",
        "suppression-update",
        "suppression-delete",
    ],
)
def test_the_app_role_cannot_change_or_remove_history(app_role, jane, statement, error):
    with pytest.raises(DatabaseError, match=error):
        as_app(statement.format(**TABLES))
    assert AuditEntry.objects.filter(action="test.entry").exists()
    assert ConsentEvent.objects.filter(customer_id=jane.pk).count() == 1


def test_the_app_role_does_its_daily_work_including_erasure(app_role, jane, team_a):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {ROLE}")
        audit_record(action="test.as_app")
        customer = CustomerFactory(owner_team=team_a)
        customer.city = "Hamburg"
        customer.save()
        report = subject_erase(customer_ids=[jane.pk], team=team_a, reason="staff")
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == ROLE
        transaction.set_rollback(True)
    assert report.customer_ids == [jane.pk]
    assert report.counts["privacy.consent_event"] == 1


def test_a_bad_role_name_is_refused(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("db_grants", "--role", "app; DROP TABLE x")


def test_the_audit_log_keeps_a_year_whatever_the_policy_says(app_role, db):
    from privacy.models import RetentionPolicy
    from privacy.retention.services import retention_policies_ensure, retention_policy_update

    retention_policies_ensure()
    policy = RetentionPolicy.objects.get(category="audit_entries")
    with pytest.raises(ValueError):
        retention_policy_update(policy=policy, retain_days=30, is_active=True)
    table = AuditEntry._meta.db_table
    with connection.cursor() as cursor:
        for days in (400, 100):
            cursor.execute(
                f"INSERT INTO {table} (occurred_at, actor_label, action, object_type, "  # noqa: S608
                "object_id, request_id, metadata) "
                "VALUES (now() - make_interval(days => %s), '', %s, '', '', '', '{}')",
                [days, f"test.aged_{days}"],
            )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {ROLE}")
        # The app role shortens the policy in SQL, then asks the purge function for everything.
        cursor.execute(
            "UPDATE privacy_retentionpolicy SET retain_days = 1 WHERE category = 'audit_entries'"
        )
        cursor.execute("SELECT deleted FROM privacy_audit_entries_purge(now(), 0, 1000000)")
        assert cursor.fetchone()[0] == 1
    assert not AuditEntry.objects.filter(action="test.aged_400").exists()
    assert AuditEntry.objects.filter(action="test.aged_100").exists()
