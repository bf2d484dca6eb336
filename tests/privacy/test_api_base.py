import json
import re

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from guardian.shortcuts import assign_perm
from openapi_spec_validator import validate
from rest_framework import authentication, mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.test import APIClient, APIRequestFactory

from privacy.core import roles
from privacy.core.rest.authentication import TokenAuthentication
from privacy.core.rest.viewsets import (
    ESCAPE_HATCHES,
    RolePermission,
    ScopedModelViewSet,
    ScopedReadOnlyViewSet,
    ScopedViewSetMixin,
)
from privacy.core.services.audit import audit_record
from privacy.models import ApiToken, AuditEntry, api_key_digest
from tests.access_app.api import AllTeamsNoteViewSet, NoteViewSet
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


# --- The base's contract ---------------------------------------------------------------------


class _ReadsItsRows:
    """Stands before the base in a subclass's bases, as a careless mixin would."""

    def get_queryset(self):
        return Note.objects.all()


class _Unaudited(serializers.ModelSerializer):
    class Meta:
        model = Note
        fields = ["id", "owner_team", "title"]


def _define(*bases, **attributes) -> type:
    """Define a viewset of notes as a module would."""
    namespace = {"queryset": Note.objects.all(), "serializer_class": _Unaudited, **attributes}
    return type("CarelessViewSet", bases or (ScopedModelViewSet,), namespace)


@pytest.mark.parametrize(
    ("bases", "attributes", "message"),
    [
        ((), {"get_object": lambda self: Note.objects.first()}, "overrides get_object"),
        ((), {"get_permissions": lambda self: []}, "overrides get_permissions"),
        ((), {"check_permissions": lambda self, request: None}, "overrides check_permissions"),
        ((), {"get_authenticators": lambda self: []}, "overrides get_authenticators"),
        ((), {"filter_queryset": lambda self, queryset: Note.objects.all()}, "filter_queryset"),
        ((), {"initial": lambda self, request, *args, **kwargs: None}, "overrides initial"),
        (
            (_ReadsItsRows, ScopedViewSetMixin, mixins.ListModelMixin, viewsets.GenericViewSet),
            {},
            "overrides get_queryset",
        ),
        ((), {"permission_classes": [permissions.AllowAny]}, "lacks IsAuthenticated"),
        ((), {"permission_classes": [permissions.IsAuthenticated]}, "lacks RolePermission"),
        (
            (),
            {"authentication_classes": [authentication.SessionAuthentication]},
            "authentication_classes holds SessionAuthentication",
        ),
        ((), {"authentication_classes": []}, "authentication_classes holds"),
        (
            (mixins.CreateModelMixin, ScopedViewSetMixin, viewsets.GenericViewSet),
            {},
            "DRF's perform_create comes before the base's",
        ),
        ((), {"access_actions": {"create": "write"}}, "'write', not one of view, add"),
        ((), {"lookup_field": "title"}, "lookup_field"),
        ((), {"dangerous_allow_anonymous": True}, "dangerous_allow_anonymous is no escape hatch"),
        ((), {"dangerously_skip_scoping": True}, "dangerously_skip_scoping is no escape hatch"),
        ((), {"dangerously_unscoped_queryset": Note.objects.all()}, "must be a method"),
    ],
)
def test_a_subclass_that_drops_the_base_s_guards_is_refused_when_defined(
    bases, attributes, message
):
    with pytest.raises(TypeError, match=re.escape(message)) as refused:
        _define(*bases, **attributes)
    assert str(refused.value).startswith("CarelessViewSet: ")


def test_an_extra_action_without_an_access_level_is_refused_when_defined():
    with pytest.raises(TypeError, match="the actions archive, publish need a level"):

        class Undeclared(ScopedModelViewSet):
            queryset = Note.objects.all()
            access_actions = {"rename": "change"}

            @action(detail=True, methods=["post"])
            def publish(self, request, pk=None):
                return None

            @action(detail=True, methods=["post"])
            def archive(self, request, pk=None):
                return None

            @action(detail=True, methods=["post"])
            def rename(self, request, pk=None):
                return None


def test_a_subclass_adding_to_the_base_s_guards_is_accepted():
    class Careful(ScopedModelViewSet):
        queryset = Note.objects.all()
        permission_classes = [*ScopedViewSetMixin.permission_classes, permissions.IsAdminUser]
        authentication_classes = [TokenAuthentication]
        access_actions = {"publish": "change"}

        @action(detail=True, methods=["post"])
        def publish(self, request, pk=None):
            return None

    assert Careful.permission_classes[-1] is permissions.IsAdminUser


@pytest.fixture
def api_request(marketer_a):
    """``api_request(method, path, data)``: a request carrying a token of ``marketer_a``."""
    key = api_token_for(marketer_a)
    factory = APIRequestFactory()

    def build(method: str, path: str, data=None):
        return getattr(factory, method)(
            path, data, format="json", HTTP_AUTHORIZATION=f"Token {key}"
        )

    return build


@pytest.mark.parametrize(
    ("bases", "method", "actions", "hook"),
    [
        ((ScopedModelViewSet,), "post", {"post": "create"}, "perform_create"),
        ((ScopedModelViewSet,), "patch", {"patch": "partial_update"}, "perform_update"),
        ((ScopedModelViewSet,), "put", {"put": "update"}, "perform_update"),
        (
            (ScopedViewSetMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet),
            "delete",
            {"delete": "destroy"},
            "perform_destroy",
        ),
    ],
)
def test_drf_s_default_writes_are_refused_naming_the_viewset(
    api_request, notes, team_a, marketer_a, bases, method, actions, hook
):
    # Given a viewset that relies on DRF saving the serializer (no service, no audit entry)
    view = _define(*bases).as_view(actions)
    note = notes["a"]
    if method == "delete":
        assign_perm("access_app.delete_note", marketer_a, note)

    # When a valid write reaches it
    with pytest.raises(ImproperlyConfigured) as refused:
        view(
            api_request(method, f"/notes/{note.pk}/", {"owner_team": team_a.pk, "title": "new"}),
            pk=note.pk,
        )

    # Then it is refused, naming the viewset and the hook, and nothing was written
    assert str(refused.value).startswith(f"CarelessViewSet relies on DRF's default {hook}, ")
    assert sorted(Note.objects.values_list("title", flat=True)) == ["A", "B"]


def test_the_test_app_writes_through_its_service_which_refuses_another_team(
    marketer_a, team_a, team_b
):
    client = token_client(marketer_a)

    created = client.post("/api/test/notes/", {"owner_team": team_a.pk, "title": "mine"})
    refused = client.post("/api/test/notes/", {"owner_team": team_b.pk, "title": "theirs"})

    assert (created.status_code, refused.status_code) == (201, 404)
    note = Note.objects.get()
    assert (note.owner_team, note.title) == (team_a, "mine")
    assert AuditEntry.objects.filter(action="note.create", object_id=str(note.pk)).count() == 1


@pytest.mark.parametrize(
    "built_with",
    [
        {"permission_classes": [permissions.AllowAny]},
        {"permission_classes": [RolePermission]},
        {"authentication_classes": [authentication.SessionAuthentication]},
        {"authentication_classes": []},
    ],
)
def test_a_view_built_without_the_base_s_guards_is_refused_at_request_time(
    api_request, notes, built_with
):
    view = NoteViewSet.as_view({"get": "list"}, **built_with)

    with pytest.raises(ImproperlyConfigured, match=r"^NoteViewSet was built "):
        view(api_request("get", "/notes/"))


def test_get_object_of_another_team_is_the_404_of_a_missing_one_and_is_audited(marketer_a, notes):
    # Given a marketer of team A and a note of team B
    client = token_client(marketer_a)
    other = notes["b"]

    # When she reads it, changes it, and reads a note that does not exist
    read = client.get(f"/api/test/notes/{other.pk}/")
    changed = client.patch(f"/api/test/notes/{other.pk}/", {"title": "x"}, format="json")
    missing = client.get("/api/test/notes/999999/")

    # Then all three are the same 404, and the two refusals of team B's note are audited
    assert [read.status_code, changed.status_code, missing.status_code] == [404, 404, 404]
    assert read.json() == changed.json() == missing.json()
    denied = AuditEntry.objects.filter(action="access.denied").order_by("pk")
    assert [
        (entry.actor, entry.object_type, entry.object_id, entry.metadata) for entry in denied
    ] == [
        (
            marketer_a,
            "access_app.note",
            str(other.pk),
            {"method": method, "route": "note-detail", "status": 404, "reason": "out_of_scope"},
        )
        for method in ("GET", "PATCH")
    ]


def test_get_object_uses_the_action_s_access_level(make_user, team_b, notes):
    # Given an analyst of team B granted the view of team A's note, not its change
    analyst = make_user(roles.ANALYST, team_b)
    note = notes["a"]
    assign_perm("access_app.view_note", analyst, note)
    client = token_client(analyst)

    # When she reads it and then changes it
    read = client.get(f"/api/test/notes/{note.pk}/")
    changed = client.patch(f"/api/test/notes/{note.pk}/", {"title": "x"}, format="json")

    # Then the read is served; the change is a 404 audited with the note, which stays unchanged
    assert (read.status_code, read.json()["title"]) == (200, "A")
    assert changed.status_code == 404
    refusal = AuditEntry.objects.get(action="access.denied")
    assert (refusal.object_id, refusal.metadata["method"]) == (str(note.pk), "PATCH")
    note.refresh_from_db()
    assert note.title == "A"


def test_the_unscoped_escape_hatch_serves_every_team_to_the_role_that_may_view(
    make_user, team_a, marketer_a, notes
):
    # Given a viewset that defines dangerously_unscoped_queryset()
    assert AllTeamsNoteViewSet.is_unscoped()
    marketer = token_client(marketer_a)
    roleless = token_client(make_user(None, team_a))

    # When a marketer of team A and a user of team A without a role list and read it
    listed = marketer.get("/api/test/all-team-notes/")
    read = marketer.get(f"/api/test/all-team-notes/{notes['b'].pk}/")
    missing = marketer.get("/api/test/all-team-notes/999999/")

    # Then the marketer gets both teams' notes (a missing one is a plain 404, not audited)
    assert [row["title"] for row in listed.json()["results"]] == ["B", "A"]
    assert (read.status_code, read.json()["title"]) == (200, "B")
    assert missing.status_code == 404
    # and the user whose role may not view notes is refused outright
    assert roleless.get("/api/test/all-team-notes/").status_code == 403
    refusals = AuditEntry.objects.filter(action="access.denied")
    assert [(entry.metadata["status"], entry.metadata["reason"]) for entry in refusals] == [
        (403, "permission")
    ]


def test_the_anonymous_escape_hatch_serves_a_public_endpoint(notes):
    listed = APIClient().get("/api/test/public-notes/")
    read = APIClient().get(f"/api/test/public-notes/{notes['a'].pk}/")

    assert [row["title"] for row in listed.json()["results"]] == ["B", "A"]
    assert (read.status_code, read.json()["title"]) == (200, "A")


def test_escape_hatches_are_named_dangerously_so_a_grep_finds_them():
    assert ESCAPE_HATCHES == ("dangerously_unscoped_queryset", "dangerously_allow_anonymous")
    assert ScopedViewSetMixin.dangerously_allow_anonymous is False
    assert not hasattr(ScopedViewSetMixin, "dangerously_unscoped_queryset")


def test_every_api_viewset_keeps_the_base_s_guards():
    # Every route of /api/v1/ is a viewset of the base that opened no escape hatch
    from config.api_urls import router

    viewsets_of_the_api = [viewset for _prefix, viewset, _basename in router.registry]
    assert viewsets_of_the_api
    for viewset in viewsets_of_the_api:
        assert issubclass(viewset, ScopedViewSetMixin), viewset
        opened = [name for name in dir(viewset) if name.startswith("dangerously_")]
        assert opened == ["dangerously_allow_anonymous"], viewset
        assert viewset.dangerously_allow_anonymous is False, viewset


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
