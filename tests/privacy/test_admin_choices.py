"""Admin forms offer only the user's teams and colleagues; staff preferences are audited."""

import pytest

from privacy.core import roles
from privacy.models import AuditEntry, StaffProfile


@pytest.fixture
def staff(make_user, team_a, team_b):
    return {
        "colleague": make_user(roles.MARKETER, team_a, username="colleague"),
        "stranger": make_user(roles.MARKETER, team_b, username="stranger"),
    }


def test_staff_preferences_form_offers_only_colleagues(verified_client, steward, staff):
    # Given a data steward of team A, a marketer of team A and one of team B
    client = verified_client(steward)

    # When she opens the form to add a staff member's preferences
    response = client.get("/admin/privacy/staffprofile/add/")

    # Then only members of her team are offered, and the other team's member is not named
    assert response.status_code == 200
    choices = response.context["adminform"].form.fields["user"].queryset
    assert sorted(user.username for user in choices) == sorted(["colleague", steward.username])
    assert "stranger" not in response.content.decode()


def test_staff_preferences_of_another_team_are_neither_listed_nor_saved(
    verified_client, steward, staff
):
    # Given preferences of a member of team B
    theirs = StaffProfile.objects.create(user=staff["stranger"], time_zone="Asia/Shanghai")
    client = verified_client(steward)

    # When team A's steward lists preferences, opens theirs, and posts preferences for them
    listed = client.get("/admin/privacy/staffprofile/")
    opened = client.get(f"/admin/privacy/staffprofile/{theirs.pk}/change/")
    posted = client.post(
        "/admin/privacy/staffprofile/add/",
        {"user": staff["stranger"].pk, "time_zone": "Europe/Berlin"},
    )

    # Then they are not there, and nothing changed
    assert list(listed.context["cl"].result_list) == []
    assert (opened.status_code, opened["Location"]) == (302, "/admin/")
    assert list(posted.context["adminform"].form.errors) == ["user"]
    theirs.refresh_from_db()
    assert theirs.time_zone == "Asia/Shanghai"
    assert not AuditEntry.objects.filter(action__startswith="staff_profile.").exists()


def test_staff_preferences_are_saved_through_the_service_and_audited(
    verified_client, steward, staff
):
    # Given team A's steward
    client = verified_client(steward)

    # When she sets a colleague's time zone, then changes it
    added = client.post(
        "/admin/privacy/staffprofile/add/",
        {"user": staff["colleague"].pk, "time_zone": "Asia/Shanghai"},
    )
    profile = StaffProfile.objects.get(user=staff["colleague"])
    changed = client.post(
        f"/admin/privacy/staffprofile/{profile.pk}/change/", {"time_zone": "Europe/Berlin"}
    )

    # Then both are saved, each an audit entry of hers naming the colleague's account
    assert (added.status_code, changed.status_code) == (302, 302)
    profile.refresh_from_db()
    assert (profile.user, profile.time_zone) == (staff["colleague"], "Europe/Berlin")
    entries = AuditEntry.objects.filter(action="staff_profile.update").order_by("pk")
    assert [(entry.actor_id, entry.metadata) for entry in entries] == [
        (steward.pk, {"user_id": staff["colleague"].pk, "created": True}),
        (steward.pk, {"user_id": staff["colleague"].pk, "created": False}),
    ]


def test_a_time_zone_the_staff_ui_cannot_show_is_refused(verified_client, steward, staff):
    response = verified_client(steward).post(
        "/admin/privacy/staffprofile/add/",
        {"user": staff["colleague"].pk, "time_zone": "Mars/Olympus_Mons"},
    )
    assert list(response.context["adminform"].form.errors) == ["time_zone"]
    assert not StaffProfile.objects.exists()


@pytest.mark.parametrize(
    "path",
    ["/admin/privacy/erasurewebhook/add/", "/admin/privacy/datasubjectrequest/add/"],
    ids=["erasure-webhook", "data-subject-request"],
)
def test_privacy_add_forms_offer_only_the_users_teams(
    verified_client, steward, team_a, team_b, path
):
    response = verified_client(steward).get(path)
    assert response.status_code == 200
    teams = response.context["adminform"].form.fields["owner_team"].queryset
    assert [team.name for team in teams] == ["Team A"]
    assert "Team B" not in response.content.decode()


def test_the_request_list_filter_names_only_the_users_teams(
    verified_client, steward, team_a, team_b
):
    from privacy.requests.services.lifecycle import request_create

    for team in (team_a, team_b):
        request_create(
            team=team, kind="access", channel="email", actor=None, subject_email="a@example.com"
        )
    response = verified_client(steward).get("/admin/privacy/datasubjectrequest/")
    assert response.status_code == 200
    assert "Team B" not in response.content.decode()
