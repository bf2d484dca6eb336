"""API tokens: hashed at rest, shown once, with expiry, last use and revocation, and the
``Authorization: Token <key>`` contract kept; stock tokens move into them hashed."""

import datetime
from importlib import import_module

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from privacy.core.services.accounts import (
    AccountError,
    AccountRefused,
    api_token_create,
    api_token_revoke,
)
from privacy.models import ApiToken, AuditEntry, api_key_digest

CUSTOMERS = "/api/v1/customers/"


def call(key: str):
    return APIClient(HTTP_AUTHORIZATION=f"Token {key}").get(CUSTOMERS)


def failures() -> list[str]:
    return [
        entry.metadata["reason"] for entry in AuditEntry.objects.filter(action="auth.token_failed")
    ]


def test_a_token_is_shown_once_stored_as_a_digest_and_works(marketer_a):
    # When a token is made
    token, key = api_token_create(actor=None, user=marketer_a, name="Shop")

    # Then the key is in no column, only its digest and first characters are
    stored = ApiToken.objects.filter(pk=token.pk).values().get()
    assert key not in str(stored)
    assert (stored["digest"], stored["prefix"]) == (api_key_digest(key), key[:8])
    # ...and the key authenticates, noting when it was used
    assert call(key).status_code == 200
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_revoked_token_is_refused_and_audited(marketer_a):
    token, key = api_token_create(actor=None, user=marketer_a, name="Shop")

    api_token_revoke(actor=None, token=token)
    response = call(key)

    assert response.status_code == 401
    assert response.json()["detail"] == "This token has been revoked."
    assert failures() == ["token_revoked"]


def test_an_expired_token_is_refused_and_audited(marketer_a):
    token, key = api_token_create(
        actor=None,
        user=marketer_a,
        name="Shop",
        expires_at=timezone.now() + datetime.timedelta(days=1),
    )
    assert call(key).status_code == 200

    # When its expiry has passed
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now())

    response = call(key)
    assert response.status_code == 401
    assert failures() == ["token_expired"]


def test_a_deactivated_accounts_token_is_refused(marketer_a):
    _token, key = api_token_create(actor=None, user=marketer_a, name="Shop")
    marketer_a.is_active = False
    marketer_a.save(update_fields=["is_active"])

    assert call(key).status_code == 401
    assert failures() == ["user_inactive"]


def test_last_use_is_written_once_a_minute_at_the_most(marketer_a):
    token, key = api_token_create(actor=None, user=marketer_a, name="Shop")
    assert call(key).status_code == 200
    token.refresh_from_db()
    first = token.last_used_at

    # When the token is used again at once
    with CaptureQueriesContext(connection) as queries:
        assert call(key).status_code == 200

    # Then nothing is written
    assert not [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    token.refresh_from_db()
    assert token.last_used_at == first

    # When it was last used two minutes ago, one UPDATE notes the new use
    earlier = first - datetime.timedelta(minutes=2)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=earlier)
    with CaptureQueriesContext(connection) as queries:
        assert call(key).status_code == 200
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 1
    assert '"privacy_apitoken"' in updates[0]
    token.refresh_from_db()
    assert token.last_used_at > earlier


def test_a_key_is_found_by_its_digest_not_by_its_prefix(marketer_a):
    _token, key = api_token_create(actor=None, user=marketer_a, name="Shop")

    assert call(key[:8] + "x" * (len(key) - 8)).status_code == 401
    assert call(api_key_digest(key)).status_code == 401
    assert call(key).status_code == 200


def test_an_account_holds_several_tokens(marketer_a):
    keys = [api_token_create(actor=None, user=marketer_a, name=name)[1] for name in "AB"]

    assert [call(key).status_code for key in keys] == [200, 200]


def test_the_service_checks_its_input(marketer_a, make_user, team_b):
    with pytest.raises(AccountError) as blank:
        api_token_create(actor=None, user=marketer_a, name="  ")
    with pytest.raises(AccountError) as past:
        api_token_create(actor=None, user=marketer_a, name="Shop", expires_at=timezone.now())
    with pytest.raises(AccountRefused) as refused:
        api_token_create(actor=marketer_a, user=make_user(None, team_b), name="Shop")

    assert (blank.value.field, past.value.field, refused.value.field) == (
        "name",
        "expires_at",
        "user",
    )
    assert ApiToken.objects.count() == 0
    assert AuditEntry.objects.filter(action="api_token.create_refused").count() == 1


# --- Stock tokens ---------------------------------------------------------------------------------

_migration = import_module("privacy.migrations.0008_api_tokens")


def test_stock_tokens_move_in_hashed_and_their_table_goes(marketer_a):
    # Given the stock token table of an installation, with a key in clear
    key = "0f" * 20
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamptz, "
            "user_id integer)"
        )
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, now(), %s)", [key, marketer_a.pk])
        cursor.execute(
            "INSERT INTO django_migrations (app, name, applied) VALUES ('authtoken', '0001', now())"
        )

    # When the migration moves them
    with connection.schema_editor() as schema_editor:
        _migration.stock_tokens_move(apps, schema_editor)

    # Then the key still works, stored as its digest, and the clear one is gone with its table
    token = ApiToken.objects.get()
    assert (token.user, token.digest, token.prefix) == (marketer_a, api_key_digest(key), key[:8])
    assert "authtoken_token" not in connection.introspection.table_names()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM django_migrations WHERE app = 'authtoken'")
        assert cursor.fetchone() == (0,)
    assert AuditEntry.objects.get(action="api_token.move_stock").metadata == {"count": 1}
    assert call(key).status_code == 200


def test_without_stock_tokens_the_migration_does_nothing(db):
    with connection.schema_editor() as schema_editor:
        _migration.stock_tokens_move(apps, schema_editor)

    assert ApiToken.objects.count() == 0
    assert not AuditEntry.objects.filter(action="api_token.move_stock").exists()
