import pytest
from django.contrib.auth.models import Group

from privacy.core import roles


def codenames(role: str) -> set[str]:
    group = Group.objects.get(name=role)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}


@pytest.mark.django_db
def test_the_four_roles_exist():
    names = set(
        Group.objects.filter(name__in=roles.ROLE_PERMISSIONS).values_list("name", flat=True)
    )
    assert names == {roles.ADMINISTRATOR, roles.DATA_STEWARD, roles.MARKETER, roles.ANALYST}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "has_personal_data"),
    [
        (roles.ADMINISTRATOR, True),
        (roles.DATA_STEWARD, True),
        (roles.MARKETER, False),
        (roles.ANALYST, False),
    ],
)
def test_only_administrators_and_stewards_see_personal_data(role, has_personal_data):
    assert ("privacy.view_personal_data" in codenames(role)) is has_personal_data


@pytest.mark.django_db
def test_analysts_only_read():
    assert all(".view_" in name for name in codenames(roles.ANALYST))


@pytest.mark.django_db
def test_nobody_may_change_or_delete_audit_entries():
    for role in roles.ROLE_PERMISSIONS:
        assert not {"privacy.change_auditentry", "privacy.delete_auditentry"} & codenames(role)


@pytest.mark.django_db
def test_stewards_read_the_audit_log():
    assert "privacy.view_auditentry" in codenames(roles.DATA_STEWARD)
    assert "privacy.view_auditentry" not in codenames(roles.MARKETER)


@pytest.mark.django_db
def test_administrators_manage_members_not_groups_schedules_or_tokens_in_clear():
    granted = codenames(roles.ADMINISTRATOR)
    every_permission_of = {
        app for app, prefix in roles.ROLE_PERMISSIONS[roles.ADMINISTRATOR] if not prefix
    }
    assert every_permission_of == {"privacy", "customers", "segments", "campaigns"}
    outside_domain = {name for name in granted if name.split(".")[0] not in every_permission_of}
    assert outside_domain == {
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
        "axes.view_accessattempt",
        "axes.view_accessattemptexpiration",
        "axes.delete_accessattempt",
        "axes.view_accesslog",
        "axes.view_accessfailurelog",
    }
    assert {"privacy.add_team", "privacy.change_team", "privacy.delete_apitoken"} & granted == set()
    assert {"privacy.view_apitoken", "privacy.add_apitoken", "privacy.change_apitoken"} <= granted


@pytest.mark.django_db
def test_only_administrators_handle_api_tokens():
    for role in (roles.DATA_STEWARD, roles.MARKETER, roles.ANALYST):
        assert not {name for name in codenames(role) if name.endswith("_apitoken")}
        assert not {"privacy.add_team", "privacy.change_team"} & codenames(role)
