"""The audit log is scoped by team: a data steward reads her teams' entries, an administrator
every entry (API, audit page, CSV export, admin, dashboard); each entry gets its team."""

import csv
import io
from importlib import import_module

import pytest
from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from django.db import connection, transaction
from django.db.utils import DatabaseError
from rest_framework.test import APIClient

from privacy.core import roles
from privacy.core.services.audit import audit_record
from privacy.core.services.staff import team_create
from privacy.models import AuditEntry
from tests.customers.factories import CustomerFactory
from tests.factories import api_token_for

# The entries each test makes are marked by their actions, so sign-ins do not get in the way.
OWN, OTHER, SYSTEM = "case.own_team", "case.other_team", "case.no_team"


@pytest.fixture
def marketer_b(make_user, team_b):
    return make_user(roles.MARKETER, team_b)


@pytest.fixture
def log(marketer_a, marketer_b, team_a, team_b):
    """An entry of team A, one of team B (its marketer on its customer), one of no team."""
    return {
        OWN: audit_record(action=OWN, actor=marketer_a, target=CustomerFactory(owner_team=team_a)),
        OTHER: audit_record(
            action=OTHER, actor=marketer_b, target=CustomerFactory(owner_team=team_b)
        ),
        SYSTEM: audit_record(action=SYSTEM, metadata={"count": 3}),
    }


@pytest.fixture
def administrator(make_user, team_a):
    """The Administrator role, in team A only, and not a superuser."""
    return make_user(roles.ADMINISTRATOR, team_a)


def api_actions(user) -> list[str]:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
    response = client.get("/api/v1/audit-log/", {"action": "case."})
    assert response.status_code == 200
    return sorted(row["action"] for row in response.json()["results"])


def test_a_steward_reads_only_her_teams_entries_through_the_api(steward, log):
    # When team A's data steward lists the log through the API
    actions = api_actions(steward)

    # Then she reads team A's entry only: not team B's, nor the one of no team
    assert actions == [OWN]


def test_a_steward_cannot_open_another_teams_entry_through_the_api(steward, log):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(steward)}")
    own = client.get(f"/api/v1/audit-log/{log[OWN].pk}/")
    other = client.get(f"/api/v1/audit-log/{log[OTHER].pk}/")
    assert (own.status_code, own.json()["team"], other.status_code) == (
        200,
        log[OWN].team_id,
        404,
    )


def test_an_administrator_reads_every_entry_including_those_of_no_team(administrator, log):
    assert api_actions(administrator) == sorted([OWN, OTHER, SYSTEM])


def test_a_steward_reads_only_her_teams_entries_on_the_audit_page(
    verified_client, steward, marketer_b, log
):
    response = verified_client(steward).get("/privacy/audit/", {"action": "case."})
    assert [entry.action for entry in response.context["page"]] == [OWN]
    assert marketer_b.username not in response.content.decode()


def test_a_steward_exports_only_her_teams_entries(verified_client, steward, marketer_b, log):
    # When team A's steward exports the whole log
    response = verified_client(steward).get("/privacy/audit/export/")

    # Then the file holds no entry of team B, nor of no team
    text = b"".join(response.streaming_content).decode("utf-8").removeprefix("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    actions = {row[2] for row in rows[1:]}
    assert OWN in actions
    assert actions.isdisjoint({OTHER, SYSTEM})
    assert marketer_b.username not in text
    # ...and the export's entry counts what she got
    export = AuditEntry.objects.get(action="audit.export")
    assert export.metadata["row_count"] == len(rows) - 1


def test_a_steward_reads_only_her_teams_entries_in_the_admin(
    verified_client, steward, marketer_b, log
):
    client = verified_client(steward)

    # When she lists the log in the admin, and opens team B's entry by its number
    listed = client.get("/admin/privacy/auditentry/", {"action__startswith": "case."})
    opened = client.get(f"/admin/privacy/auditentry/{log[OTHER].pk}/change/")

    # Then team B's entry is neither listed nor shown, and the attempt is a refusal
    assert [entry.action for entry in listed.context["cl"].result_list] == [OWN]
    assert marketer_b.username not in listed.content.decode()
    assert (opened.status_code, opened["Location"]) == (302, "/admin/")
    refusal = AuditEntry.objects.get(action="access.denied", actor=steward)
    assert (refusal.object_type, refusal.object_id) == ("privacy.auditentry", str(log[OTHER].pk))


def test_an_administrator_reads_every_entry_in_the_admin(verified_client, administrator, log):
    listed = verified_client(administrator).get(
        "/admin/privacy/auditentry/", {"action__startswith": "case."}
    )
    assert sorted(entry.action for entry in listed.context["cl"].result_list) == sorted(log)


def test_the_dashboard_counts_a_stewards_teams_entries_only(verified_client, steward, log):
    client = verified_client(steward)
    tiles = {tile["key"]: tile["value"] for tile in client.get("/").context["tiles"]}
    readable = AuditEntry.objects.filter(team__in=steward.groups.values("team"))
    assert tiles["audit_24h"] == readable.count() < AuditEntry.objects.count()


# --- Which team an entry belongs to ---------------------------------------------------------------


def test_an_entry_belongs_to_the_team_of_its_object(marketer_a, team_a, team_b, make_user):
    # Given a marketer of both teams
    both = make_user(roles.MARKETER, team_a, team_b)
    customer_of_b = CustomerFactory(owner_team=team_b)

    # Then the object's team wins over the actor's, and a team is its own object's team
    assert audit_record(action="case", actor=marketer_a, target=customer_of_b).team == team_b
    assert audit_record(action="case", actor=both, target=customer_of_b).team == team_b
    identity = customer_of_b.identities.first()  # owned through a declared path
    assert audit_record(action="case", actor=both, target=identity).team == team_b
    assert audit_record(action="case", actor=both, target=team_a).team == team_a
    assert team_create(name="Team C", actor=marketer_a) is not None
    assert AuditEntry.objects.get(action="team.create").team.name == "Team C"


def test_an_entry_without_an_object_of_a_team_belongs_to_its_accounts_only_team(
    marketer_a, team_a, team_b, make_user
):
    both = make_user(roles.MARKETER, team_a, team_b)
    nobodys = make_user(roles.MARKETER)
    assert audit_record(action="case", actor=marketer_a).team == team_a
    assert audit_record(action="case", target=marketer_a).team == team_a  # e.g. a lockout
    assert audit_record(action="case", actor=both).team is None
    assert audit_record(action="case", actor=nobodys).team is None
    assert audit_record(action="case", actor=AnonymousUser()).team is None
    assert audit_record(action="case").team is None


def test_a_team_given_with_an_object_named_by_its_id_wins(marketer_a, team_b):
    entry = audit_record(
        action="case", actor=marketer_a, object_type="customers.customer", team_id=team_b.pk
    )
    assert entry.team == team_b


# --- The migration's back-fill ------------------------------------------------------------------


def _run_backfill(module: str) -> None:
    with connection.schema_editor(atomic=False) as schema_editor:
        import_module(module).backfill(apps, schema_editor)


def test_the_back_fill_gives_old_entries_their_teams_and_the_log_stays_append_only(
    marketer_a, team_a, team_b, make_user
):
    # Given entries written before entries had a team
    both = make_user(roles.MARKETER, team_a, team_b)
    customer_of_b = CustomerFactory(owner_team=team_b)
    old = {
        "customer": AuditEntry.objects.create(
            action="old",
            actor=marketer_a,
            object_type="customers.customer",
            object_id=str(customer_of_b.pk),
        ),
        "team": AuditEntry.objects.create(
            action="old", object_type="privacy.team", object_id=str(team_b.pk)
        ),
        "sign-in": AuditEntry.objects.create(action="old", actor=marketer_a),
        "lockout": AuditEntry.objects.create(
            action="old", object_type="auth.user", object_id=str(marketer_a.pk)
        ),
        "several teams": AuditEntry.objects.create(action="old", actor=both),
        "erased customer": AuditEntry.objects.create(
            action="old", actor=both, object_type="customers.customer", object_id="999999"
        ),
        "system": AuditEntry.objects.create(action="old", metadata={"count": 1}),
    }
    assert {entry.team_id for entry in old.values()} == {None}

    # When the privacy core's back-fill runs, then the customers app's
    _run_backfill("privacy.migrations.0009_auditentry_team")
    _run_backfill("customers.migrations.0006_audit_entries_of_customer_records")

    # Then each has the team of its object, else of its account's only team, else none
    teams = dict(AuditEntry.objects.filter(action="old").values_list("pk", "team_id"))
    assert {name: teams[entry.pk] for name, entry in old.items()} == {
        "customer": team_b.pk,
        "team": team_b.pk,
        "sign-in": team_a.pk,
        "lockout": team_a.pk,
        "several teams": None,
        "erased customer": None,
        "system": None,
    }
    # ...and the log refuses an UPDATE again
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "UPDATE privacy_auditentry SET team_id = NULL WHERE id = %s", [old["team"].pk]
        )
