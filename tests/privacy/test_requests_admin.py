"""Data-subject requests in the admin: intake through the service, read-only afterwards."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from privacy.models import AuditEntry, DataSubjectRequest, RequestStatus
from privacy.requests.services.lifecycle import request_create
from tests.customers.factories import CustomerFactory

ADD = reverse("admin:privacy_datasubjectrequest_add")
CHANGELIST = reverse("admin:privacy_datasubjectrequest_changelist")


def change_url(data_request) -> str:
    return reverse("admin:privacy_datasubjectrequest_change", args=[data_request.pk])


@pytest.fixture
def person(team_a):
    return CustomerFactory(owner_team=team_a, email="ada@example.org")


@pytest.fixture
def admin_client(verified_client, steward):
    return verified_client(steward)


def intake(team, **fields):
    received = timezone.localtime() - datetime.timedelta(hours=1)
    return {
        "owner_team": team.pk,
        "kind": "erasure",
        "channel": "post",
        "received_at_0": received.strftime("%Y-%m-%d"),
        "received_at_1": received.strftime("%H:%M:%S"),
        "subject_email": "ada@example.org",
        "subject_phone": "",
        "subject_name": "Ada",
        "details": "Delete me",
        "customer_ids": "",
        **fields,
    }


def test_admin_intake_runs_the_service_finds_the_customers_and_audits(
    admin_client, steward, team_a, person
):
    # When a steward records a request in the admin
    response = admin_client.post(ADD, intake(team_a), follow=True)

    # Then the intake service recorded it: customers found, due date set, audited
    assert response.status_code == 200
    data_request = DataSubjectRequest.objects.get()
    assert (data_request.kind, data_request.channel, data_request.status) == (
        "erasure",
        "post",
        RequestStatus.RECEIVED,
    )
    assert data_request.customer_ids == [person.pk]
    assert data_request.subject_email == "ada@example.org"
    assert data_request.created_by == steward
    entry = AuditEntry.objects.get(action="request.create")
    assert (entry.actor, entry.object_id) == (steward, str(data_request.pk))
    assert entry.metadata["customers_found"] == 1
    shown = [str(message) for message in response.context["messages"]]
    assert f"1 customer was found; the answer is due on {data_request.due_on.isoformat()}." in (
        shown
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"subject_email": "not an address"}, "subject_email"),
        ({"subject_email": ""}, "subject_email"),
        ({"customer_ids": "abc"}, "customer_ids"),
    ],
    ids=["bad-email", "nobody-named", "bad-customer-numbers"],
)
def test_admin_intake_refused_by_the_service_shows_the_form_again_and_records_nothing(
    admin_client, team_a, person, fields, field
):
    response = admin_client.post(ADD, intake(team_a, **fields))

    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == [field]
    assert b'value="Ada"' in response.content  # what was typed is kept
    assert not DataSubjectRequest.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="request.").exists()


def test_admin_intake_offers_only_the_users_teams(admin_client, team_a, team_b, person):
    response = admin_client.post(ADD, intake(team_b))

    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["owner_team"]
    assert not DataSubjectRequest.objects.exists()


def test_a_recorded_request_is_read_only_masked_and_never_deleted(
    admin_client, steward, team_a, person
):
    long_ago = timezone.now() - datetime.timedelta(days=40)
    data_request = request_create(
        team=team_a,
        kind="access",
        channel="email",
        actor=steward,
        received_at=long_ago,
        subject_email="ada@example.org",
    )

    listed = admin_client.get(CHANGELIST)
    shown = admin_client.get(change_url(data_request))
    changed = admin_client.post(change_url(data_request), {"kind": "erasure"})
    deleted = admin_client.post(
        reverse("admin:privacy_datasubjectrequest_delete", args=[data_request.pk]), {"post": "yes"}
    )

    assert listed.status_code == 200
    assert f"{data_request.due_on.isoformat()} (overdue)" in listed.content.decode()
    assert shown.status_code == 200
    html = shown.content.decode()
    assert "a•••@example.org" in html and "ada@example.org" not in html
    assert reverse("request-detail", kwargs={"pk": data_request.pk}) in html
    assert 'name="_save"' not in html
    assert changed.status_code == deleted.status_code == 403
    data_request.refresh_from_db()
    assert data_request.kind == "access"


def test_roles_without_the_permission_cannot_add_a_request(verified_client, marketer_a, team_a):
    client = verified_client(marketer_a)

    assert client.get(ADD).status_code == 403
    assert client.post(ADD, intake(team_a)).status_code == 403
    assert not DataSubjectRequest.objects.exists()
