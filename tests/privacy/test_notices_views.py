"""The Privacy area's notices page: versions with their hash, publishing a new version."""

from privacy.consent.services.notices import notice_publish
from privacy.consent.services.records import consent_record
from privacy.core import roles
from privacy.models import AuditEntry, PrivacyNotice
from tests.customers.factories import CustomerFactory


def test_stewards_see_versions_with_hash_and_citations(team_a, team_b, steward, verified_client):
    first = notice_publish(version="2026-01", language="en", text="We keep data.", actor=None)
    notice_publish(version="2026-02", language="en", text="We keep less data.", actor=None)
    for team in (team_a, team_a, team_b):
        consent_record(
            customer=CustomerFactory(owner_team=team),
            purpose_code="email_marketing",
            channel="email",
            status="granted",
            source="form",
            notice=first,
        )
    client = verified_client(steward)

    response = client.get("/privacy/notices/")

    assert response.status_code == 200
    rows = {notice.version: notice.citations for notice in response.context["notices"]}
    assert rows == {"2026-01": 2, "2026-02": 0}  # team B's citation is not counted
    assert first.text_sha256[:17] in response.content.decode()
    detail = client.get(f"/privacy/notices/{first.pk}/")
    assert "We keep data." in detail.content.decode()


def test_publishing_a_version_is_audited_and_a_published_text_cannot_change(
    steward, verified_client
):
    client = verified_client(steward)
    form = {"version": "v3", "language": "en", "text": "Plain words."}

    response = client.post("/privacy/notices/", form)

    notice = PrivacyNotice.objects.get(version="v3")
    assert (response.status_code, response["Location"]) == (302, f"/privacy/notices/{notice.pk}/")
    assert AuditEntry.objects.filter(action="privacy_notice.publish").count() == 1
    refused = client.post("/privacy/notices/", {**form, "text": "Other words."})
    assert refused.status_code == 200
    assert refused.context["form"].errors["version"]
    assert PrivacyNotice.objects.get(version="v3").text == "Plain words."


def test_the_empty_state_and_no_publish_form_for_readers_without_add(
    make_user, team_a, verified_client
):
    from django.contrib.auth.models import Permission

    reader = make_user(None, team_a)
    reader.user_permissions.add(Permission.objects.get(codename="view_privacynotice"))
    response = verified_client(reader).get("/privacy/notices/")
    assert "No notice published yet" in response.content.decode()
    assert response.context["can_publish"] is False
    assert verified_client(reader).post("/privacy/notices/", {"version": "x"}).status_code == 404


def test_marketers_cannot_see_notices(make_user, team_a, verified_client):
    marketer = make_user(roles.MARKETER, team_a)
    assert verified_client(marketer).get("/privacy/notices/").status_code == 404
