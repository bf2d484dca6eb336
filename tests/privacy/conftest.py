import pytest
from django.contrib.auth.models import Group, Permission

from privacy.core import roles
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def note_permissions_for_roles(db):
    """Give the test-only Note model the permissions a customers-like model gets from roles."""
    grants = {
        roles.MARKETER: ["view_note", "add_note", "change_note", "view_comment"],
        roles.ANALYST: ["view_note", "view_comment"],
        roles.DATA_STEWARD: ["view_note", "change_note", "view_comment"],
    }
    for role, codenames in grants.items():
        Group.objects.get(name=role).permissions.add(
            *Permission.objects.filter(content_type__app_label="access_app", codename__in=codenames)
        )


@pytest.fixture
def team_admin(make_user, team_a):
    """An administrator of team A who is not a superuser."""
    return make_user(roles.ADMINISTRATOR, team_a)


@pytest.fixture
def superuser(team_a):
    return UserFactory(username="root", is_superuser=True, teams=[team_a])


@pytest.fixture
def member(make_user, team_a):
    """A marketer of team A only: an account team A's administrator manages."""
    return make_user(roles.MARKETER, team_a, email="mia@example.com")


@pytest.fixture
def outsider(make_user, team_b):
    return make_user(roles.MARKETER, team_b)
