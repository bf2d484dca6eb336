import pytest
from django.contrib.auth.models import Group, Permission

from privacy import roles


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
