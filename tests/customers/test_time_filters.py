"""Time filters accept any ISO 8601 offset Python accepts, and refuse what no database can hold."""

import pytest
from rest_framework.test import APIClient

from tests.customers.factories import CustomerFactory, PurchaseFactory
from tests.factories import api_token_for


@pytest.fixture
def api(marketer_a):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(marketer_a)}")
    return client


@pytest.mark.parametrize("resource", ["purchases", "events"])
def test_an_offset_beyond_postgresqls_range_is_converted_to_utc(api, team_a, resource):
    PurchaseFactory(customer=CustomerFactory(owner_team=team_a))
    response = api.get(f"/api/v1/{resource}/", {"occurred_before": "2205-05-22T09:02:57-20:29"})
    assert response.status_code == 200
    assert len(response.json()["results"]) == (1 if resource == "purchases" else 0)


def test_a_time_that_overflows_in_utc_is_a_400_naming_the_filter(api):
    response = api.get("/api/v1/purchases/", {"occurred_after": "0001-01-01T00:10:00+20:29"})
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["occurred_after"]
