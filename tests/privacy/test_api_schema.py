"""The OpenAPI schema says what the API answers: error responses on every operation, nullable
values, integer parameters, pages (privacy.core.rest.schema, privacy.core.rest.pagination)."""

import pytest
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from privacy.core.rest.schema import ERROR_RESPONSES
from tests.customers.factories import CustomerFactory
from tests.factories import api_token_for

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def schema(client, db):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    document = response.json()
    validate(document)
    return document


@pytest.fixture
def api(marketer_a):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(marketer_a)}")
    return client


def error_codes(response: dict) -> list[str]:
    return [error["code"] for error in response.json()["errors"]]


def test_every_operation_documents_the_json_errors(schema):
    operations = [
        (path, method, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]
    assert len(operations) > 30
    for path, method, operation in operations:
        for status in ERROR_RESPONSES:
            content = operation["responses"][str(status)]["content"]
            assert content == {
                "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
            }, (method, path, status)
    components = schema["components"]["schemas"]
    assert set(components["Error"]["required"]) == {"detail", "errors"}
    assert set(components["ErrorItem"]["required"]) == {"field", "message", "code"}


def test_json_bodies_are_documented_as_json_and_uploads_as_multipart(schema):
    assert set(schema["paths"]["/api/v1/customers/upsert/"]["post"]["requestBody"]["content"]) == {
        "application/json"
    }
    assert set(schema["paths"]["/api/v1/imports/"]["post"]["requestBody"]["content"]) == {
        "multipart/form-data"
    }


def test_filters_and_pages_are_documented_on_reads_only(schema):
    def names(operation):
        return {parameter["name"] for parameter in operation.get("parameters", [])}

    assert {"page_size", "cursor", "country", "team"} <= names(
        schema["paths"]["/api/v1/customers/"]["get"]
    )
    assert not {"email", "phone", "name"} & names(schema["paths"]["/api/v1/customers/"]["get"])
    assert names(schema["paths"]["/api/v1/customers/upsert/"]["post"]) == set()
    assert names(schema["paths"]["/api/v1/customers/{id}/timeline/"]["get"]) == {
        "id",
        "cursor",
        "limit",
    }
    page = schema["paths"]["/api/v1/customers/{id}/timeline/"]["get"]["responses"]["200"]
    assert page["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TimelinePage"
    }


@pytest.mark.parametrize("value", ["abc", "0", "-1", "501", "1.5", "", "٣"])
def test_a_page_size_that_is_not_a_whole_number_in_bounds_is_refused(api, value):
    response = api.get("/api/v1/customers/", {"page_size": value})

    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["page_size"]


def test_page_size_is_declared_with_its_bounds(schema, api, team_a):
    [parameter] = [
        parameter
        for parameter in schema["paths"]["/api/v1/customers/"]["get"]["parameters"]
        if parameter["name"] == "page_size"
    ]
    assert parameter["schema"] == {"type": "integer", "minimum": 1, "maximum": 500}
    CustomerFactory.create_batch(3, owner_team=team_a)
    assert len(api.get("/api/v1/customers/", {"page_size": "2"}).json()["results"]) == 2


@pytest.mark.parametrize("value", ["1.5", "-3", "9223372036854775808", "x"])
def test_an_id_filter_refuses_what_is_no_id(api, value):
    response = api.get("/api/v1/events/", {"customer": value})

    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == ["customer"]


def test_an_empty_filter_means_not_filtered_and_is_documented_so(api, schema, team_a):
    CustomerFactory(owner_team=team_a)

    response = api.get("/api/v1/customers/", {"team": "", "country": ""})

    assert len(response.json()["results"]) == 1
    parameters = schema["paths"]["/api/v1/customers/"]["get"]["parameters"]
    assert {parameter["name"]: parameter.get("allowEmptyValue") for parameter in parameters}[
        "team"
    ] is True


def test_an_address_under_the_api_that_reaches_no_view_is_a_json_404(api, client, db):
    for response in (api.get("/api/v1/customers/1.5/"), client.get("/api/v1/nothing-here/")):
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json() == {
            "detail": "Not found.",
            "errors": [{"field": "", "message": "Not found.", "code": "not_found"}],
        }
    assert client.get("/customers/1.5/").status_code in {302, 404}  # the staff UI's own answers


def test_an_unset_choice_is_null_and_declared_nullable(api, schema, team_a):
    customer = CustomerFactory(owner_team=team_a, gender="")

    body = api.get(f"/api/v1/customers/{customer.pk}/").json()

    assert body["gender"] is None
    gender = schema["components"]["schemas"]["Customer"]["properties"]["gender"]
    assert gender["nullable"] is True
    assert "BlankEnum" not in schema["components"]["schemas"]
