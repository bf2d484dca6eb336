"""Failed authorisations and sign-in events in the audit log (privacy/core/refusals.py)."""

import json

import pytest
from django.conf import settings

from customers.models import Customer
from privacy.core import roles
from privacy.models import AuditEntry
from tests.conftest import totp_now
from tests.customers.factories import CustomerFactory
from tests.factories import TEST_PASSWORD, TOTPDeviceFactory, api_token_for


@pytest.fixture
def own_customer(team_a):
    return CustomerFactory(owner_team=team_a, given_name="Ann")


@pytest.fixture
def other_customer(team_b):
    return CustomerFactory(owner_team=team_b, given_name="Bob", family_name="Other")


@pytest.fixture
def analyst_a(make_user, team_a):
    return make_user(roles.ANALYST, team_a)


def denials() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action="access.denied").order_by("pk"))


def token_header(user) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Token {api_token_for(user)}"}


# --- The staff UI ---------------------------------------------------------------------------------


def test_another_teams_customer_is_not_found_and_the_refusal_is_audited(
    verified_client, marketer_a, other_customer
):
    # Given a marketer of team A
    client = verified_client(marketer_a)

    # When she opens a customer of team B, with a search in the address
    response = client.get(f"/customers/{other_customer.pk}/?email=bob@example.com")

    # Then she gets the same 404 as for a missing customer
    assert response.status_code == 404
    # ...and the refusal is audited with the route, never the address or a value
    [entry] = denials()
    assert (entry.actor, entry.object_type, entry.object_id) == (
        marketer_a,
        "customers.customer",
        str(other_customer.pk),
    )
    assert entry.metadata == {
        "method": "GET",
        "route": "customer-detail",
        "status": 404,
        "reason": "out_of_scope",
    }
    assert "bob@example.com" not in json.dumps(entry.metadata)


def test_a_customer_that_does_not_exist_is_not_a_refusal(verified_client, marketer_a):
    client = verified_client(marketer_a)
    assert client.get("/customers/987654321/").status_code == 404
    assert client.get("/customers/imports/987654321/").status_code == 404
    assert denials() == []


def test_a_page_the_role_does_not_include_is_audited_as_a_permission_refusal(
    verified_client, marketer_a
):
    # When a marketer opens the audit log
    response = verified_client(marketer_a).get("/privacy/audit/")

    # Then 404, audited as a missing permission (no object)
    assert response.status_code == 404
    [entry] = denials()
    assert (entry.actor, entry.object_type, entry.object_id) == (marketer_a, "", "")
    assert entry.metadata == {
        "method": "GET",
        "route": "audit-list",
        "status": 404,
        "reason": "permission",
    }


def test_a_refused_change_changes_nothing(verified_client, marketer_a, other_customer):
    # When a marketer posts an erasure and a merge of team B's customer
    client = verified_client(marketer_a)
    erase = client.post(f"/customers/{other_customer.pk}/erase/")
    merge = client.post(f"/customers/{other_customer.pk}/merge/", {"other": other_customer.pk})

    # Then both are refused and audited, and the customer is untouched
    assert (erase.status_code, merge.status_code) == (404, 404)
    assert [entry.metadata["route"] for entry in denials()] == [
        "customer-erase",
        "customer-merge",
    ]
    assert Customer.objects.get(pk=other_customer.pk).given_name == "Bob"
    assert not AuditEntry.objects.filter(action__in=["subject.erase", "customer.merge"]).exists()


@pytest.mark.parametrize("path", ["/", "/customers/", "/privacy/audit/", "/admin/"])
def test_anonymous_visitors_sent_to_sign_in_are_not_audited(client, path):
    response = client.get(path)
    assert response["Location"].startswith("/accounts/login/")
    assert not AuditEntry.objects.exists()


# --- The admin ------------------------------------------------------------------------------------


def test_admin_permission_refusals_are_audited(verified_client, marketer_a):
    # When a marketer opens the user list in the admin
    response = verified_client(marketer_a).get("/admin/auth/user/")

    # Then 403, audited
    assert response.status_code == 403
    [entry] = denials()
    assert entry.actor == marketer_a
    assert entry.metadata == {
        "method": "GET",
        "route": "admin:auth_user_changelist",
        "status": 403,
        "reason": "permission",
    }


def test_admin_another_teams_object_is_audited_and_a_missing_one_is_not(
    verified_client, marketer_a, other_customer
):
    client = verified_client(marketer_a)

    # When a marketer opens team B's customer in the admin, then a missing one
    refused = client.get(f"/admin/customers/customer/{other_customer.pk}/change/")
    missing = client.get("/admin/customers/customer/987654321/change/")

    # Then both get the admin's "does not exist"; only the first is a refusal
    assert refused["Location"] == missing["Location"] == "/admin/"
    [entry] = denials()
    assert (entry.object_type, entry.object_id) == ("customers.customer", str(other_customer.pk))
    assert entry.metadata == {
        "method": "GET",
        "route": "admin:customers_customer_change",
        "status": 302,
        "reason": "out_of_scope",
    }


def test_admin_post_to_another_teams_object_changes_nothing(
    verified_client, marketer_a, other_customer
):
    client = verified_client(marketer_a)
    response = client.post(
        f"/admin/customers/customer/{other_customer.pk}/change/", {"given_name": "Changed"}
    )
    assert response["Location"] == "/admin/"
    assert Customer.objects.get(pk=other_customer.pk).given_name == "Bob"
    assert [entry.metadata["method"] for entry in denials()] == ["POST"]


def test_admin_sign_in_goes_through_the_audited_staff_sign_in(client, steward):
    # Given a steward with an authenticator, not signed in
    device = TOTPDeviceFactory(user=steward)

    # When she opens the admin's sign-in page, she is sent to the staff sign-in
    assert client.get("/admin/login/?next=/admin/")["Location"].startswith("/accounts/login/")

    # When she signs in there, bound for the admin
    client.post(
        "/accounts/login/?next=/admin/",
        {"username": steward.username, "password": TEST_PASSWORD, "next": "/admin/"},
    )
    response = client.post("/accounts/mfa/", {"token": totp_now(device), "next": "/admin/"})

    # Then she reaches the admin, and both steps are audited as any staff sign-in
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    actions = list(AuditEntry.objects.order_by("pk").values_list("action", flat=True))
    assert actions == ["auth.password_ok", "auth.mfa_ok"]


def test_the_admin_sign_in_form_signs_nobody_in(verified_client, steward, make_user, team_a):
    # Given a signed-in steward, and another staff member's password
    other = make_user(roles.ADMINISTRATOR, team_a, is_superuser=True)
    client = verified_client(steward)

    # When the admin's sign-in form is posted with the other credentials
    response = client.post("/admin/login/", {"username": other.username, "password": TEST_PASSWORD})

    # Then it leads to the staff sign-in, unaudited sign-in never happens, the user is unchanged
    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2F"
    assert client.session["_auth_user_id"] == str(steward.pk)
    assert not AuditEntry.objects.filter(actor=other).exists()


def test_admin_sign_out_is_audited(verified_client, steward):
    client = verified_client(steward)
    response = client.post("/admin/logout/")
    assert response["Location"] == "/accounts/login/"
    assert AuditEntry.objects.filter(action="auth.logout", actor=steward).count() == 1
    assert client.get("/")["Location"].startswith("/accounts/login/")


# --- The API --------------------------------------------------------------------------------------


def test_a_bad_token_is_audited_without_the_token(client):
    # When a caller presents a token that does not exist
    response = client.get("/api/v1/customers/", HTTP_AUTHORIZATION="Token " + "f" * 40)

    # Then 401, audited without an actor and without the token
    assert response.status_code == 401
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.actor_label) == ("auth.token_failed", None, "")
    assert entry.metadata == {
        "method": "GET",
        "route": "api:customer-list",
        "status": 401,
        "reason": "authentication_failed",
    }
    assert "f" * 40 not in json.dumps(entry.metadata)


def test_an_unusable_authorization_header_is_audited(client):
    response = client.get("/api/v1/customers/", HTTP_AUTHORIZATION="Bearer abc")
    assert response.status_code == 401
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.metadata["reason"]) == ("auth.token_failed", "not_authenticated")


def test_an_api_call_without_credentials_is_not_audited(client):
    assert client.get("/api/v1/customers/").status_code == 401
    assert not AuditEntry.objects.exists()


def test_api_another_teams_customer_is_audited_and_a_missing_one_is_not(
    client, marketer_a, other_customer
):
    headers = token_header(marketer_a)

    # When a marketer's token asks for team B's customer, changes it, and asks for a missing one
    refused = client.get(f"/api/v1/customers/{other_customer.pk}/", **headers)
    changed = client.patch(
        f"/api/v1/customers/{other_customer.pk}/",
        {"given_name": "Changed"},
        content_type="application/json",
        **headers,
    )
    missing = client.get("/api/v1/customers/987654321/", **headers)

    # Then all three are 404; the first two are audited as refusals, and nothing changed
    assert (refused.status_code, changed.status_code, missing.status_code) == (404, 404, 404)
    assert [
        (entry.actor, entry.object_id, entry.metadata["method"], entry.metadata["route"])
        for entry in denials()
    ] == [
        (marketer_a, str(other_customer.pk), "GET", "api:customer-detail"),
        (marketer_a, str(other_customer.pk), "PATCH", "api:customer-detail"),
    ]
    assert Customer.objects.get(pk=other_customer.pk).given_name == "Bob"


def test_api_permission_refusal_is_audited_and_creates_nothing(client, analyst_a, team_a):
    # When an analyst (read-only) posts a customer
    response = client.post(
        "/api/v1/customers/",
        {"owner_team": team_a.pk, "email": "new@example.com"},
        content_type="application/json",
        **token_header(analyst_a),
    )

    # Then 403, audited, and no customer was created
    assert response.status_code == 403
    [entry] = denials()
    assert entry.actor == analyst_a
    assert entry.metadata == {
        "method": "POST",
        "route": "api:customer-list",
        "status": 403,
        "reason": "permission",
    }
    assert not Customer.objects.exists()


def test_api_own_customer_is_served_without_a_denial(client, marketer_a, own_customer):
    response = client.get(f"/api/v1/customers/{own_customer.pk}/", **token_header(marketer_a))
    assert response.status_code == 200
    assert denials() == []


# --- Lockouts -------------------------------------------------------------------------------------


def test_a_lockout_is_audited_with_the_account_as_its_object(client, steward):
    # When the password of a steward is guessed wrong until the lockout
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": steward.username, "password": "guess"})

    # Then the lockout is audited, naming the account (not as the one who acted)
    entry = AuditEntry.objects.get(action="auth.locked_out")
    assert (entry.actor, entry.object_type, entry.object_id) == (
        None,
        "auth.user",
        str(steward.pk),
    )
    assert entry.metadata == {"known_user": True, "route": "login"}


def test_a_lockout_of_an_unknown_name_does_not_store_the_name(client):
    typed = "ann@example.com"
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": typed, "password": "guess"})
    entry = AuditEntry.objects.get(action="auth.locked_out")
    assert (entry.object_type, entry.object_id) == ("", "")
    assert entry.metadata == {"known_user": False, "route": "login"}
    assert typed not in entry.actor_label + json.dumps(entry.metadata)


def test_a_flood_of_bad_tokens_from_one_address_is_recorded_up_to_a_limit(client):
    import time

    from privacy.core.refusals import TOKEN_FAILURES_RECORDED_PER_MINUTE as LIMIT

    address = "198.51.100.23"  # an address no other test uses
    minute = int(time.time() // 60)
    for _attempt in range(LIMIT + 10):
        response = client.get(
            "/api/v1/customers/", HTTP_AUTHORIZATION="Token " + "e" * 40, REMOTE_ADDR=address
        )
        assert response.status_code == 401

    actions = list(AuditEntry.objects.values_list("action", flat=True))
    if int(time.time() // 60) == minute:
        assert (actions.count("auth.token_failed"), actions.count("auth.token_failed_flood")) == (
            LIMIT,
            1,
        )
    else:  # the loop ran across a minute boundary: two windows, each within the limit
        assert actions.count("auth.token_failed") <= 2 * LIMIT
    assert set(actions) <= {"auth.token_failed", "auth.token_failed_flood"}


def test_merging_in_another_teams_customer_is_audited_as_a_refusal(
    verified_client, marketer_a, own_customer, other_customer
):
    client = verified_client(marketer_a)

    response = client.post(f"/customers/{own_customer.pk}/merge/", {"other": other_customer.pk})
    missing = client.post(f"/customers/{own_customer.pk}/merge/", {"other": 987654321})

    assert (response.status_code, missing.status_code) == (302, 302)
    [entry] = AuditEntry.objects.filter(action="access.denied")
    assert (entry.object_type, entry.object_id) == ("customers.customer", str(other_customer.pk))
    assert entry.metadata["reason"] == "out_of_scope"
    assert Customer.objects.filter(pk=other_customer.pk, merged_into__isnull=True).exists()
