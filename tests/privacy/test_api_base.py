import json

import pytest
from django.core.management import call_command
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from privacy.core import roles
from privacy.core.rest.viewsets import ScopedReadOnlyViewSet
from privacy.core.services.audit import audit_record
from privacy.models import ApiToken, AuditEntry, api_key_digest
from tests.access_app.models import Note
from tests.factories import api_token_for

pytestmark = pytest.mark.urls("tests.access_app.urls")


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
    return client


@pytest.fixture
def notes(team_a, team_b):
    return {
        "a": Note.objects.create(owner_team=team_a, title="A"),
        "b": Note.objects.create(owner_team=team_b, title="B"),
    }


def test_no_token_is_a_json_401(notes):
    response = APIClient().get("/api/test/notes/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["errors"][0]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Token"


def test_bad_token_is_a_json_401(notes):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get("/api/test/notes/")
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid token."


def test_list_is_scoped_to_the_users_teams(marketer_a, notes):
    response = token_client(marketer_a).get("/api/test/notes/")
    assert response.status_code == 200
    assert [row["title"] for row in response.json()["results"]] == ["A"]


def test_another_teams_object_is_a_404_and_stays_unchanged(marketer_a, notes):
    client = token_client(marketer_a)
    other = notes["b"]
    assert client.get(f"/api/test/notes/{other.pk}/").status_code == 404
    response = client.patch(f"/api/test/notes/{other.pk}/", {"title": "hacked"}, format="json")
    assert response.status_code == 404
    missing = client.get("/api/test/notes/999999/")
    assert missing.status_code == 404
    assert missing.json() == client.get(f"/api/test/notes/{other.pk}/").json()
    other.refresh_from_db()
    assert other.title == "B"


def test_read_only_role_cannot_write(make_user, team_a, notes):
    client = token_client(make_user(roles.ANALYST, team_a))
    response = client.patch(f"/api/test/notes/{notes['a'].pk}/", {"title": "x"}, format="json")
    assert response.status_code == 404
    assert client.post("/api/test/notes/", {"title": "x", "owner_team": 1}).status_code == 403
    notes["a"].refresh_from_db()
    assert notes["a"].title == "A"


def test_validation_errors_name_the_field(marketer_a, team_a):
    response = token_client(marketer_a).post(
        "/api/test/notes/", {"owner_team": team_a.pk, "title": ""}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "title", "message": "This field may not be blank.", "code": "blank"}
    ]


def test_lists_use_cursor_pagination(marketer_a, team_a):
    Note.objects.bulk_create(Note(owner_team=team_a, title=f"n{i}") for i in range(5))
    client = token_client(marketer_a)
    first = client.get("/api/test/notes/?page_size=2").json()
    assert [row["title"] for row in first["results"]] == ["n4", "n3"]
    second = client.get(first["next"]).json()
    assert [row["title"] for row in second["results"]] == ["n2", "n1"]


def test_list_query_count_does_not_grow_with_rows(marketer_a, team_a, django_assert_num_queries):
    client = token_client(marketer_a)
    Note.objects.bulk_create(Note(owner_team=team_a, title=f"n{i}") for i in range(3))
    client.get("/api/test/notes/")  # warm the content-type cache
    # token + user, role permissions (2), rows
    with django_assert_num_queries(4):
        client.get("/api/test/notes/")
    Note.objects.bulk_create(Note(owner_team=team_a, title=f"m{i}") for i in range(30))
    with django_assert_num_queries(4):
        assert len(client.get("/api/test/notes/").json()["results"]) == 33


def test_writes_are_throttled_per_token(marketer_a, team_a, settings):
    from django.core.cache import cache

    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_read": "100/minute", "api_write": "2/minute"},
    }
    cache.clear()
    client = token_client(marketer_a)
    codes = [
        client.post("/api/test/notes/", {"owner_team": team_a.pk, "title": "t"}).status_code
        for _ in range(3)
    ]
    assert codes == [201, 201, 429]
    assert client.get("/api/test/notes/").status_code == 200


def test_overriding_get_queryset_is_refused():
    with pytest.raises(TypeError, match="base_queryset"):

        class Leaky(ScopedReadOnlyViewSet):
            queryset = Note.objects.all()

            def get_queryset(self):
                return Note.objects.all()


def test_audit_log_api_is_read_only_and_for_stewards(steward, marketer_a, team_a):
    audit_record(action="demo.seed", team_id=team_a.pk)
    client = token_client(steward)
    listed = client.get("/api/v1/audit-log/?action=demo.")
    assert [row["action"] for row in listed.json()["results"]] == ["demo.seed"]
    entry_id = listed.json()["results"][0]["id"]
    assert client.patch(f"/api/v1/audit-log/{entry_id}/", {"action": "x"}).status_code == 405
    assert client.delete(f"/api/v1/audit-log/{entry_id}/").status_code == 405
    # A marketer of the team reads none of it: her role may not view audit entries
    marketer = token_client(marketer_a)
    listed_to_marketer = marketer.get("/api/v1/audit-log/")
    assert (listed_to_marketer.status_code, listed_to_marketer.json()["results"]) == (200, [])
    assert marketer.get(f"/api/v1/audit-log/{entry_id}/").status_code == 404
    assert AuditEntry.objects.get(pk=entry_id).action == "demo.seed"


def test_api_token_command_prints_only_the_key_and_stores_its_digest(steward, capsys):
    # When the command makes a token for an integration account
    call_command("api_token", steward.username, "--name", "CRM sync")

    # Then it prints the key alone, which is stored only as its digest and authenticates
    key = capsys.readouterr().out.strip()
    token = ApiToken.objects.get(user=steward)
    assert (token.name, token.prefix, token.digest) == ("CRM sync", key[:8], api_key_digest(key))
    assert len(key) == 43
    assert not ApiToken.objects.filter(digest=key).exists()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/test/notes/").status_code == 200
    assert AuditEntry.objects.filter(action="api_token.create", object_id=str(token.pk)).exists()


def test_api_token_command_rotate_revokes_the_other_tokens(steward, capsys):
    # Given a token the integration uses
    call_command("api_token", steward.username)
    old = capsys.readouterr().out.strip()

    # When a new one is made with --rotate
    call_command("api_token", steward.username, "--rotate")
    new = capsys.readouterr().out.strip()

    # Then the old key is refused and the new one works
    def status(key):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client.get("/api/test/notes/").status_code

    assert (status(old), status(new)) == (401, 200)


def test_schema_is_valid_openapi_3(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    validate(schema)
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/audit-log/" in schema["paths"]


def test_docs_page_uses_only_local_assets(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower()
    assert "https://" not in html
