"""The account services decide who may change whom, audit each change and each refusal."""

import pytest
from django.db import transaction

from privacy.core import roles
from privacy.core.access import scope_queryset
from privacy.core.services.accounts import (
    AccountError,
    AccountRefused,
    team_membership_add,
    team_membership_remove,
    user_create,
    user_roles_set,
    user_update,
)
from privacy.models import AuditEntry
from tests.factories import UserFactory


def refused_actions() -> list[str]:
    return list(
        AuditEntry.objects.filter(action__endswith="_refused")
        .order_by("pk")
        .values_list("action", flat=True)
    )


def test_an_account_shared_with_another_team_is_seen_but_managed_by_superusers(
    team_admin, make_user, team_a, team_b
):
    # Given a marketer of team A and team B: a role given to them would reach team B too
    shared = make_user(roles.MARKETER, team_a, team_b)
    accounts = type(shared).objects.filter(pk=shared.pk)

    # Then the administrator of team A sees the account, and changes nothing of it
    assert scope_queryset(team_admin, accounts, action="view").exists()
    assert not scope_queryset(team_admin, accounts, action="change").exists()
    with pytest.raises(AccountRefused):
        user_roles_set(actor=team_admin, user=shared, role_names=[roles.DATA_STEWARD])
    with pytest.raises(AccountRefused):
        team_membership_remove(actor=team_admin, user=shared, team=team_b)
    with pytest.raises(AccountRefused):
        user_update(actor=team_admin, user=shared, changes={"is_active": False})
    assert refused_actions() == [
        "user.roles_set_refused",
        "team.member_remove_refused",
        "user.update_refused",
    ]
    shared.refresh_from_db()
    assert shared.is_active is True
    assert set(shared.groups.values_list("name", flat=True)) == {
        roles.MARKETER,
        "Team A",
        "Team B",
    }


def test_another_administrator_of_the_team_is_managed_by_superusers(team_admin, make_user, team_a):
    colleague = make_user(roles.ADMINISTRATOR, team_a)

    with pytest.raises(AccountRefused) as refused:
        user_roles_set(actor=team_admin, user=colleague, role_names=[roles.ANALYST])

    assert refused.value.field == "user"
    assert set(colleague.groups.values_list("name", flat=True)) == {roles.ADMINISTRATOR, "Team A"}


def test_a_refusal_rolled_back_by_the_callers_transaction_is_recorded_again_once(
    team_admin, make_user, team_a, team_b
):
    member = make_user(roles.MARKETER, team_a)

    # When the caller runs the service in its own transaction, which the error rolls back
    with pytest.raises(AccountRefused) as refused, transaction.atomic():
        team_membership_add(actor=team_admin, user=member, team=team_b)
    assert refused_actions() == []

    # Then the caller records the refusal again, once however often it asks
    refused.value.ensure_audited()
    refused.value.ensure_audited()
    [entry] = AuditEntry.objects.filter(action="team.member_add_refused")
    assert (entry.actor, entry.object_id, entry.metadata) == (
        team_admin,
        str(member.pk),
        {"field": "team", "reason": "team_out_of_reach", "team": team_b.pk},
    )


def test_a_change_to_the_same_value_is_no_change(team_admin, make_user, team_a):
    member = make_user(roles.MARKETER, team_a)

    user_update(actor=team_admin, user=member, changes={"is_superuser": False, "is_staff": True})
    user_roles_set(actor=team_admin, user=member, role_names=[roles.MARKETER])
    added = team_membership_add(actor=team_admin, user=member, team=team_a)

    assert added is False
    assert not AuditEntry.objects.filter(object_id=str(member.pk)).exists()


def test_invalid_input_is_an_error_naming_the_field_and_is_not_a_refusal(team_admin, team_a):
    UserFactory(username="taken")
    cases = [
        {"username": "taken"},
        {"username": "has space"},
        {"username": "fresh", "email": "not an address"},
        {"username": "fresh", "password": "short"},
        {"username": "fresh", "role_names": ["Owner"]},
    ]
    fields = []
    for fields_given in cases:
        with pytest.raises(AccountError) as error:
            user_create(actor=team_admin, teams=[team_a], **fields_given)
        assert not isinstance(error.value, AccountRefused)
        fields.append(error.value.field)

    assert fields == ["username", "username", "email", "password", "roles"]
    assert refused_actions() == []
    assert not type(team_admin).objects.filter(username="fresh").exists()


def test_the_command_line_may_do_everything(make_user, team_a, team_b):
    member = make_user(roles.MARKETER, team_a)

    user_update(actor=None, user=member, changes={"is_superuser": True})
    team_membership_add(actor=None, user=member, team=team_b)
    user_roles_set(actor=None, user=member, role_names=[roles.ADMINISTRATOR])

    member.refresh_from_db()
    assert member.is_superuser is True
    assert list(
        AuditEntry.objects.filter(object_id=str(member.pk))
        .order_by("pk")
        .values_list("action", "actor")
    ) == [("user.update", None), ("team.member_add", None), ("user.roles_set", None)]
