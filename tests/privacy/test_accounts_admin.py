"""Who sees what changes only through the audited account services, in the admin.

A team administrator (the Administrator role in team A, not a superuser) manages the members of
team A: never a superuser's flag, another team's membership or the Administrator role. Each
attempt is refused, audited, and changes nothing; a superuser does all of it, audited.
"""

from django.contrib.auth.models import Group
from django.urls import reverse
from rest_framework.test import APIClient

from privacy.core import roles
from privacy.core.reauth import SESSION_KEY
from privacy.models import ApiToken, AuditEntry, Team
from tests.factories import api_token_for

CHANGELIST = reverse("admin:auth_user_changelist")
ADD = reverse("admin:auth_user_add")
TOKENS = reverse("admin:privacy_apitoken_changelist")
TOKEN_ADD = reverse("admin:privacy_apitoken_add")


def change_url(user) -> str:
    return reverse("admin:auth_user_change", args=[user.pk])


def form_data(user, **changes) -> dict:
    """The change form of ``user`` as a team administrator submits it, with ``changes``."""
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "is_staff": "on" if user.is_staff else "",
        "teams": list(Team.objects.filter(group__user=user).values_list("pk", flat=True)),
        "roles": list(
            Group.objects.filter(user=user, name__in=roles.ROLE_PERMISSIONS).values_list(
                "pk", flat=True
            )
        ),
    }
    return {**data, **changes}


def groups_of(user) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


def refusals() -> list[tuple[str, str, str]]:
    return [
        (entry.action, entry.object_id, entry.metadata["field"])
        for entry in AuditEntry.objects.filter(action__endswith="_refused").order_by("pk")
    ]


def role_pk(name: str) -> int:
    return Group.objects.get(name=name).pk


# --- A team administrator -------------------------------------------------------------------------


def test_a_team_administrator_lists_only_the_members_of_their_teams(
    verified_client, team_admin, member, outsider, superuser
):
    # When the administrator of team A opens the accounts
    page = verified_client(team_admin).get(CHANGELIST)

    # Then team A's members are listed, team B's are not, and is_superuser is neither a column
    # nor a filter
    listed = {user.username for user in page.context["cl"].result_list}
    assert listed == {team_admin.username, member.username, superuser.username}
    assert "is_superuser" not in page.context["cl"].list_display
    assert "is_superuser" not in page.content.decode()


def test_the_change_form_offers_neither_superuser_nor_permissions_nor_other_teams(
    verified_client, team_admin, member, team_b
):
    # When the administrator opens a member's account
    page = verified_client(team_admin).get(change_url(member))

    # Then the form has the member's details, flags, teams and roles, nothing more, and offers
    # team A only and the three roles an administrator gives
    form = page.context["adminform"].form
    assert set(form.fields) == {
        "username",
        "first_name",
        "last_name",
        "email",
        "is_active",
        "is_staff",
        "teams",
        "roles",
    }
    assert [label for _value, label in form.fields["teams"].widget.choices] == ["Team A"]
    assert [label for _value, label in form.fields["roles"].widget.choices] == [
        "Analyst",
        "Data steward",
        "Marketer",
    ]
    html = page.content.decode()
    assert "Team B" not in html and "user_permissions" not in html and "is_superuser" not in html


def test_a_team_administrator_cannot_make_a_member_superuser(verified_client, team_admin, member):
    # When the administrator posts the member's form with is_superuser, which it does not offer
    client = verified_client(team_admin)
    response = client.post(change_url(member), form_data(member, is_superuser="on"))

    # Then the form comes back with the refusal, which is audited, and nothing changed
    assert response.status_code == 200
    assert "Only a superuser makes or unmakes superusers." in response.content.decode()
    assert refusals() == [("user.update_refused", str(member.pk), "is_superuser")]
    member.refresh_from_db()
    assert member.is_superuser is False
    assert not AuditEntry.objects.filter(action="user.update").exists()


def test_a_team_administrator_cannot_set_their_own_superuser_flag(
    verified_client, team_admin, team_b
):
    # When the administrator posts their own account with is_superuser and team B
    client = verified_client(team_admin)
    data = form_data(team_admin, is_superuser="on", teams=[team_b.pk])
    response = client.post(change_url(team_admin), data)

    # Then it is refused (an administrator is managed by superusers only), audited, unchanged
    assert response.status_code == 403
    [entry] = AuditEntry.objects.filter(action="access.denied")
    assert (entry.actor, entry.metadata["route"]) == (team_admin, "admin:auth_user_change")
    team_admin.refresh_from_db()
    assert team_admin.is_superuser is False
    assert groups_of(team_admin) == {roles.ADMINISTRATOR, "Team A"}


def test_a_team_administrator_cannot_add_a_member_to_another_team(
    verified_client, team_admin, member, team_a, team_b
):
    # When the administrator posts the member's form with team B ticked (it is not offered)
    client = verified_client(team_admin)
    response = client.post(change_url(member), form_data(member, teams=[team_a.pk, team_b.pk]))

    # Then refused, audited, and the member is still in team A only
    assert response.status_code == 200
    assert "Choose one of your own teams." in response.content.decode()
    assert refusals() == [("team.member_add_refused", str(member.pk), "team")]
    assert groups_of(member) == {roles.MARKETER, "Team A"}


def test_a_team_administrator_cannot_grant_the_administrator_role(
    verified_client, team_admin, member
):
    # When the administrator posts the member's form with the Administrator role
    client = verified_client(team_admin)
    data = form_data(member, roles=[role_pk(roles.MARKETER), role_pk(roles.ADMINISTRATOR)])
    response = client.post(change_url(member), data)

    # Then refused, audited, unchanged
    assert response.status_code == 200
    assert refusals() == [("user.roles_set_refused", str(member.pk), "roles")]
    assert groups_of(member) == {roles.MARKETER, "Team A"}


def test_a_refusal_undoes_the_rest_of_the_same_save(verified_client, team_admin, member):
    # When the administrator renames the member and, in the same save, asks for the
    # Administrator role
    client = verified_client(team_admin)
    data = form_data(member, first_name="Renamed", roles=[role_pk(roles.ADMINISTRATOR)])
    client.post(change_url(member), data)

    # Then the whole save is undone: the name too
    member.refresh_from_db()
    assert member.first_name == ""
    assert not AuditEntry.objects.filter(action="user.update").exists()
    assert refusals() == [("user.roles_set_refused", str(member.pk), "roles")]


def test_another_teams_account_is_not_found_and_the_refusal_audited(
    verified_client, team_admin, outsider
):
    client = verified_client(team_admin)

    # When the administrator opens, then posts, team B's member
    opened = client.get(change_url(outsider))
    posted = client.post(change_url(outsider), form_data(outsider, is_active=""))

    # Then both find nothing, both refusals are audited, and the account is unchanged
    assert (opened.status_code, opened["Location"]) == (302, reverse("admin:index"))
    assert posted.status_code in {302, 403}
    assert [
        (e.object_type, e.object_id) for e in AuditEntry.objects.filter(action="access.denied")
    ] == [("auth.user", str(outsider.pk))] * 2
    outsider.refresh_from_db()
    assert outsider.is_active is True


def test_a_superuser_in_the_team_is_shown_but_not_changed(verified_client, team_admin, superuser):
    client = verified_client(team_admin)

    # When the administrator opens the superuser of their team, and posts a change
    page = client.get(change_url(superuser))
    posted = client.post(change_url(superuser), form_data(superuser, is_active=""))

    # Then the page is read-only and shows neither the flag nor the password hash, and the post
    # is refused and changes nothing
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    html = page.content.decode()
    assert superuser.password not in html and "md5$" not in html
    assert posted.status_code == 403
    superuser.refresh_from_db()
    assert superuser.is_active is True


def test_a_team_administrator_manages_the_members_of_their_team(
    verified_client, team_admin, member, make_user, team_a
):
    # Given a second team of the administrator
    from privacy.core.services.staff import team_create

    team_c = team_create(name="Team C")
    team_admin.groups.add(team_c.group)
    client = verified_client(team_admin)

    # When the administrator renames the member, moves them to team C, and makes them an analyst
    data = form_data(member, first_name="Mia", teams=[team_c.pk], roles=[role_pk(roles.ANALYST)])
    response = client.post(change_url(member), data)

    # Then every change is saved and audited
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.first_name == "Mia"
    assert groups_of(member) == {roles.ANALYST, "Team C"}
    actions = list(
        AuditEntry.objects.filter(object_id=str(member.pk), object_type="auth.user")
        .order_by("pk")
        .values_list("action", "metadata")
    )
    assert actions == [
        ("user.update", {"fields": ["first_name"]}),
        ("team.member_add", {"team": team_c.pk}),
        ("team.member_remove", {"team": team_a.pk}),
        ("user.roles_set", {"added": [roles.ANALYST], "removed": [roles.MARKETER]}),
    ]
    assert refusals() == []


def test_a_team_administrator_creates_an_account_in_their_team(
    verified_client, team_admin, team_a, team_b
):
    client = verified_client(team_admin)
    account = {
        "username": "newbie",
        "usable_password": "true",
        "password1": "a long enough passphrase",
        "password2": "a long enough passphrase",
        "email": "newbie@example.com",
        "is_active": "on",
        "roles": [role_pk(roles.MARKETER)],
    }

    # When the administrator adds an account in team B, then one in team A
    refused = client.post(ADD, {**account, "teams": [team_b.pk]})
    created = client.post(ADD, {**account, "teams": [team_a.pk]})

    # Then the first is refused and audited, the second created and audited
    assert refused.status_code == 200
    assert created.status_code == 302
    [newbie] = type(team_admin).objects.filter(username="newbie")
    assert groups_of(newbie) == {roles.MARKETER, "Team A"}
    assert newbie.check_password("a long enough passphrase")
    assert refusals() == [("user.create_refused", "", "team")]
    entry = AuditEntry.objects.get(action="user.create")
    assert (entry.actor, entry.object_id) == (team_admin, str(newbie.pk))
    assert entry.metadata["teams"] == [team_a.pk]


def test_saving_an_account_with_a_stale_session_asks_for_the_password_again(
    verified_client, team_admin, member
):
    client = verified_client(team_admin)
    session = client.session
    session[SESSION_KEY] = 0
    session.save()

    response = client.post(change_url(member), form_data(member, first_name="Changed"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("reauth"))
    member.refresh_from_db()
    assert member.first_name == ""


def test_a_team_administrator_sets_a_members_password_audited(verified_client, team_admin, member):
    client = verified_client(team_admin)
    url = reverse("admin:auth_user_password_change", args=[member.pk])

    response = client.post(
        url,
        {
            "usable_password": "true",
            "password1": "another long passphrase",
            "password2": "another long passphrase",
        },
    )

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.check_password("another long passphrase")
    entry = AuditEntry.objects.get(action="user.password_set")
    assert (entry.actor, entry.object_id, entry.metadata) == (
        team_admin,
        str(member.pk),
        {"usable_password": True},
    )


def test_groups_and_schedules_are_for_superusers(verified_client, team_admin):
    client = verified_client(team_admin)
    analyst = Group.objects.get(name=roles.ANALYST)

    assert client.get(reverse("admin:auth_group_changelist")).status_code == 403
    assert client.get(reverse("admin:auth_group_change", args=[analyst.pk])).status_code == 403
    assert client.get(reverse("admin:django_celery_beat_periodictask_add")).status_code == 403


# --- API tokens in the admin ----------------------------------------------------------------------


def test_no_token_key_is_readable_in_the_admin(verified_client, team_admin, member, superuser):
    # Given tokens of the superuser, of a member and of the administrator
    keys = {user.username: api_token_for(user) for user in (superuser, member, team_admin)}
    client = verified_client(team_admin)

    # When the administrator opens the token list and each token's page
    listing = client.get(TOKENS)
    pages = [
        client.get(reverse("admin:privacy_apitoken_change", args=[token.pk]))
        for token in ApiToken.objects.all()
    ]

    # Then the list holds the member's and their own tokens, by prefix, never a key; the
    # superuser's token is not found
    listed = {token.user.username for token in listing.context["cl"].result_list}
    assert listed == {member.username, team_admin.username}
    html = listing.content.decode() + "".join(page.content.decode() for page in pages)
    assert not any(key in html for key in keys.values())
    assert keys[member.username][:8] in html
    assert sorted(page.status_code for page in pages) == [200, 200, 302]
    # ...and no key is stored anywhere to be read
    stored = str(list(ApiToken.objects.values()))
    assert not any(key in stored for key in keys.values())


def test_a_token_made_in_the_admin_is_shown_once_and_works(
    verified_client, team_admin, member, superuser
):
    client = verified_client(team_admin)

    # When the administrator makes a token for the superuser (not offered), then for the member
    refused = client.post(TOKEN_ADD, {"user": superuser.pk, "name": "Sync"})
    created = client.post(TOKEN_ADD, {"user": member.pk, "name": "Sync"})

    # Then the first is refused and audited; the second answers with the key, this once
    assert refused.status_code == 200
    assert refusals() == [("api_token.create_refused", str(superuser.pk), "user")]
    assert created.status_code == 200
    assert "no-store" in created["Cache-Control"]
    key = created.context["key"]
    token = ApiToken.objects.get()
    assert (token.user, token.created_by, token.name) == (member, team_admin, "Sync")
    assert (
        key
        not in client.get(
            reverse("admin:privacy_apitoken_change", args=[token.pk])
        ).content.decode()
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/customers/").status_code == 200


def test_tokens_are_revoked_from_the_list(verified_client, team_admin, member, superuser):
    member_key, root_key = api_token_for(member), api_token_for(superuser)
    client = verified_client(team_admin)

    # When the administrator selects every token and revokes them
    response = client.post(
        TOKENS,
        {
            "action": "revoke",
            "_selected_action": list(ApiToken.objects.values_list("pk", flat=True)),
        },
    )

    # Then the member's token is revoked (audited), the superuser's is untouched
    assert response.status_code == 302
    assert ApiToken.objects.get(user=member).revoked_at is not None
    assert ApiToken.objects.get(user=superuser).revoked_at is None
    assert AuditEntry.objects.filter(action="api_token.revoke").count() == 1
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {member_key}")
    assert api.get("/api/v1/customers/").status_code == 401
    api.credentials(HTTP_AUTHORIZATION=f"Token {root_key}")
    assert api.get("/api/v1/customers/").status_code == 200


# --- A superuser --------------------------------------------------------------------------------


def test_a_superuser_still_does_all_of_it_audited(
    verified_client, superuser, member, team_a, team_b
):
    client = verified_client(superuser)
    data = {
        **form_data(member, teams=[team_a.pk, team_b.pk], roles=[role_pk(roles.ADMINISTRATOR)]),
        "is_superuser": "on",
    }

    response = client.post(change_url(member), data)

    assert response.status_code == 302
    member.refresh_from_db()
    assert member.is_superuser is True
    assert groups_of(member) == {roles.ADMINISTRATOR, "Team A", "Team B"}
    assert list(
        AuditEntry.objects.filter(actor=superuser, object_id=str(member.pk))
        .order_by("pk")
        .values_list("action", "metadata")
    ) == [
        ("user.update", {"fields": ["is_superuser"], "is_superuser": True}),
        ("team.member_add", {"team": team_b.pk}),
        ("user.roles_set", {"added": [roles.ADMINISTRATOR], "removed": [roles.MARKETER]}),
    ]
    assert refusals() == []
