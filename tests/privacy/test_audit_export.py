"""The audit log's CSV export (privacy.core.views.audit_export)."""

import csv
import io
import time
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from privacy.core import roles
from privacy.core.reauth import SESSION_KEY
from privacy.core.services.audit import audit_record
from privacy.models import AuditEntry

EXPORT = "/privacy/audit/export/"
HEADER = [
    "time",
    "actor",
    "action",
    "object_type",
    "object_id",
    "ip_address",
    "request_id",
    "details",
]


def rows_of(response) -> list[list[str]]:
    assert response.status_code == 200, response.content
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


@pytest.fixture
def entries(marketer_a, team_a):
    """Three entries: two customer actions, one sign-in."""
    first = audit_record(action="customer.update", actor=marketer_a, object_id=11)
    second = audit_record(action="customer.merge", actor=marketer_a, object_id=12)
    sign_in = audit_record(action="auth.password_ok", actor=marketer_a)
    return [first, second, sign_in]


@pytest.fixture
def auditor(make_user, team_a):
    """May read the audit log, may not export personal data."""
    group, _created = Group.objects.get_or_create(name="Auditors")
    group.permissions.set(Permission.objects.filter(codename="view_auditentry"))
    user = make_user(None, team_a)
    user.groups.add(group)
    return user


def test_a_steward_downloads_the_filtered_log_and_the_export_is_audited(
    verified_client, steward, marketer_a, entries
):
    # Given a steward and three entries, two of them customer actions
    client = verified_client(steward)

    # When she exports the entries whose action starts with "customer."
    response = client.get(EXPORT, {"action": "customer."})

    # Then the file holds those two, newest first, and is not cached
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-log-')
    assert response["Cache-Control"] == "no-store"
    rows = rows_of(response)
    assert rows[0] == HEADER
    assert [(row[1], row[2], row[4]) for row in rows[1:]] == [
        (marketer_a.username, "customer.merge", "12"),
        (marketer_a.username, "customer.update", "11"),
    ]
    assert rows[1][0] == entries[1].occurred_at.isoformat()
    assert rows[1][7] == "{}"
    # ...and the export itself is audited with its filter and row count
    export = AuditEntry.objects.get(action="audit.export")
    assert (export.actor, export.object_type) == (steward, "privacy.auditentry")
    assert export.metadata == {"row_count": 2, "filters": {"action": "customer."}}


def test_the_whole_log_is_exported_without_the_exports_own_entry(verified_client, steward, entries):
    client = verified_client(steward)
    before = AuditEntry.objects.count()
    rows = rows_of(client.get(EXPORT))
    assert len(rows) == 1 + before
    assert "audit.export" not in [row[2] for row in rows]
    assert AuditEntry.objects.get(action="audit.export").metadata == {
        "row_count": before,
        "filters": {},
    }


def test_cells_that_a_spreadsheet_would_run_are_neutralised(verified_client, steward, team_a):
    audit_record(
        action="=cmd|' /C calc'!A0",
        object_type="+SUM(1,2)",
        object_id="@A1",
        team_id=team_a.pk,
        metadata={"note": "-2"},
    )
    rows = rows_of(verified_client(steward).get(EXPORT, {"action": "="}))
    assert rows[1][2:5] == ["'=cmd|' /C calc'!A0", "'+SUM(1,2)", "'@A1"]


def test_an_actor_filter_is_audited_as_the_accounts_id(
    verified_client, steward, marketer_a, entries
):
    client = verified_client(steward)
    rows = rows_of(client.get(EXPORT, {"actor": marketer_a.username.upper()}))
    assert len(rows) == 1 + 3
    export = AuditEntry.objects.get(action="audit.export")
    assert export.metadata == {"row_count": 3, "filters": {"actor_id": marketer_a.pk}}
    assert marketer_a.username not in str(export.metadata)


def test_a_date_range_is_audited_as_iso_dates(verified_client, steward, entries):
    client = verified_client(steward)
    rows_of(client.get(EXPORT, {"occurred_after": "2020-01-01T00:00:00Z"}))
    export = AuditEntry.objects.get(action="audit.export")
    assert export.metadata["filters"] == {"occurred_after": "2020-01-01T00:00:00+00:00"}


def test_invalid_filters_lead_back_to_the_list_without_exporting(verified_client, steward):
    client = verified_client(steward)
    response = client.get(EXPORT, {"occurred_after": "not a date"})
    assert response.status_code == 302
    assert response["Location"] == "/privacy/audit/?occurred_after=not+a+date"
    assert not AuditEntry.objects.filter(action="audit.export").exists()


@pytest.mark.parametrize("role", ["marketer", "analyst", "auditor"])
def test_users_who_may_not_export_get_404_and_nothing(
    verified_client, make_user, team_a, auditor, entries, role
):
    # Given users without the audit view permission, or without privacy.export_personal_data
    user = {
        "marketer": lambda: make_user(roles.MARKETER, team_a),
        "analyst": lambda: make_user(roles.ANALYST, team_a),
        "auditor": lambda: auditor,
    }[role]()
    client = verified_client(user)

    # When they ask for the export
    response = client.get(EXPORT)

    # Then 404, nothing exported, the refusal audited
    assert response.status_code == 404
    assert not AuditEntry.objects.filter(action="audit.export").exists()
    denied = AuditEntry.objects.get(action="access.denied")
    assert (denied.actor, denied.metadata["route"]) == (user, "audit-export")


def test_a_stale_session_is_asked_to_reauthenticate_and_nothing_is_exported(
    verified_client, steward, entries
):
    client = verified_client(steward)
    session = client.session
    session[SESSION_KEY] = time.time() - 3600
    session.save()
    response = client.get(EXPORT, {"action": "customer."})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/reauth/?" + urlencode(
        {"next": f"{EXPORT}?action=customer."}
    )
    assert not AuditEntry.objects.filter(action="audit.export").exists()


def test_the_audit_page_offers_the_export_of_the_current_filter(verified_client, steward):
    page = verified_client(steward).get("/privacy/audit/", {"action": "auth.", "page": "1"})
    assert 'href="/privacy/audit/export/?action=auth."' in page.content.decode()


def test_the_audit_page_hides_the_export_from_who_may_not_use_it(verified_client, auditor):
    page = verified_client(auditor).get("/privacy/audit/")
    assert page.status_code == 200
    assert EXPORT not in page.content.decode()


def test_the_export_runs_the_same_queries_for_5_and_for_50_entries(
    verified_client, steward, team_a
):
    client = verified_client(steward)
    counted = {}
    for size in (5, 50):
        for number in range(size - AuditEntry.objects.filter(action="bench.row").count()):
            audit_record(action="bench.row", object_id=number, team_id=team_a.pk)
        with CaptureQueriesContext(connection) as queries:
            rows = rows_of(client.get(EXPORT, {"action": "bench."}))
        assert len(rows) == 1 + size
        counted[size] = len(queries)
    assert counted[5] == counted[50]
