"""Every list of the API refuses a query parameter it does not know (a 400 naming it).

The endpoints come from the API's router, so a list added later is covered without a change
here.
"""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from config.api_urls import router
from customers.filters import CustomerFilter
from tests.factories import api_token_for

LIST_ROUTES = sorted(
    f"{basename}-list"
    for _prefix, viewset, basename in router.registry
    if "list" in {name for route in router.get_routes(viewset) for name in route.mapping.values()}
)


@pytest.fixture
def api(make_user, team_a):
    client = APIClient()
    superuser = make_user(None, team_a, is_superuser=True, is_staff=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(superuser)}")
    return client


def test_the_router_has_the_lists_this_test_is_about():
    assert {"customer-list", "import-list", "audit-log-list", "api-token-list"} <= set(LIST_ROUTES)


@pytest.mark.parametrize("route", LIST_ROUTES)
@pytest.mark.parametrize("parameter", ["external_id", "attributes__income", "q", "no_such_filter"])
def test_an_unknown_query_parameter_is_a_400_naming_it(api, route, parameter):
    response = api.get(reverse(f"api:{route}"), {parameter: "42"})

    assert response.status_code == 400, response.content
    assert response.json()["errors"] == [
        {"field": parameter, "message": "Unknown query parameter.", "code": "invalid"}
    ]


@pytest.mark.parametrize("route", LIST_ROUTES)
def test_pagination_ordering_and_format_are_known_to_every_list(api, route):
    response = api.get(
        reverse(f"api:{route}"), {"page_size": "5", "ordering": "", "format": "json"}
    )

    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("route", "query"),
    [
        ("customer-list", {"country": "DE", "tag": "vip", "team": ""}),
        ("event-list", {"occurred_after": "2026-01-01T00:00:00Z"}),
        ("audit-log-list", {"action": "customer.", "occurred_before": "2030-01-01T00:00:00Z"}),
    ],
    ids=["customers", "events", "audit-log"],
)
def test_a_lists_own_filters_are_accepted(api, route, query):
    assert api.get(reverse(f"api:{route}"), query).status_code == 200


def test_dynamic_parameters_pass_where_the_filterset_declares_their_prefix(api, monkeypatch):
    # Given a prefix the customer filters do not declare, then do
    undeclared = api.get(reverse("api:customer-list"), {"probe.income": "1"})
    monkeypatch.setattr(CustomerFilter, "dynamic_param_prefixes", ("probe.",))

    # Then a parameter under it is refused before and accepted after; others still refused
    assert undeclared.status_code == 400
    assert api.get(reverse("api:customer-list"), {"probe.income": "1"}).status_code == 200
    assert api.get(reverse("api:customer-list"), {"probeincome": "1"}).status_code == 400
