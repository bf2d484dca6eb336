"""Contact details are encrypted at rest, bound to their column, and keys rotate."""

import base64
import os
import re

import pytest
from django.core.management import call_command
from django.db import connection

from customers.models import Customer, IdentityKind
from customers.selectors import customers_matching_identifier
from customers.services.customers import customers_upsert_items
from privacy.core import crypto, roles

CIPHERTEXT_VERSION = 1


def _all_columns():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type IN "
            "('text', 'character varying', 'jsonb', 'json', 'bytea', 'ARRAY')"
        )
        return cursor.fetchall()


def _stored_values():
    """Every text, JSON, array and non-ciphertext bytea value of every table, as text."""
    key_ids = set(crypto.keyring()._ciphers)
    with connection.cursor() as cursor:
        for table, column, data_type in _all_columns():
            cursor.execute(f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL')  # noqa: S608
            for (value,) in cursor.fetchall():
                if data_type == "bytea":
                    raw = bytes(value)
                    if raw[:1] == bytes([CIPHERTEXT_VERSION]) and raw[1:5] in key_ids:
                        continue  # our AES-GCM ciphertext: authenticated, not plaintext
                    yield table, column, raw.decode("utf-8", "replace")
                else:
                    yield table, column, str(value)


def test_no_plaintext_email_phone_or_name_anywhere_in_the_database(
    make_user, team_a, messy_csv, messy_truth, run_import
):
    # Given the messy file imported
    run_import(make_user(roles.MARKETER, team_a), team_a, messy_csv)
    needles = set()
    for person in messy_truth["people"]:
        needles.add(person["email"])
        if person["phone_e164"]:
            needles.add(person["phone_e164"])
        given, family = person["first_name"] or "", person["last_name"] or ""
        if given and family:
            needles.update({f"{given} {family}", f"{family} {given}", f"{family}{given}"})
    pattern = re.compile("|".join(re.escape(needle) for needle in sorted(needles, key=len)[::-1]))
    # When every stored value is scanned; Then none holds a person's contact details
    hits = [
        (table, column, match.group())
        for table, column, text in _stored_values()
        for match in [pattern.search(text)]
        if match
    ]
    assert hits == []


def test_a_ciphertext_does_not_decrypt_in_another_column(team_a):
    customer = Customer.objects.create(owner_team=team_a, email="ann@example.com")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE customers_customer SET phone = email WHERE id = %s", [customer.pk])
    with pytest.raises(crypto.DecryptionError):
        Customer.objects.get(pk=customer.pk)


def test_rotate_keys_reencrypts_and_reindexes(settings, make_user, team_a):
    # Given customers stored under the first key and index key
    marketer = make_user(roles.MARKETER, team_a)
    customers_upsert_items(
        actor=marketer,
        team=team_a,
        items=[{"email": "ann@example.com", "given_name": "Ann", "family_name": "Lee"}],
    )
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    new_key = base64.b64encode(os.urandom(32)).decode()

    # When a new key goes first, the index key changes, and rotate_keys runs
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    settings.BLIND_INDEX_KEY = "a brand new index key"
    call_command("rotate_keys", "--batch-size", "1")

    # Then the old key can be dropped and everything still reads and matches
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    customer = Customer.objects.get()
    assert (customer.email, customer.given_name) == ("ann@example.com", "Ann")
    found = customers_matching_identifier(
        Customer.objects.all(), kind=IdentityKind.EMAIL, value="ann@example.com"
    )
    assert list(found) == [customer]
    assert customer.name_index == crypto.name_index("Ann", "Lee")
