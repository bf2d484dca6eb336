"""Every download of personal data needs privacy.export_personal_data, whoever may reach the
object it comes from: the import row report and the access package, in the staff UI and the API.
"""

import pytest
from django.contrib.auth.models import Group, Permission
from rest_framework.test import APIClient

from customers.models import ImportJob, ImportRow, ImportStatus, RowOutcome
from privacy.core import roles
from privacy.core.reauth import SESSION_KEY
from privacy.models import AuditEntry
from privacy.requests.services.lifecycle import request_create
from tests.customers.factories import CustomerFactory
from tests.factories import api_token_for


@pytest.fixture
def import_job(team_a, marketer_a):
    job = ImportJob.objects.create(
        owner_team=team_a,
        created_by=marketer_a,
        file="imports/report.csv",
        original_filename="report.csv",
        status=ImportStatus.SUCCEEDED,
    )
    customer = CustomerFactory(owner_team=team_a)
    ImportRow.objects.create(job=job, line_number=2, outcome=RowOutcome.CREATED, customer=customer)
    ImportRow.objects.create(
        job=job, line_number=3, outcome=RowOutcome.REJECTED, reason="=HYPERLINK(1)"
    )
    return job


@pytest.fixture
def request_handler(make_user, team_a):
    """Works data-subject requests of team A, and may not export personal data."""
    group, _created = Group.objects.get_or_create(name="Request handlers")
    group.permissions.set(
        Permission.objects.filter(
            content_type__app_label="privacy",
            codename__in=["view_datasubjectrequest", "change_datasubjectrequest"],
        )
    )
    user = make_user(None, team_a)
    user.groups.add(group)
    return user


@pytest.fixture
def data_request(team_a):
    customer = CustomerFactory(owner_team=team_a)
    return request_create(
        team=team_a, kind="access", channel="email", actor=None, customer_ids=[customer.pk]
    )


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
    return client


def downloads() -> list[str]:
    return list(
        AuditEntry.objects.filter(
            action__in=["import.report_download", "request.package_download"]
        ).values_list("action", flat=True)
    )


@pytest.mark.parametrize("role", [roles.MARKETER, roles.ANALYST])
def test_the_row_report_is_not_found_in_the_staff_ui_without_the_export_permission(
    verified_client, make_user, team_a, import_job, role
):
    # Given a marketer or analyst of the import's team (both may follow its progress)
    client = verified_client(make_user(role, team_a))
    assert client.get(f"/customers/imports/{import_job.pk}/").status_code == 200

    # When they ask for its row report
    response = client.get(f"/customers/imports/{import_job.pk}/report.csv")

    # Then it does not exist for them, no download is audited, and the refusal is
    assert response.status_code == 404
    assert downloads() == []
    assert AuditEntry.objects.filter(action="access.denied").count() == 1


@pytest.mark.parametrize("role", [roles.MARKETER, roles.ANALYST])
def test_the_row_report_is_refused_by_the_api_without_the_export_permission(
    make_user, team_a, import_job, role
):
    response = token_client(make_user(role, team_a)).get(f"/api/v1/imports/{import_job.pk}/report/")
    assert response.status_code == 403
    assert downloads() == []
    assert AuditEntry.objects.filter(action="access.denied").count() == 1


def test_the_row_report_is_streamed_formula_safe_and_audited_for_a_steward(
    verified_client, steward, import_job
):
    # When team A's data steward downloads the row report
    response = verified_client(steward).get(f"/customers/imports/{import_job.pk}/report.csv")

    # Then it is streamed, not cached, formula-safe, and audited with its row count
    assert (response.status_code, response["Cache-Control"]) == (200, "no-store")
    text = b"".join(response.streaming_content).decode("utf-8")
    customer_id = ImportRow.objects.get(line_number=2).customer_id
    assert text.removeprefix("\ufeff").splitlines() == [
        "line,outcome,warnings,reason,customer",
        f"2,created,,,{customer_id}",
        "3,rejected,,'=HYPERLINK(1),",
    ]
    entry = AuditEntry.objects.get(action="import.report_download")
    assert (entry.actor, entry.object_id, entry.metadata) == (
        steward,
        str(import_job.pk),
        {"row_count": 2},
    )


def test_a_stale_browser_session_gets_no_row_report_through_the_api(
    verified_client, steward, import_job
):
    client = verified_client(steward)
    session = client.session
    session[SESSION_KEY] = 0
    session.save()
    response = client.get(f"/api/v1/imports/{import_job.pk}/report/")
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "reauthentication_required"
    assert downloads() == []


def test_the_access_package_needs_the_export_permission_in_the_staff_ui(
    verified_client, request_handler, data_request
):
    # Given someone who may work the team's requests, but not export personal data
    client = verified_client(request_handler)
    assert client.get(f"/privacy/requests/{data_request.pk}/").status_code == 200

    # When they ask for the request's package
    response = client.get(f"/privacy/requests/{data_request.pk}/package.zip")

    # Then it does not exist for them
    assert response.status_code == 404
    assert not AuditEntry.objects.filter(action__startswith="request.package_download").exists()


def test_the_access_package_needs_the_export_permission_in_the_api(request_handler, data_request):
    response = token_client(request_handler).get(
        f"/api/v1/privacy/requests/{data_request.pk}/download/"
    )
    assert response.status_code == 403
    assert not AuditEntry.objects.filter(action__startswith="request.package_download").exists()
