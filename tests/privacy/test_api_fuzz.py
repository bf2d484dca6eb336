"""Schemathesis against the live WSGI application: every check, for a Marketer and a steward.

The schema is read from ``/api/schema/`` as a client would, and every operation in it is sent
generated requests, valid and invalid ones (``mode = "all"``), a bounded number of them
(``max-examples``), in the same order on every run (``deterministic``), without shrinking a
failure, so the run stays short enough for CI. Each request is sent twice:

- with the token of a Marketer, and of a data steward, of team A (both teams hold customers,
  events, purchases, consent events, a privacy notice, data-subject requests and an import):
  the answer must pass all of schemathesis' checks (no server error; status code, content type,
  headers and body as the schema documents them; schema-valid input accepted and invalid input
  refused; the credentials enforced) and carry ``Cache-Control: no-store``;
- without any credentials: every operation must answer 401.

A schema-valid request can still be refused with a 400 where the API checks something the
schema cannot say (``DOMAIN_RULES``), and the batch endpoints answer 200 with a result per
item, rejected items included (``PER_ITEM_RESULTS``); those checks are relaxed for exactly
those operations.
"""

import pytest
import schemathesis
from django.core import signals
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.urls import Resolver404, resolve
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from schemathesis.core.failures import Failure

from customers.services.imports import import_job_create
from privacy.consent.services.notices import notice_publish
from privacy.consent.services.records import consent_record
from privacy.core import roles
from privacy.models import ConsentStatus, VerificationMethod
from privacy.requests.services.lifecycle import request_create, request_reject, request_verify
from tests.customers.factories import CustomerFactory, EventFactory, PurchaseFactory
from tests.factories import api_token_for

MAX_EXAMPLES = 15

# A schema-valid request refused (400) by a rule of the domain, by operation id.
DOMAIN_RULES = {
    # A search needs a term; an email or phone must be a real address or number (libphonenumber,
    # not a pattern).
    "customers_search_create": "at least one term; emails and phones are normalised",
    "customers_create": "an item needs an identifier; emails and phones are normalised",
    "imports_create": "the file must be CSV text with an identifier column",
    "imports_retry_create": "only an import waiting or failed, with its file",
    "imports_cancel_create": "only an import waiting or failed",
    "consents_create": "the purpose and the notice must exist; the customer must be the team's",
    "privacy_notices_create": "a version and a text that are not blank; a version never changes",
    "privacy_requests_create": "the person's email or phone, or their customer number",
}
# Batch endpoints: 200 with one result per item, an invalid item rejected in its result.
PER_ITEM_RESULTS = ["events_create", "purchases_create", "customers_upsert_create"]

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
            # A NUL character is refused anywhere in a request, free-form keys and objects
            # included, which OpenAPI 3.0 cannot declare; tests/privacy/test_null_characters.py
            # sends one to every door instead.
            "allow-x00": False,
        },
        # The coverage phase sends hundreds of boundary cases per operation; fuzzing with a
        # fixed budget keeps the run bounded.
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
        "operations": [
            {
                "include-operation-id": list(DOMAIN_RULES),
                "checks": {
                    "positive_data_acceptance": {
                        "expected-statuses": ["2xx", "400", "401", "403", "404", "429"]
                    }
                },
            },
            {
                "include-operation-id": PER_ITEM_RESULTS,
                "checks": {"negative_data_rejection": {"expected-statuses": ["2xx", "4xx"]}},
            },
        ],
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


def team_data(team, staff, notice) -> None:
    """One of everything the API lists, with optional fields both set and left empty."""
    customer = CustomerFactory(owner_team=team)
    CustomerFactory(owner_team=team, phone=None, gender="female", identities=False)
    EventFactory(customer=customer)
    PurchaseFactory(customer=customer)
    consent_record(
        customer=customer,
        purpose_code="email_marketing",
        channel="email",
        status=ConsentStatus.GRANTED,
        source="form",
        actor=staff,
        evidence={"ip_address": "203.0.113.7", "form": "signup"},
        notice=notice,
    )
    consent_record(
        customer=customer,
        purpose_code="sms_marketing",
        channel="sms",
        status=ConsentStatus.DENIED,
        source="api",
    )
    request_create(
        team=team, kind="access", channel="phone", actor=staff, subject_phone="+4915123456789"
    )
    refused = request_create(
        team=team,
        kind="erasure",
        channel="email",
        actor=staff,
        subject_email=customer.email,
        details="Please delete me.",
    )
    request_verify(subject_request=refused, method=VerificationMethod.ACCOUNT_SIGN_IN, actor=staff)
    request_reject(subject_request=refused, reason="Not the account holder.", actor=staff)
    import_job_create(
        user=staff,
        team=team,
        upload=SimpleUploadedFile("people.csv", b"email,name\nann@example.com,Ann\n"),
    )


@pytest.fixture(params=[roles.MARKETER, roles.DATA_STEWARD], ids=["marketer", "steward"])
def token(request, make_user, team_a, team_b, steward, django_capture_on_commit_callbacks):
    """A token of a user of team A in the role; both teams hold one of everything."""
    notice = notice_publish(version="2026-01", language="en", text="We use…", actor=steward)
    with django_capture_on_commit_callbacks(execute=False):
        for team in (team_a, team_b):
            team_data(team, make_user(roles.DATA_STEWARD, team), notice)
    return api_token_for(make_user(request.param, team_a))


def cache_control_no_store(ctx, response, case) -> None:
    """Every API answer may hold personal data: no browser or proxy may keep a copy."""
    values = response.headers.get("cache-control", [])
    if not any("no-store" in value for value in values):
        raise Failure(
            operation=case.operation.label,
            title="No Cache-Control: no-store",
            message=f"Cache-Control: {values or 'missing'}",
        )


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
def test_api_answers_as_its_schema_documents(case, token):
    # When a user of team A sends the generated request
    # Then the answer passes every check and may not be stored
    case.call_and_validate(
        headers={"Authorization": f"Token {token}"},
        additional_checks=[cache_control_no_store],
    )

    # And the same request without credentials is refused as unauthenticated (a path that
    # reaches no view, such as /customers/1.5/, is a 404 for everyone)
    anonymous = case.call()
    case.validate_response(anonymous, additional_checks=[cache_control_no_store])
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
