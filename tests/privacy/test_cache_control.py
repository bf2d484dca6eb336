"""Answers that may hold personal data carry ``Cache-Control: no-store``: every API answer,
staff pages, the admin and downloads (privacy.core.security_headers)."""

import pytest
from rest_framework.test import APIClient

from customers.models import ImportJob, ImportStatus
from privacy.requests.services.lifecycle import request_create
from tests.customers.factories import CustomerFactory
from tests.factories import api_token_for


def assert_not_stored(response) -> None:
    assert "no-store" in response.get("Cache-Control", ""), (
        response.status_code,
        response.get("Cache-Control"),
    )


@pytest.fixture
def ann(team_a):
    return CustomerFactory(owner_team=team_a, email="ann@example.com", given_name="Ann")


@pytest.fixture
def import_job(team_a, steward):
    return ImportJob.objects.create(
        owner_team=team_a,
        created_by=steward,
        file="imports/cache.csv",
        original_filename="cache.csv",
        status=ImportStatus.SUCCEEDED,
    )


@pytest.fixture
def api(steward):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(steward)}")
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/customers/",
        "/api/v1/customers/{ann}/",
        "/api/v1/customers/{ann}/timeline/",
        "/api/v1/customers/?page_size=0",  # 400
        "/api/v1/customers/999999999/",  # 404
        "/api/v1/no-such-endpoint/",  # 404 of no view
        "/api/v1/imports/{job}/report/",
        "/api/v1/audit-log/",
        "/api/v1/consents/",
    ],
)
def test_every_api_answer_is_not_stored(api, ann, import_job, path):
    response = api.get(path.format(ann=ann.pk, job=import_job.pk))
    assert_not_stored(response)


def test_an_unauthenticated_api_answer_is_not_stored(db):
    response = APIClient().get("/api/v1/customers/")
    assert response.status_code == 401
    assert_not_stored(response)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/customers/",
        "/customers/{ann}/",
        "/customers/export/",
        "/customers/imports/{job}/report.csv",
        "/privacy/requests/{request}/",
        "/privacy/audit/",
        "/privacy/audit/export/",
        "/admin/customers/customer/{ann}/change/",
    ],
)
def test_staff_pages_and_downloads_are_not_stored(
    verified_client, steward, team_a, ann, import_job, path
):
    data_request = request_create(
        team=team_a, kind="access", channel="email", actor=steward, subject_email=ann.email
    )
    client = verified_client(steward)

    response = client.get(path.format(ann=ann.pk, job=import_job.pk, request=data_request.pk))

    assert response.status_code == 200, path
    assert_not_stored(response)


def test_a_view_that_sets_its_own_caching_keeps_it(client, db):
    # Django's never_cache on the sign-in page says more than no-store; it is left as it is.
    response = client.get("/accounts/login/")
    assert response["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"
