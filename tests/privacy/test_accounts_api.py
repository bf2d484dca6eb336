"""The accounts API: ``/api/v1/users/`` and ``/api/v1/api-tokens/``.

A team administrator (not a superuser) manages the members of their team through it, and cannot
make anyone a superuser, join or fill another team, give the Administrator role or read a key:
each attempt is a 400 naming the field (or a 404 for an account out of reach), audited, and
changes nothing. Every answer matches the OpenAPI schema exactly.
"""

import copy

import pytest
from django.contrib.auth import get_user_model
from openapi_schema_validator import OAS30ReadValidator, validate
from rest_framework.test import APIClient

from privacy.core import roles
from privacy.models import ApiToken, AuditEntry
from tests.factories import api_token_for

USERS = "/api/v1/users/"
TOKENS = "/api/v1/api-tokens/"


def api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
    return client


def errors(response) -> list[tuple[str, str]]:
    return [(error["field"], error["code"]) for error in response.json()["errors"]]


def refusals() -> list[tuple[str, str, str]]:
    return [
        (entry.action, entry.object_id, entry.metadata["field"])
        for entry in AuditEntry.objects.filter(action__endswith="_refused").order_by("pk")
    ]


def groups_of(user) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


# --- The schema, exactly --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def openapi():
    from django.test import Client

    schema = Client().get("/api/schema/?format=json").json()
    strict = copy.deepcopy(schema)
    for component in strict["components"]["schemas"].values():
        if component.get("type") == "object":
            component["additionalProperties"] = False
    return strict


def conforms(openapi, template: str, method: str, response) -> None:
    """The answer is exactly what the schema documents for this operation and status."""
    documented = openapi["paths"][template][method]["responses"][str(response.status_code)]
    body = documented["content"]["application/json"]["schema"]
    validate(response.json(), {**body, "components": openapi["components"]}, cls=OAS30ReadValidator)


# --- Accounts ------------------------------------------------------------------------------------


def test_a_team_administrator_lists_the_members_of_their_team(
    team_admin, member, outsider, superuser, openapi
):
    response = api(team_admin).get(USERS)

    assert response.status_code == 200
    conforms(openapi, USERS, "get", response)
    listed = {row["username"]: row for row in response.json()["results"]}
    assert set(listed) == {team_admin.username, member.username, superuser.username}
    assert listed[member.username]["teams"] == [
        {"id": member.groups.get(team__isnull=False).team.pk, "name": "Team A"}
    ]
    assert listed[member.username]["roles"] == [roles.MARKETER]


def test_a_team_administrator_cannot_make_a_member_superuser(team_admin, member, openapi):
    # When the administrator sets is_superuser on a member, and on themselves
    client = api(team_admin)
    refused = client.patch(f"{USERS}{member.pk}/", {"is_superuser": True}, format="json")
    own = client.patch(f"{USERS}{team_admin.pk}/", {"is_superuser": True}, format="json")

    # Then the member's is a 400 naming the field, their own a 404 (an administrator is managed
    # by superusers only); both audited, nothing changed
    assert (refused.status_code, errors(refused)) == (400, [("is_superuser", "refused")])
    conforms(openapi, f"{USERS}{{id}}/", "patch", refused)
    assert own.status_code == 404
    assert refusals() == [("user.update_refused", str(member.pk), "is_superuser")]
    denied = AuditEntry.objects.get(action="access.denied")
    assert (denied.object_type, denied.object_id) == ("auth.user", str(team_admin.pk))
    member.refresh_from_db()
    team_admin.refresh_from_db()
    assert (member.is_superuser, team_admin.is_superuser) == (False, False)


def test_a_team_administrator_cannot_join_or_fill_another_team(team_admin, member, team_b, openapi):
    client = api(team_admin)

    # When the administrator adds themselves, then a member, to team B
    own = client.post(f"{USERS}{team_admin.pk}/teams/", {"team": team_b.pk}, format="json")
    other = client.post(f"{USERS}{member.pk}/teams/", {"team": team_b.pk}, format="json")
    missing = client.post(f"{USERS}{member.pk}/teams/", {"team": 987654}, format="json")

    # Then refused and audited; a team that does not exist gets the same words, unaudited
    assert own.status_code == 404
    assert (other.status_code, errors(other)) == (400, [("team", "refused")])
    assert other.json()["errors"][0]["message"] == missing.json()["errors"][0]["message"]
    conforms(openapi, f"{USERS}{{id}}/teams/", "post", other)
    assert refusals() == [("team.member_add_refused", str(member.pk), "team")]
    assert AuditEntry.objects.filter(action="access.denied").count() == 1
    assert groups_of(team_admin) == {roles.ADMINISTRATOR, "Team A"}
    assert groups_of(member) == {roles.MARKETER, "Team A"}


def test_a_team_administrator_cannot_create_an_account_in_another_team_or_a_superuser(
    team_admin, team_a, team_b
):
    client = api(team_admin)

    other_team = client.post(USERS, {"username": "spy", "teams": [team_b.pk]}, format="json")
    superuser = client.post(
        USERS, {"username": "spy", "teams": [team_a.pk], "is_superuser": True}, format="json"
    )
    administrator = client.post(
        USERS,
        {"username": "spy", "teams": [team_a.pk], "roles": [roles.ADMINISTRATOR]},
        format="json",
    )

    assert [errors(r) for r in (other_team, superuser, administrator)] == [
        [("team", "refused")],
        [("is_superuser", "refused")],
        [("roles", "refused")],
    ]
    assert [action for action, _id, _field in refusals()] == ["user.create_refused"] * 3
    assert not get_user_model().objects.filter(username="spy").exists()


def test_a_team_administrator_cannot_grant_the_administrator_role(team_admin, member, openapi):
    response = api(team_admin).put(
        f"{USERS}{member.pk}/roles/", {"roles": [roles.ADMINISTRATOR]}, format="json"
    )

    assert (response.status_code, errors(response)) == (400, [("roles", "refused")])
    conforms(openapi, f"{USERS}{{id}}/roles/", "put", response)
    assert refusals() == [("user.roles_set_refused", str(member.pk), "roles")]
    assert groups_of(member) == {roles.MARKETER, "Team A"}


def test_another_teams_account_is_a_404_audited(team_admin, outsider, team_a, openapi):
    client = api(team_admin)

    read = client.get(f"{USERS}{outsider.pk}/")
    joined = client.post(f"{USERS}{outsider.pk}/teams/", {"team": team_a.pk}, format="json")
    missing = client.get(f"{USERS}987654/")

    assert (read.status_code, joined.status_code, missing.status_code) == (404, 404, 404)
    conforms(openapi, f"{USERS}{{id}}/", "get", read)
    assert read.json() == missing.json()
    assert AuditEntry.objects.filter(action="access.denied").count() == 2
    assert groups_of(outsider) == {roles.MARKETER, "Team B"}


def test_a_team_administrator_manages_a_member(team_admin, member, team_a, openapi):
    client = api(team_admin)

    # When the administrator creates an account, renames it, gives it a role, and removes a
    # member from the team
    created = client.post(
        USERS,
        {
            "username": "crm-sync",
            "email": "crm@example.com",
            "teams": [team_a.pk],
            "roles": [roles.ANALYST],
        },
        format="json",
    )
    account = get_user_model().objects.get(username="crm-sync")
    renamed = client.patch(f"{USERS}{account.pk}/", {"first_name": "CRM"}, format="json")
    steward = client.put(
        f"{USERS}{account.pk}/roles/", {"roles": [roles.DATA_STEWARD]}, format="json"
    )
    removed = client.delete(f"{USERS}{member.pk}/teams/{team_a.pk}/")

    # Then each answers the account as it now is, and each change is audited
    assert [r.status_code for r in (created, renamed, steward, removed)] == [201, 200, 200, 200]
    conforms(openapi, USERS, "post", created)
    conforms(openapi, f"{USERS}{{id}}/teams/{{team_id}}/", "delete", removed)
    assert renamed.json()["first_name"] == "CRM"
    assert steward.json()["roles"] == [roles.DATA_STEWARD]
    assert removed.json()["teams"] == []
    assert account.has_usable_password() is False
    assert list(
        AuditEntry.objects.filter(actor=team_admin).order_by("pk").values_list("action", flat=True)
    ) == [
        "user.create",
        "user.update",
        "user.roles_set",
        "team.member_remove",
    ]


def test_a_superuser_does_all_of_it_audited(superuser, member, team_b):
    client = api(superuser)

    flag = client.patch(f"{USERS}{member.pk}/", {"is_superuser": True}, format="json")
    joined = client.post(f"{USERS}{member.pk}/teams/", {"team": team_b.pk}, format="json")
    role = client.put(f"{USERS}{member.pk}/roles/", {"roles": [roles.ADMINISTRATOR]}, format="json")

    assert [r.status_code for r in (flag, joined, role)] == [200, 200, 200]
    member.refresh_from_db()
    assert member.is_superuser is True
    assert groups_of(member) == {roles.ADMINISTRATOR, "Team A", "Team B"}
    assert list(
        AuditEntry.objects.filter(actor=superuser, object_id=str(member.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    ) == ["user.update", "team.member_add", "user.roles_set"]


def test_other_roles_are_refused_the_accounts_api(marketer_a, steward, member):
    for user in (marketer_a, steward):
        client = api(user)
        assert client.get(USERS).status_code == 403
        assert client.get(TOKENS).status_code == 403
        assert (
            client.patch(f"{USERS}{member.pk}/", {"is_staff": False}, format="json").status_code
            == 403
        )


# --- API tokens -----------------------------------------------------------------------------------


def test_a_token_made_through_the_api_shows_its_key_once(team_admin, member, superuser, openapi):
    client = api(team_admin)
    root_key = api_token_for(superuser)

    # When the administrator makes a token for a member, then lists and reads the tokens
    created = client.post(TOKENS, {"user": member.pk, "name": "Shop sync"}, format="json")
    listed = client.get(TOKENS)
    token = ApiToken.objects.get(user=member)
    read = client.get(f"{TOKENS}{token.pk}/")

    # Then only the creation answers the key; the list holds the administrator's own token and
    # the member's, never the superuser's, and no key
    assert created.status_code == 201
    assert "no-store" in created["Cache-Control"]
    conforms(openapi, TOKENS, "post", created)
    conforms(openapi, TOKENS, "get", listed)
    conforms(openapi, f"{TOKENS}{{id}}/", "get", read)
    key = created.json()["key"]
    assert created.json()["prefix"] == key[:8]
    assert {row["username"] for row in listed.json()["results"]} == {
        team_admin.username,
        member.username,
    }
    assert all("key" not in row for row in listed.json()["results"])
    assert "key" not in read.json()
    assert key not in listed.content.decode() + read.content.decode()
    assert root_key[:8] not in listed.content.decode()
    # ...and the key works
    assert APIClient(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/customers/").status_code == 200


def test_a_team_administrator_cannot_make_or_revoke_a_superusers_token(
    team_admin, superuser, outsider
):
    client = api(team_admin)
    api_token_for(superuser)
    root_token = ApiToken.objects.get(user=superuser)

    for_root = client.post(TOKENS, {"user": superuser.pk, "name": "Mine now"}, format="json")
    for_outsider = client.post(TOKENS, {"user": outsider.pk, "name": "Mine now"}, format="json")
    revoked = client.post(f"{TOKENS}{root_token.pk}/revoke/")
    read = client.get(f"{TOKENS}{root_token.pk}/")

    assert (errors(for_root), errors(for_outsider)) == ([("user", "refused")],) * 2
    assert (revoked.status_code, read.status_code) == (404, 404)
    assert refusals() == [
        ("api_token.create_refused", str(superuser.pk), "user"),
        ("api_token.create_refused", str(outsider.pk), "user"),
    ]
    assert ApiToken.objects.filter(user__in=[superuser, outsider]).count() == 1
    root_token.refresh_from_db()
    assert root_token.revoked_at is None


def test_a_revoked_token_is_refused(team_admin, member, openapi):
    client = api(team_admin)
    key = client.post(TOKENS, {"user": member.pk, "name": "Old"}, format="json").json()["key"]
    token = ApiToken.objects.get(user=member)

    revoked = client.post(f"{TOKENS}{token.pk}/revoke/")
    again = client.post(f"{TOKENS}{token.pk}/revoke/")

    assert (revoked.status_code, again.status_code) == (200, 200)
    conforms(openapi, f"{TOKENS}{{id}}/revoke/", "post", revoked)
    assert revoked.json()["is_usable"] is False
    assert AuditEntry.objects.filter(action="api_token.revoke").count() == 1
    refused = APIClient(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/customers/")
    assert (refused.status_code, errors(refused)) == (401, [("", "token_revoked")])
