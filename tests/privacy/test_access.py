import pytest
from guardian.shortcuts import assign_perm

from privacy.core import roles
from privacy.core.access import NotFound, get_for_user, scope_queryset
from tests.access_app.models import Comment, Note


@pytest.fixture
def notes(team_a, team_b):
    return {
        "a": Note.objects.create(owner_team=team_a, title="A's note"),
        "b": Note.objects.create(owner_team=team_b, title="B's note"),
    }


def test_role_sees_only_its_teams_rows(marketer_a, notes):
    # Given a marketer in team A; When scoping all notes; Then only team A's note remains.
    assert list(scope_queryset(marketer_a, Note.objects.all())) == [notes["a"]]


def test_user_without_a_role_sees_nothing_even_in_the_owning_team(make_user, team_a, notes):
    member_without_role = make_user(None, team_a)
    assert list(scope_queryset(member_without_role, Note.objects.all())) == []


def test_superuser_sees_everything(make_user, notes):
    admin = make_user(None, is_superuser=True)
    assert set(scope_queryset(admin, Note.objects.all())) == set(notes.values())


def test_anonymous_and_inactive_users_see_nothing(make_user, team_a, notes):
    from django.contrib.auth.models import AnonymousUser

    inactive = make_user(roles.MARKETER, team_a, is_active=False)
    assert list(scope_queryset(AnonymousUser(), Note.objects.all())) == []
    assert list(scope_queryset(inactive, Note.objects.all())) == []


def test_object_grant_to_a_user_reaches_another_teams_row(make_user, notes):
    # Given a user with no role and a guardian grant on team B's note only
    outsider = make_user(None)
    assign_perm("access_app.view_note", outsider, notes["b"])
    # Then exactly that note is visible, for viewing but not for changing
    assert list(scope_queryset(outsider, Note.objects.all())) == [notes["b"]]
    assert list(scope_queryset(outsider, Note.objects.all(), action="change")) == []


def test_object_grant_to_a_group_reaches_its_members(make_user, team_a, team_b, notes):
    member_of_a = make_user(roles.ANALYST, team_a)
    assign_perm("access_app.view_note", team_a.group, notes["b"])
    assert set(scope_queryset(member_of_a, Note.objects.all())) == {notes["a"], notes["b"]}


def test_read_only_role_cannot_change(make_user, team_a, notes):
    analyst = make_user(roles.ANALYST, team_a)
    assert list(scope_queryset(analyst, Note.objects.all(), action="view")) == [notes["a"]]
    assert list(scope_queryset(analyst, Note.objects.all(), action="change")) == []


def test_rows_owned_through_a_parent_follow_the_parent(marketer_a, notes):
    own = Comment.objects.create(note=notes["a"], body="mine")
    Comment.objects.create(note=notes["b"], body="theirs")
    assert list(scope_queryset(marketer_a, Comment.objects.all())) == [own]


def test_missing_and_forbidden_objects_raise_the_same_error(marketer_a, notes):
    with pytest.raises(NotFound) as forbidden:
        get_for_user(marketer_a, Note, pk=notes["b"].pk)
    with pytest.raises(NotFound) as missing:
        get_for_user(marketer_a, Note, pk=notes["b"].pk + 1000)
    assert str(forbidden.value) == str(missing.value)
    assert get_for_user(marketer_a, Note, pk=notes["a"].pk) == notes["a"]


def test_scoping_is_one_sql_query(marketer_a, notes, django_assert_num_queries):
    # Role permissions are loaded once per user object; the scoped list is then one query.
    marketer_a.has_perm("access_app.view_note")
    with django_assert_num_queries(2):
        # one query for the content type cache miss at most, one for the rows
        from django.contrib.contenttypes.models import ContentType

        ContentType.objects.clear_cache()
        list(scope_queryset(marketer_a, Note.objects.all()))
    with django_assert_num_queries(1):
        list(scope_queryset(marketer_a, Note.objects.all()))
