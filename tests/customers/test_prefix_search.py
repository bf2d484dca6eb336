"""Search by the start of a name word or of an email's local part, through keyed tokens."""

import pytest
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from customers.models import Customer
from customers.selectors import customers_search
from customers.services.customers import customer_update, customers_upsert_items
from customers.services.merge import customer_merge
from customers.services.reindex import customers_reindex


def _upsert(team, **item) -> Customer:
    [result] = customers_upsert_items(actor=None, team=team, items=[item])
    return Customer.objects.get(pk=result.customer_id)


@pytest.fixture
def people(team_a):
    return {
        "vinzenz": _upsert(
            team_a, given_name="Vinzenz", family_name="Huber", email="v.huber@example.com"
        ),
        "ann": _upsert(team_a, given_name="Zoe", family_name="Park", email="ann@example.com"),
        "vincent": _upsert(
            team_a, given_name="Vincent", family_name="Hubbard", email="vh@example.com"
        ),
    }


def _found(people, **terms) -> set[str]:
    names = {customer.pk: name for name, customer in people.items()}
    return {
        names[pk]
        for pk in customers_search(Customer.objects.all(), **terms).values_list("pk", flat=True)
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Vinz", {"vinzenz"}, id="partial-given-name"),
        pytest.param("vinzenz", {"vinzenz"}, id="whole-given-name"),
        pytest.param("Vin", {"vinzenz", "vincent"}, id="three-letters"),
        pytest.param("hubb", {"vincent"}, id="partial-family-name"),
        pytest.param("Vin Hub", {"vinzenz", "vincent"}, id="two-partial-words"),
        pytest.param("Vinz Hubb", set(), id="words-of-different-people"),
        pytest.param("ann", {"ann"}, id="email-prefix"),
        pytest.param("v.hu", {"vinzenz"}, id="email-prefix-with-a-dot"),
        pytest.param("Vi", set(), id="two-letters-are-whole-words-only"),
        pytest.param("Vinzenzo", set(), id="longer-than-the-name"),
    ],
)
def test_name_search_matches_prefixes(people, text, expected):
    assert _found(people, name=text) == expected


def test_no_plaintext_of_names_or_emails_in_the_database(people):
    # Given customers searchable by prefix, when every column of their rows is read as text
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(customer)::text FROM customers_customer customer")
        rows = " ".join(row[0] for row in cursor.fetchall()).casefold()
    # Then neither a name, nor a prefix of it, nor an email's local part is stored in clear
    for text in ("vinz", "huber", "hubb", "ann@", "v.hu", "zoe"):
        assert text not in rows
    assert all(len(token) == 32 for token in people["vinzenz"].search_prefixes)


def test_an_edited_name_is_found_by_its_new_prefix(people, steward):
    # When staff correct Vinzenz's given name
    customer_update(actor=steward, customer=people["vinzenz"], changes={"given_name": "Valentin"})
    # Then the new name's prefix finds him, the old one no longer
    assert _found(people, name="Valen") == {"vinzenz"}
    assert _found(people, name="Vinz") == set()


def test_a_merged_profile_is_found_by_both_names(people, team_a):
    survivor, merged = people["vinzenz"], people["ann"]
    customer_merge(survivor=survivor, merged=merged, actor=None, reason="staff")
    assert _found({"vinzenz": survivor}, name="Zo") == set()  # two letters: whole words only
    assert _found({"vinzenz": survivor}, name="Vinz") == {"vinzenz"}
    assert Customer.objects.filter(
        pk=survivor.pk, search_prefixes__contains=merged.search_prefixes
    ).exists()


def test_reindex_rebuilds_prefixes_under_a_new_key(people):
    # Given prefixes missing (stored before they existed) and a new index key
    Customer.objects.update(search_prefixes=[])
    with override_settings(BLIND_INDEX_KEY="a-new-blind-index-key-for-this-test-0123456789"):
        assert _found(people, name="Vinz") == set()
        # When the customers are re-indexed
        customers_reindex(batch_size=2)
        # Then partial names and email prefixes are found again under the new key
        assert _found(people, name="Vinz") == {"vinzenz"}
        assert _found(people, name="ann") == {"ann"}


def test_the_posted_list_search_finds_by_prefix(verified_client, marketer_a, people):
    response = verified_client(marketer_a).post(reverse("customers-home"), {"q": "Vinz"})
    assert response.status_code == 200
    assert [customer.pk for customer, _contact in response.context["rows"]] == [
        people["vinzenz"].pk
    ]
