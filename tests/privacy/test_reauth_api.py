"""A browser session calling the API needs the same recent re-authentication as the staff UI
before an erasure or an export; an API token does not."""

import pytest
from rest_framework.test import APIClient

from customers.models import Customer
from privacy.core import roles
from privacy.core.reauth import SESSION_KEY
from tests.customers.factories import CustomerFactory
from tests.factories import api_token_for


@pytest.fixture
def administrator(make_user, team_a):
    return make_user(roles.ADMINISTRATOR, team_a)


def make_stale(client) -> None:
    session = client.session
    session[SESSION_KEY] = 0
    session.save()


def test_a_stale_session_cannot_erase_through_the_api(administrator, team_a, verified_client):
    customer = CustomerFactory(owner_team=team_a)
    client = verified_client(administrator)
    make_stale(client)

    response = client.delete(f"/api/v1/customers/{customer.pk}/")

    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "reauthentication_required"
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_a_fresh_session_erases_through_the_api(administrator, team_a, verified_client):
    customer = CustomerFactory(owner_team=team_a)
    client = verified_client(administrator)  # signing in with the code is a fresh proof

    assert client.delete(f"/api/v1/customers/{customer.pk}/").status_code == 204
    assert not Customer.objects.filter(pk=customer.pk).exists()


def test_a_token_is_not_asked_to_re_authenticate(administrator, team_a):
    customer = CustomerFactory(owner_team=team_a)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(administrator)}")
    assert client.delete(f"/api/v1/customers/{customer.pk}/").status_code == 204
