"""Typed custom fields: a marketing export imports every column into them, the list API
filters on them, and every door checks their types."""

from __future__ import annotations

import datetime
import json

import pytest
from django.db import connection

from customers.models import Customer, CustomField, Identity, IdentityKind
from customers.services.custom_fields import custom_field_create, custom_field_delete
from customers.services.customers import customers_upsert_items
from customers.services.enrichment import customers_enrich
from privacy.core import roles
from privacy.models import AuditEntry
from tests.customers.marketing_file import (
    CAMPAIGN_COLUMNS,
    COUNT_COLUMNS,
    EDUCATION,
    MARITAL_STATUS,
    SPEND_COLUMNS,
    income_of,
    marketing_file,
)

pytestmark = pytest.mark.django_db


def define(team, key, type, **values):
    return custom_field_create(
        actor=None,
        team=team,
        values={"key": key, "label_en": key.replace("_", " ").title(), "type": type, **values},
    )


def marketing_fields(team):
    """The custom fields a team defines for the marketing export, and the file's mapping."""
    mapping = {"ID": "external_id", "Year_Birth": "birth_year"}
    define(team, "education", "choice", options=list(EDUCATION), label_zh="学历")
    define(team, "marital_status", "choice", options=list(MARITAL_STATUS))
    define(team, "income", "decimal", min_value=0)
    define(team, "customer_since", "date")
    mapping.update(
        {"Education": "attributes.education", "Marital_Status": "attributes.marital_status"}
    )
    mapping.update({"Income": "attributes.income", "Dt_Customer": "attributes.customer_since"})
    for column in ("Kidhome", "Teenhome", "Recency", *SPEND_COLUMNS, *COUNT_COLUMNS):
        key = column.lower()
        define(team, key, "integer", min_value=0)
        mapping[column] = f"attributes.{key}"
    for column in (*CAMPAIGN_COLUMNS, "Complain", "Response"):
        key = column.lower()
        define(team, key, "boolean")
        mapping[column] = f"attributes.{key}"
    return mapping


def names_in(response) -> str:
    """The error body as text, to find the names it gives (whatever its shape)."""
    return json.dumps(response.json(), ensure_ascii=False)


def listed_ids(client, query: dict) -> set[int]:
    ids: set[int] = set()
    url, params = "/api/v1/customers/", {**query, "page_size": 500}
    while url:
        response = client.get(url, params)
        assert response.status_code == 200, response.json()
        body = response.json()
        ids |= {row["id"] for row in body["results"]}
        url, params = body["next"], None
    return ids


def test_a_marketing_export_imports_every_column_and_filters_like_python(
    make_user, team_a, run_import, token_client
):
    # Given a team that defines a custom field for each column of its marketing export
    administrator = make_user(roles.ADMINISTRATOR, team_a)
    mapping = marketing_fields(team_a)
    generated = marketing_file(rows=240, seed=20261207)

    # When the file (";"-separated, UTF-8 with a BOM) is imported with every column mapped
    job = run_import(
        administrator, team_a, generated.content, name="marketing_campaign.csv", mapping=mapping
    )

    # Then every row is a customer, without a warning, holding typed values
    assert (job.created_count, job.rejected_count, job.warning_count) == (240, 0, 0)
    by_id = dict(
        Identity.objects.filter(owner_team=team_a, kind=IdentityKind.EXTERNAL).values_list(
            "lookup_key", "customer_id"
        )
    )
    assert len(by_id) == 240
    first = generated.rows[0]
    stored = Customer.objects.get(pk=by_id[first["ID"]])
    assert stored.birth_year == int(first["Year_Birth"]) and stored.birth_date is None
    assert stored.attributes["education"] == first["Education"]
    assert stored.attributes["mntwines"] == int(first["MntWines"])
    assert stored.attributes["response"] is (first["Response"] == "1")
    day, month, year = first["Dt_Customer"].split("-")
    assert stored.attributes["customer_since"] == f"{year}-{month}-{day}"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT jsonb_typeof(attributes -> 'mntwines'), "
            "jsonb_typeof(attributes -> 'response') FROM customers_customer WHERE id = %s",
            [stored.pk],
        )
        assert cursor.fetchone() == ("number", "boolean")

    # And the list API's filters select exactly what a computation over the file selects
    client = token_client(make_user(roles.MARKETER, team_a))

    def expected(predicate) -> set[int]:
        return {by_id[row["ID"]] for row in generated.rows if predicate(row)}

    def in_income_range(row):
        income = income_of(row)
        return income is not None and 30_000 <= income <= 70_000.5

    cases = [
        ({"attributes.income__gte": "30000", "attributes.income__lte": "70000,5"}, in_income_range),
        ({"attributes.education": "PhD"}, lambda row: row["Education"] == "PhD"),
        ({"attributes.response": "yes"}, lambda row: row["Response"] == "1"),
        (
            {"attributes.marital_status__in": "Married,Together", "attributes.kidhome__gte": "1"},
            lambda row: (
                row["Marital_Status"] in {"Married", "Together"} and int(row["Kidhome"]) >= 1
            ),
        ),
        (
            {"attributes.acceptedcmp3": "1", "attributes.mntwines__lte": "700"},
            lambda row: row["AcceptedCmp3"] == "1" and int(row["MntWines"]) <= 700,
        ),
        (
            {"attributes.customer_since__gte": "2013-06-01"},
            lambda row: (
                row["Dt_Customer"][6:] + row["Dt_Customer"][2:6] + row["Dt_Customer"][:2]
                >= "2013-06-01"
            ),
        ),
    ]
    for query, predicate in cases:
        wanted = expected(predicate)
        assert wanted, query  # the generated file has rows of each case
        assert listed_ids(client, query) == wanted, query


def test_a_year_alone_is_a_year_of_birth_with_an_age_band(marketer_a, team_a, run_import):
    content = b"id;Year_Birth;birth date\nA1;1957;\nA2;;1990-05-04\nA3;;1960\n"
    job = run_import(
        marketer_a,
        team_a,
        content,
        mapping={"id": "external_id", "Year_Birth": "birth_year", "birth date": "birth_date"},
    )
    assert (job.created_count, job.warning_count) == (3, 0)

    customers_enrich(team_id=team_a.pk, today=datetime.date(2026, 12, 7))

    stored = {
        identity.lookup_key: identity.customer
        for identity in Identity.objects.select_related("customer").filter(owner_team=team_a)
    }
    assert [(c.birth_year, c.birth_date, c.age_band) for c in stored.values()] == [
        (1957, None, "65+"),
        (1990, datetime.date(1990, 5, 4), "35-44"),
        (1960, None, "65+"),
    ]


def test_a_column_mapped_to_no_field_is_refused_naming_the_column(
    marketer_a, team_a, token_client, settings, tmp_path
):
    define(team_a, "income", "decimal")
    client = token_client(marketer_a)
    content = b"email,Income,Kids\nann@example.com,100,2\n"

    for target in ("attributes.kids", "shoe_size"):
        from django.core.files.uploadedfile import SimpleUploadedFile

        response = client.post(
            "/api/v1/imports/",
            {
                "file": SimpleUploadedFile("people.csv", content),
                "mapping": json.dumps(
                    {"email": "email", "Income": "attributes.income", "Kids": target}
                ),
            },
            format="multipart",
        )
        assert response.status_code == 400, response.json()
        assert "Kids" in json.dumps(response.json(), ensure_ascii=False)
    assert not team_a.customers.exists()


def test_an_import_keeps_the_row_and_names_the_column_of_a_wrong_value(
    marketer_a, team_a, run_import
):
    define(team_a, "income", "decimal", min_value=0)
    define(team_a, "member", "boolean")
    content = b"email;Income;Member\nann@example.com;lots;1\nbo@example.com;-5;perhaps\n"
    job = run_import(
        marketer_a,
        team_a,
        content,
        mapping={"email": "email", "Income": "attributes.income", "Member": "attributes.member"},
    )
    assert (job.created_count, job.warning_count) == (2, 2)
    warnings = [row.warnings for row in job.rows.order_by("line_number")]
    assert warnings == [
        ["“Income”: not a number"],
        ["“Income”: below the field's minimum", "“Member”: not a yes/no value"],
    ]
    assert sorted(str(c.attributes) for c in team_a.customers.all()) == ["{'member': True}", "{}"]


# --- The API: create, upsert and correct with custom values -------------------------------------


@pytest.fixture
def typed_fields(team_a):
    define(team_a, "income", "decimal", min_value=0, max_value=1_000_000)
    define(team_a, "kids", "integer", min_value=0)
    define(team_a, "member", "boolean")
    define(team_a, "interests", "multi_choice", options=["wine", "fish", "gold"])
    define(team_a, "member_code", "text", pattern=r"M-\d{4}")
    define(team_a, "religion", "text", is_personal_data=True)


def test_the_api_writes_typed_values_and_refuses_wrong_ones_by_name(
    make_user, team_a, typed_fields, token_client
):
    client = token_client(make_user(roles.ADMINISTRATOR, team_a))
    body = {
        "email": "ann@example.com",
        "attributes": {"income": 5200.5, "kids": 2, "member": True, "interests": ["gold", "wine"]},
    }
    created = client.post("/api/v1/customers/", body, format="json")
    assert created.status_code == 201, created.json()
    customer = Customer.objects.get(pk=created.json()["customer_id"])
    assert customer.attributes == {
        "income": 5200.5,
        "kids": 2,
        "member": True,
        "interests": ["wine", "gold"],  # in the order of the options
    }

    wrong = [
        ({"kids": "2"}, "attributes.kids"),  # JSON: a number is a number
        ({"kids": 1.5}, "attributes.kids"),
        ({"income": -1}, "attributes.income"),
        ({"member": "maybe"}, "attributes.member"),
        ({"interests": ["golf"]}, "attributes.interests"),
        ({"member_code": "X-1"}, "attributes.member_code"),
        ({"shoe_size": 42}, "attributes.shoe_size"),
    ]
    for attributes, name in wrong:
        response = client.post(
            "/api/v1/customers/", {"email": "bo@example.com", "attributes": attributes}, "json"
        )
        assert response.status_code == 400 and name in names_in(response), attributes
        upsert = client.post(
            "/api/v1/customers/upsert/",
            {
                "items": [
                    {"email": "cy@example.com"},
                    {"email": "di@example.com", "attributes": attributes},
                ]
            },
            format="json",
        )
        assert upsert.status_code == 400 and name in names_in(upsert), upsert.json()
        patch = client.patch(
            f"/api/v1/customers/{customer.pk}/", {"attributes": attributes}, "json"
        )
        assert patch.status_code == 400 and name in names_in(patch), patch.json()
    assert Customer.objects.count() == 1

    patched = client.patch(
        f"/api/v1/customers/{customer.pk}/",
        {"attributes": {"kids": 3, "member": None, "member_code": "M-0042"}},
        format="json",
    )
    assert patched.status_code == 200, patched.json()
    customer.refresh_from_db()
    assert customer.attributes == {
        "income": 5200.5,
        "kids": 3,
        "interests": ["wine", "gold"],
        "member_code": "M-0042",
    }
    assert AuditEntry.objects.filter(
        action="customer.update", object_id=str(customer.pk)
    ).get().metadata == {
        "fields": ["attributes.kids", "attributes.member", "attributes.member_code"]
    }


def test_personal_custom_values_are_encrypted_and_masked(
    make_user, team_a, typed_fields, token_client
):
    administrator = token_client(make_user(roles.ADMINISTRATOR, team_a))
    upsert = administrator.post(
        "/api/v1/customers/upsert/",
        {"items": [{"email": "ann@example.com", "attributes": {"religion": "Quaker", "kids": 1}}]},
        format="json",
    )
    assert upsert.status_code == 200, upsert.json()
    customer_id = upsert.json()["results"][0]["customer_id"]

    # The database holds no plaintext of the personal value, anywhere in the row
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT row_to_json(c)::text FROM customers_customer c WHERE id = %s", [customer_id]
        )
        (row,) = cursor.fetchone()
    assert "Quaker" not in row and "religion" not in row
    assert '"kids": 1' in row or '"kids":1' in row

    # Those who may see personal data read it; a marketer sees it masked and cannot change it
    shown = administrator.get(f"/api/v1/customers/{customer_id}/").json()["attributes"]
    assert shown == {"kids": 1, "religion": "Quaker"}
    marketer = token_client(make_user(roles.MARKETER, team_a))
    masked = marketer.get(f"/api/v1/customers/{customer_id}/").json()["attributes"]
    assert masked == {"kids": 1, "religion": "•••"}
    refused = marketer.patch(
        f"/api/v1/customers/{customer_id}/", {"attributes": {"religion": "None"}}, format="json"
    )
    assert refused.status_code == 400 and "attributes.religion" in names_in(refused)
    # and filtering on it is refused: the value is encrypted
    response = marketer.get("/api/v1/customers/", {"attributes.religion": "Quaker"})
    assert response.status_code == 400 and "attributes.religion" in json.dumps(response.json())
    assert Customer.objects.get(pk=customer_id).private_attributes == '{"religion": "Quaker"}'


def test_list_filters_refuse_unknown_keys_and_lookups_by_name(
    marketer_a, team_a, typed_fields, token_client
):
    client = token_client(marketer_a)
    for params, name in [
        ({"attributes.shoe_size": "42"}, "attributes.shoe_size"),
        ({"attributes.member__gte": "1"}, "attributes.member__gte"),
        ({"attributes.kids__gte": "many"}, "attributes.kids__gte"),
    ]:
        response = client.get("/api/v1/customers/", params)
        assert response.status_code == 400, (params, response.json())
        assert name in json.dumps(response.json()), response.json()


def test_deleting_a_definition_clears_its_values_and_is_audited(marketer_a, team_a, team_b):
    income = define(team_a, "income", "decimal")
    religion = define(team_a, "religion", "text", is_personal_data=True)
    define(team_b, "income", "decimal")
    items = [{"email": "ann@example.com", "attributes": {"income": 10, "religion": "Quaker"}}]
    customers_upsert_items(actor=marketer_a, team=team_a, items=items)
    customers_upsert_items(
        actor=marketer_a,
        team=team_b,
        items=[{"email": "bo@example.com", "attributes": {"income": 5}}],
    )

    assert custom_field_delete(actor=marketer_a, definition=income) == 1
    assert custom_field_delete(actor=marketer_a, definition=religion) == 1

    ann = team_a.customers.get()
    assert (ann.attributes, ann.private_attributes) == ({}, None)
    assert team_b.customers.get().attributes == {"income": 5}
    entries = AuditEntry.objects.filter(action="custom_field.delete").order_by("pk")
    assert [entry.metadata for entry in entries] == [
        {"key": "income", "values_cleared": 1},
        {"key": "religion", "values_cleared": 1},
    ]
    assert list(CustomField.objects.values_list("owner_team", "key")) == [(team_b.pk, "income")]


# --- Definitions ----------------------------------------------------------------------------------


def test_administrators_define_fields_marketers_read_them(make_user, team_a, token_client):
    administrator = token_client(make_user(roles.ADMINISTRATOR, team_a))
    marketer = token_client(make_user(roles.MARKETER, team_a))
    body = {"key": "income", "label_en": "Income", "label_zh": "收入", "type": "decimal"}

    assert marketer.post("/api/v1/custom-fields/", body, format="json").status_code == 403
    created = administrator.post("/api/v1/custom-fields/", body, format="json")
    assert created.status_code == 201, created.json()
    assert [row["key"] for row in marketer.get("/api/v1/custom-fields/").json()["results"]] == [
        "income"
    ]
    again = administrator.post("/api/v1/custom-fields/", body, format="json")
    assert again.status_code == 400 and '"key"' in names_in(again)
    changed = administrator.patch(
        f"/api/v1/custom-fields/{created.json()['id']}/", {"type": "integer"}, format="json"
    )
    assert changed.status_code == 400 and '"type"' in names_in(changed)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"key": "Income", "type": "text"}, "key"),
        ({"key": "tone", "type": "choice"}, "options"),
        ({"key": "code", "type": "text", "pattern": "(a+)+$"}, "pattern"),
        ({"key": "code", "type": "text", "pattern": r"(\w*)*x"}, "pattern"),
        ({"key": "code", "type": "text", "pattern": "[a-"}, "pattern"),
        ({"key": "code", "type": "text", "pattern": "a" * 201}, "pattern"),
        ({"key": "size", "type": "integer", "min_value": 10, "max_value": 1}, "min_value"),
        ({"key": "size", "type": "text", "min_value": 1}, "min_value"),
    ],
)
def test_a_definition_that_cannot_check_values_is_refused(
    make_user, team_a, token_client, values, field
):
    client = token_client(make_user(roles.ADMINISTRATOR, team_a))
    response = client.post("/api/v1/custom-fields/", {"label_en": "X", **values}, format="json")
    assert response.status_code == 400 and f'"{field}"' in names_in(response), response.json()
    assert not CustomField.objects.exists()


# --- The staff UI and the admin -------------------------------------------------------------------


def test_the_admin_edits_custom_values_on_the_customer_form(
    verified_client, make_user, team_a, typed_fields
):
    from tests.customers.test_admin import change_form_data

    steward = make_user(roles.DATA_STEWARD, team_a)
    customer = Customer.objects.create(owner_team=team_a, email="ann@example.com")
    client = verified_client(steward)
    data = change_form_data(
        client,
        customer,
        attribute_income="1234.50",
        attribute_kids="2",
        attribute_member="true",
        attribute_interests=["fish"],
        attribute_religion="Quaker",
    )
    data.pop("attributes", None)

    response = client.post(f"/admin/customers/customer/{customer.pk}/change/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    customer.refresh_from_db()
    assert customer.attributes == {
        "income": 1234.5,
        "kids": 2,
        "member": True,
        "interests": ["fish"],
    }
    assert customer.private_attributes == '{"religion": "Quaker"}'


def test_the_admin_defines_fields_for_administrators_only(
    verified_client, make_user, team_a, marketer_a
):
    values = {"owner_team": team_a.pk, "key": "income", "label_en": "Income", "type": "decimal"}
    values |= {"options": "", "label_zh": "收入", "pattern": ""}
    response = verified_client(marketer_a).post("/admin/customers/customfield/add/", values)
    assert response.status_code == 403
    administrator = make_user(roles.ADMINISTRATOR, team_a)
    client = verified_client(administrator)
    response = client.post("/admin/customers/customfield/add/", values)
    assert response.status_code == 302
    definition = CustomField.objects.get()
    assert (definition.key, definition.label_zh) == ("income", "收入")
    assert AuditEntry.objects.filter(action="custom_field.create").count() == 1
    # A second field of the same key is refused on the form, naming it
    again = client.post("/admin/customers/customfield/add/", values)
    assert again.status_code == 200 and "key" in again.context["adminform"].form.errors


def test_the_profile_shows_labels_in_the_users_language_and_masks_personal_values(
    verified_client, make_user, marketer_a, team_a
):
    define(team_a, "education", "choice", options=["PhD", "Master"], label_zh="学历")
    define(team_a, "religion", "text", label_zh="宗教", is_personal_data=True)
    items = [{"email": "ann@example.com", "attributes": {"education": "PhD", "religion": "Quaker"}}]
    customers_upsert_items(actor=marketer_a, team=team_a, items=items)
    customer = team_a.customers.get()
    client = verified_client(marketer_a)

    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert "Education" in page and "PhD" in page and "Quaker" not in page and "•••" in page

    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert "学历" in page and "宗教" in page


def test_the_staff_edit_form_writes_typed_values(verified_client, make_user, team_a, typed_fields):
    steward = make_user(roles.DATA_STEWARD, team_a)
    customer = Customer.objects.create(owner_team=team_a, email="ann@example.com")
    client = verified_client(steward)
    form = client.get(f"/customers/{customer.pk}/edit/").context["form"]
    data = {name: form.initial.get(name) or "" for name in form.fields}
    data.pop("attribute_interests")  # no box ticked
    data.update({"attribute_kids": "3", "attribute_member": "false", "lifecycle_status": "lead"})

    response = client.post(f"/customers/{customer.pk}/edit/", data)

    assert response.status_code == 302, response.context["form"].errors
    customer.refresh_from_db()
    assert customer.attributes == {"kids": 3, "member": False}


def test_the_list_page_filters_on_custom_fields_and_explains_unknown_keys(
    verified_client, marketer_a, team_a
):
    define(team_a, "education", "choice", options=["PhD", "Master"])
    define(team_a, "income", "decimal")
    items = [
        {"email": "ann@example.com", "attributes": {"education": "PhD", "income": 900}},
        {"email": "bo@example.com", "attributes": {"education": "PhD", "income": 90}},
        {"email": "cy@example.com", "attributes": {"education": "Master", "income": 900}},
    ]
    customers_upsert_items(actor=marketer_a, team=team_a, items=items)
    ann = Identity.objects.get(
        kind=IdentityKind.EMAIL,
        customer__attributes__income=900,
        customer__attributes__education="PhD",
    ).customer_id
    client = verified_client(marketer_a)

    query = {"attributes.education": "phd", "attributes.income__gte": "500"}
    response = client.get("/customers/", query)
    assert [customer.pk for customer, _contact in response.context["rows"]] == [ann]

    response = client.get("/customers/", {"attributes.shoe_size": "42"})
    assert response.context["rows"] == []
    assert "shoe_size" in str(response.context["form"].errors)


def test_the_access_package_lists_custom_values_with_labels(marketer_a, team_a):
    from customers.services.export import customers_export

    define(team_a, "education", "choice", options=["PhD"], label_zh="学历")
    define(team_a, "religion", "text", label_zh="宗教", is_personal_data=True)
    items = [{"email": "ann@example.com", "attributes": {"education": "PhD", "religion": "Quaker"}}]
    customers_upsert_items(actor=marketer_a, team=team_a, items=items)
    customer = team_a.customers.get()

    categories = {c.name: c for c in customers_export(team=team_a, customer_ids=[customer.pk])}

    assert list(categories["attributes"].rows) == [
        {
            "customer_id": customer.pk,
            "key": "education",
            "label": "Education",
            "label_zh": "学历",
            "value": "PhD",
        },
        {
            "customer_id": customer.pk,
            "key": "religion",
            "label": "Religion",
            "label_zh": "宗教",
            "value": "Quaker",
        },
    ]


def test_the_wizard_offers_the_teams_custom_fields_and_refuses_others(team_a, team_b):
    from customers.forms_imports import ImportMappingForm, custom_mapping_choices

    define(team_a, "income", "decimal")
    define(team_b, "kids", "integer")

    def mapping_form(target):
        return ImportMappingForm(
            {"column_0": "email", "column_1": target},
            header=["E-Mail", "Kids"],
            initial_mapping={},
            can_save_template=False,
            custom_choices=custom_mapping_choices(team_a.pk),
        )

    accepted = mapping_form("attributes.income")
    assert accepted.is_valid(), accepted.errors
    assert accepted.mapping == {"E-Mail": "email", "Kids": "attributes.income"}
    refused = mapping_form("attributes.kids")  # team B's field
    assert not refused.is_valid()
    assert list(refused.errors) == ["column_1"] and refused["column_1"].label == "Kids"


def test_columns_named_like_a_custom_field_are_mapped_to_it(marketer_a, team_a, run_import):
    define(team_a, "education", "choice", options=["PhD", "Master"], label_zh="学历")
    define(team_a, "marital_status", "choice", options=["Single", "Married"])
    define(team_a, "income", "decimal", label_en="Yearly income")
    content = "Email;学历;Marital_Status;Yearly Income;Shoe size\n"
    content += "ann@example.com;phd;married;58138,5;38\n"

    job = run_import(marketer_a, team_a, content.encode())

    assert job.mapping == {
        "Email": "email",
        "学历": "attributes.education",
        "Marital_Status": "attributes.marital_status",
        "Yearly Income": "attributes.income",
        "Shoe size": "",
    }
    assert team_a.customers.get().attributes == {
        "education": "PhD",
        "marital_status": "Married",
        "income": 58138.5,
    }


def test_a_merge_keeps_both_profiles_personal_values_and_its_undo_restores_them(marketer_a, team_a):
    from customers.services.merge import customer_merge, customer_merge_undo

    define(team_a, "religion", "text", is_personal_data=True)
    define(team_a, "allergy", "text", is_personal_data=True)
    items = [
        {"email": "ann@example.com", "attributes": {"religion": "Quaker"}},
        {"email": "ann.lee@example.com", "attributes": {"religion": "None", "allergy": "nuts"}},
    ]
    customers_upsert_items(actor=marketer_a, team=team_a, items=items)
    survivor, merged = team_a.customers.order_by("pk")

    customer_merge(survivor=survivor, merged=merged, actor=marketer_a)
    survivor.refresh_from_db()
    assert json.loads(survivor.private_attributes) == {"religion": "Quaker", "allergy": "nuts"}

    customer_merge_undo(survivor=survivor, actor=marketer_a)
    survivor.refresh_from_db()
    assert json.loads(survivor.private_attributes) == {"religion": "Quaker"}


def test_the_import_preview_shows_custom_values_masking_personal_ones():
    from customers.normalisation import NormalisedCustomer
    from customers.services.imports import PreparedRow
    from customers.views.imports import preview_table

    record = NormalisedCustomer(
        fields={"email": "ann@example.com"},
        attributes={"income": 58138.5, "interests": ["wine", "gold"]},
        private_attributes={"religion": "Quaker"},
        warnings=[("attributes.kids", "“Kids”: not a whole number")],
    )
    mapping = {"Email": "email", "Income": "attributes.income", "Interests": "attributes.interests"}
    mapping |= {"Religion": "attributes.religion", "Kids": "attributes.kids"}

    def shown(can_see_personal_data):
        columns, rows = preview_table(
            [PreparedRow(2, record, "", "import")],
            mapping=mapping,
            can_see_personal_data=can_see_personal_data,
        )
        cells = {cell["key"]: (cell["value"], cell["warning"]) for cell in rows[0]["cells"]}
        return [column["label"] for column in columns][-4:], {
            key: cells[key] for key in cells if key.startswith("attributes.")
        }

    labels, cells = shown(True)
    assert labels == ["Income", "Interests", "Religion", "Kids"]
    assert cells == {
        "attributes.income": ("58138.5", ""),
        "attributes.interests": ("wine, gold", ""),
        "attributes.religion": ("Quaker", ""),
        "attributes.kids": ("", "“Kids”: not a whole number"),
    }
    assert shown(False)[1]["attributes.religion"] == ("•••", "")
