import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from privacy.core.services.audit import audit_record
from privacy.models import AuditEntry, AuditLogIsAppendOnly


@pytest.fixture
def entry(marketer_a, team_a):
    return audit_record(action="team.view", actor=marketer_a, target=team_a, metadata={"n": 1})


def test_audit_record_names_actor_object_and_request(entry, marketer_a, team_a):
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert (stored.actor, stored.actor_label, stored.action) == (
        marketer_a,
        marketer_a.username,
        "team.view",
    )
    assert (stored.object_type, stored.object_id, stored.metadata) == (
        "privacy.team",
        str(team_a.pk),
        {"n": 1},
    )


def test_audit_metadata_refuses_personal_values(marketer_a):
    with pytest.raises(ValueError, match="email"):
        audit_record(action="customer.view", actor=marketer_a, metadata={"email": "a@b.example"})
    assert not AuditEntry.objects.filter(action="customer.view").exists()


def test_orm_updates_and_deletes_are_refused(entry):
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).update(action="forged")
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    entry.action = "forged"
    with pytest.raises(AuditLogIsAppendOnly):
        entry.save()
    with pytest.raises(AuditLogIsAppendOnly):
        entry.delete()
    assert AuditEntry.objects.get(pk=entry.pk).action == "team.view"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE privacy_auditentry SET action = 'forged' WHERE id = %s",
        "DELETE FROM privacy_auditentry WHERE id = %s",
    ],
    ids=["update", "delete"],
)
def test_raw_sql_updates_and_deletes_are_refused_by_the_database(entry, statement):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).action == "team.view"


def test_request_id_and_address_come_from_the_request(verified_client, steward):
    client = verified_client(steward)
    response = client.get("/", HTTP_X_REQUEST_ID="req-123", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 200
    assert response["X-Request-ID"] == "req-123"
    client.post("/accounts/logout/", HTTP_X_REQUEST_ID="req-456", REMOTE_ADDR="203.0.113.9")
    logout = AuditEntry.objects.get(action="auth.logout")
    assert (logout.request_id, logout.ip_address, logout.actor) == (
        "req-456",
        "203.0.113.9",
        steward,
    )
