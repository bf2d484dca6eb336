"""The customers REST API: scoping, masking, search, batch upsert, correction, merge."""

import pytest
from rest_framework.test import APIClient

from customers.models import Customer, MergeRecord
from customers.services.customers import customers_upsert_items
from privacy.core import roles
from privacy.models import AuditEntry
from tests.factories import api_token_for


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
    return client


@pytest.fixture
def people(marketer_a, team_a, team_b):
    customers_upsert_items(
        actor=marketer_a,
        team=team_a,
        items=[
            {
                "email": "Ann.Lee@Example.com",
                "phone": "+49 151 23456789",
                "given_name": "Ann",
                "family_name": "Lee",
                "country": "DE",
                "tags": ["vip"],
            },
            {"email": "wang@example.cn", "full_name": "王秀华", "country": "CN"},
        ],
    )
    customers_upsert_items(
        actor=marketer_a, team=team_b, items=[{"email": "bob@example.com", "given_name": "Bob"}]
    )
    return {c.email: c for c in Customer.objects.all()}


def test_list_shows_only_the_users_team_with_contacts_masked(marketer_a, people):
    response = token_client(marketer_a).get("/api/v1/customers/")
    assert response.status_code == 200
    rows = response.json()["results"]
    assert sorted(row["email"] for row in rows) == ["a•••@example.com", "w•••@example.cn"]
    assert {row["birth_date"] for row in rows} == {None}


def test_a_chinese_name_is_masked_whole_in_every_part(marketer_a, people):
    # Given 王秀华 (family name 王, given name 秀华) of the marketer's team
    wang = people["wang@example.cn"]

    # When the marketer reads her through the API
    row = token_client(marketer_a).get(f"/api/v1/customers/{wang.pk}/").json()

    # Then no character of her name is shown, in any of its parts
    assert (row["family_name"], row["given_name"], row["display_name"]) == ("•••", "•••", "•••")


def test_stewards_see_contacts_and_viewing_a_profile_is_audited(make_user, team_a, people):
    steward = make_user(roles.DATA_STEWARD, team_a)
    client = token_client(steward)
    ann = people["ann.lee@example.com"]
    detail = client.get(f"/api/v1/customers/{ann.pk}/").json()
    assert (detail["email"], detail["phone"], detail["display_name"]) == (
        "ann.lee@example.com",
        "+4915123456789",
        "Ann Lee",
    )
    entry = AuditEntry.objects.get(action="personal_data.view")
    assert (entry.actor, entry.object_type, entry.object_id) == (
        steward,
        "customers.customer",
        str(ann.pk),
    )
    assert entry.metadata == {"ids": [ann.pk]}


@pytest.mark.parametrize(
    ("terms", "expected"),
    [
        ({"email": "ANN.LEE@example.com"}, ["ann.lee@example.com"]),
        ({"phone": "+4915123456789"}, ["ann.lee@example.com"]),
        ({"phone": "0151 23456789", "country": "DE"}, ["ann.lee@example.com"]),
        ({"name": "lee"}, ["ann.lee@example.com"]),
        ({"name": "王秀华"}, ["wang@example.cn"]),
        ({"name": "lee", "email": "wang@example.cn"}, []),
        ({"email": "bob@example.com"}, []),
    ],
    ids=["email", "e164", "national", "name", "cjk-name", "all-terms-must-match", "other-team"],
)
def test_search_by_exact_identifiers_and_name_words(make_user, team_a, people, terms, expected):
    steward = make_user(roles.DATA_STEWARD, team_a)
    response = token_client(steward).post("/api/v1/customers/search/", terms, format="json")
    assert response.status_code == 200, response.json()
    assert sorted(row["email"] for row in response.json()["results"]) == expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [("tag=VIP", ["ann.lee@example.com"]), ("country=cn", ["wang@example.cn"])],
    ids=["tag", "country"],
)
def test_the_list_filters_by_what_is_no_personal_data(make_user, team_a, people, query, expected):
    steward = make_user(roles.DATA_STEWARD, team_a)
    rows = token_client(steward).get(f"/api/v1/customers/?{query}").json()["results"]
    assert sorted(row["email"] for row in rows) == expected


@pytest.mark.parametrize("name", ["email", "phone", "name"])
def test_the_list_refuses_personal_data_in_its_address_and_points_to_search(
    marketer_a, people, name
):
    response = token_client(marketer_a).get("/api/v1/customers/", {name: "ann.lee@example.com"})

    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert error["field"] == name
    assert "POST /api/v1/customers/search/" in error["message"]


def test_a_customer_with_only_an_external_id_is_found_by_channel_and_id(marketer_a, team_a, team_b):
    # Given customers known only by their CRM id, in two teams, and a shop id equal to one
    customers_upsert_items(
        actor=marketer_a,
        team=team_a,
        items=[
            {"external_ids": [{"channel": "crm", "id": "CR-9"}], "given_name": "Kim"},
            {"external_ids": [{"channel": "shop", "id": "CR-9"}], "given_name": "Lou"},
        ],
    )
    customers_upsert_items(
        actor=marketer_a,
        team=team_b,
        items=[{"external_ids": [{"channel": "crm", "id": "CR-9"}], "given_name": "Max"}],
    )
    kim = Customer.objects.get(owner_team=team_a, identities__channel="crm")

    # When the marketer of team A searches for CRM id CR-9
    response = token_client(marketer_a).post(
        "/api/v1/customers/search/",
        {"external_id": {"channel": " CRM ", "id": "CR-9 "}},
        format="json",
    )

    # Then only her team's CRM customer is found
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [kim.pk]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, ""),
        ({"email": "ann@@example"}, "email"),
        ({"phone": "12"}, "phone"),
        ({"external_id": {"id": "CR-9"}}, "external_id.channel"),
        ({"name": "x" * 201}, "name"),
    ],
    ids=["nothing", "bad-email", "bad-phone", "external-id-without-channel", "long-name"],
)
def test_a_search_that_cannot_run_is_a_400_naming_the_field(marketer_a, people, body, field):
    response = token_client(marketer_a).post("/api/v1/customers/search/", body, format="json")

    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert not AuditEntry.objects.filter(action="customer.search").exists()


def test_search_pages_like_the_list_and_each_page_is_audited(marketer_a, team_a):
    # Given three customers named Ann Lee
    customers_upsert_items(
        actor=marketer_a,
        team=team_a,
        items=[{"email": f"ann{i}@example.com", "full_name": "Ann Lee"} for i in range(3)],
    )
    client = token_client(marketer_a)

    # When the marketer searches two at a time and follows the next address with the same body
    first = client.post("/api/v1/customers/search/?page_size=2", {"name": "Ann"}, format="json")
    second = client.post(first.json()["next"], {"name": "Ann"}, format="json")

    # Then the pages hold the three, and no address holds the name
    rows = first.json()["results"] + second.json()["results"]
    assert len({row["id"] for row in rows}) == 3
    assert second.json()["next"] is None
    assert "Ann" not in first.json()["next"]
    entries = AuditEntry.objects.filter(action="customer.search").order_by("id")
    assert [entry.metadata["terms"] for entry in entries] == [["name"], ["name"]]
    found = [pk for entry in entries for pk in entry.metadata["customer_ids"]]
    assert sorted(found) == sorted(row["id"] for row in rows)
    assert {entry.actor for entry in entries} == {marketer_a}


def test_a_rejected_create_names_the_field_at_fault(marketer_a, team_a):
    response = token_client(marketer_a).post(
        "/api/v1/customers/", {"email": "not an email"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {
        "detail": "Invalid input.",
        "errors": [
            {"field": "", "message": "invalid email and no other identifier", "code": "invalid"}
        ],
    }


def test_list_query_count_does_not_depend_on_page_size(
    marketer_a, team_a, people, django_assert_num_queries
):
    customers_upsert_items(
        actor=marketer_a, team=team_a, items=[{"email": f"p{i}@example.com"} for i in range(30)]
    )
    client = token_client(marketer_a)
    client.get("/api/v1/customers/?page_size=5")  # warm caches
    with django_assert_num_queries(4):
        assert len(client.get("/api/v1/customers/?page_size=5").json()["results"]) == 5
    with django_assert_num_queries(4):
        assert len(client.get("/api/v1/customers/?page_size=30").json()["results"]) == 30


def test_another_teams_customer_is_not_found_and_stays_unchanged(marketer_a, people):
    bob = people["bob@example.com"]
    client = token_client(marketer_a)
    assert client.get(f"/api/v1/customers/{bob.pk}/").status_code == 404
    patch = client.patch(f"/api/v1/customers/{bob.pk}/", {"city": "Oslo"}, format="json")
    assert patch.status_code == 404
    bob.refresh_from_db()
    assert bob.city == ""


def test_batch_upsert_reports_each_item(marketer_a, team_a):
    response = token_client(marketer_a).post(
        "/api/v1/customers/upsert/",
        {
            "items": [
                {"email": "new@example.com", "given_name": "New"},
                {"email": "not an email"},
                {"external_ids": [{"channel": "crm", "id": "CR-9"}], "birth_date": "2091-01-01"},
                {"email": "NEW@example.com", "city": "Lyon"},
            ]
        },
        format="json",
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == ["created", "rejected", "created", "merged"]
    assert results[1]["errors"] == [
        {"field": "", "message": "invalid email and no other identifier"}
    ]
    assert results[2]["warnings"] == [
        {"field": "birth_date", "message": "birth date in the future"}
    ]
    assert results[0]["customer_id"] == results[3]["customer_id"]
    assert Customer.objects.get(pk=results[0]["customer_id"]).city == "Lyon"


def test_upsert_needs_the_team_when_the_user_has_several(make_user, team_a, team_b):
    both = make_user(roles.MARKETER, team_a, team_b)
    response = token_client(both).post(
        "/api/v1/customers/upsert/", {"items": [{"email": "x@example.com"}]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "owner_team"
    assert Customer.objects.count() == 0


def test_corrections_are_normalised_and_bad_values_name_the_field(make_user, team_a, people):
    steward = make_user(roles.DATA_STEWARD, team_a)
    client = token_client(steward)
    ann = people["ann.lee@example.com"]
    bad = client.patch(f"/api/v1/customers/{ann.pk}/", {"email": "nope"}, format="json")
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "email"
    sneaky = client.patch(f"/api/v1/customers/{ann.pk}/", {"owner_team": 999}, format="json")
    assert sneaky.status_code == 400
    assert sneaky.json()["errors"][0]["field"] == "owner_team"
    good = client.patch(
        f"/api/v1/customers/{ann.pk}/", {"phone": "0151 98765432", "city": " Köln "}, format="json"
    )
    assert good.status_code == 200
    ann.refresh_from_db()
    assert (ann.phone, ann.city, ann.owner_team_id) == ("+4915198765432", "Köln", team_a.pk)
    entry = AuditEntry.objects.filter(action="customer.update").latest("id")
    assert entry.metadata == {"fields": ["phone", "city"]}


def test_a_marketer_cannot_correct_what_she_may_not_see(marketer_a, people):
    # Given a marketer and a customer of her team
    client = token_client(marketer_a)
    ann = people["ann.lee@example.com"]

    # When she sends a new birth date and email with a city
    response = client.patch(
        f"/api/v1/customers/{ann.pk}/",
        {"birth_date": "1990-01-01", "email": "other@example.com", "city": "Oslo"},
        format="json",
    )

    # Then the masked fields are refused by name, and nothing changes
    assert response.status_code == 400
    assert sorted(error["field"] for error in response.json()["errors"]) == [
        "birth_date",
        "email",
    ]
    ann.refresh_from_db()
    assert (ann.birth_date, ann.email, ann.city) == (None, "ann.lee@example.com", "")
    assert not AuditEntry.objects.filter(action="customer.update").exists()

    # And what she may see she may still correct
    assert client.patch(f"/api/v1/customers/{ann.pk}/", {"city": "Oslo"}).status_code == 200


def test_merge_through_the_api_and_its_limits(marketer_a, team_a, people):
    client = token_client(marketer_a)
    ann, wang, bob = (
        people["ann.lee@example.com"],
        people["wang@example.cn"],
        people["bob@example.com"],
    )
    other_team = client.post(f"/api/v1/customers/{ann.pk}/merge/", {"other": bob.pk})
    assert other_team.status_code == 404
    response = client.post(f"/api/v1/customers/{ann.pk}/merge/", {"other": wang.pk})
    assert response.status_code == 200
    wang.refresh_from_db()
    assert wang.merged_into_id == ann.pk
    assert MergeRecord.objects.get().reason == "api"
    assert client.get(f"/api/v1/customers/{wang.pk}/").status_code == 404
