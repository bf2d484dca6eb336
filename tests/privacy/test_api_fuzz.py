"""Schemathesis against the live WSGI application: no server error, no authentication bypass.

The schema is read from ``/api/schema/`` as a client would, and every operation in it is sent
generated requests, valid and invalid ones (``mode = "all"``), a bounded number of them
(``max-examples``), in the same order on every run (``deterministic``), without shrinking a
failure, so the run stays short enough for CI. Each request is sent twice:

- with a Marketer's token: no answer may be a 5xx;
- without any credentials: every operation must answer 401.
"""

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.urls import Resolver404, resolve
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error

from tests.customers.factories import CustomerFactory, EventFactory, PurchaseFactory
from tests.factories import api_token_for

MAX_EXAMPLES = 10

CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {
            "mode": "all",
            "max-examples": MAX_EXAMPLES,
            "deterministic": True,
            "no-shrink": True,
            "database": "none",
            # credentials come only from the test: generated ones would blur the 401 check
            "with-security-parameters": False,
        },
        # The coverage phase sends hundreds of boundary cases per operation; fuzzing with a
        # fixed budget keeps the run bounded.
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    }
)


# Read at collection: serving the schema touches no database.
schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler(), config=CONFIG)


@pytest.fixture(autouse=True)
def _application_under_test(db, settings):
    """The application shares the test's database transaction and is not throttled."""
    # Generated requests arrive far faster than any client's: lift the per-token throttle.
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"api_read": "100000/minute", "api_write": "100000/minute"},
    }
    # Django closes the database connection when a request ends; the test's transaction lives
    # on it, so, as Django's test client does, keep it open while the application runs here.
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (signals.request_started, signals.request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def marketer_token(marketer_a, team_a, team_b) -> str:
    """A Marketer of team A, with customers, events and purchases in both teams to find."""
    for team in (team_a, team_b):
        customer = CustomerFactory(owner_team=team)
        EventFactory(customer=customer)
        PurchaseFactory(customer=customer)
    return api_token_for(marketer_a)


@schema.parametrize()
@hypothesis_settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking
    # The data fixtures are made once per operation and shared by its examples on purpose.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_has_no_server_error_and_no_authentication_bypass(case, marketer_token):
    # When a Marketer sends the generated request
    response = case.call(headers={"Authorization": f"Token {marketer_token}"})

    # Then it is answered without a server error
    case.validate_response(response, checks=[not_a_server_error])

    # And the same request without credentials is refused as unauthenticated (a path that
    # reaches no view, such as /customers/1.5/, is a 404 for everyone)
    anonymous = case.call()
    case.validate_response(anonymous, checks=[not_a_server_error])
    expected = 401 if routes_to_a_view(case.formatted_path) else 404
    assert anonymous.status_code == expected, (
        f"{case.method} {case.formatted_path} without credentials: {anonymous.status_code}"
    )


def routes_to_a_view(path: str) -> bool:
    try:
        resolve(path)
    except Resolver404:
        return False
    return True
