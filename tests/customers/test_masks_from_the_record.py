"""What staff without "view personal data" see masked is what the record of processing says:
one list, derived from it, used by the API, the admin, the staff pages, the import preview and
the CSV export."""

import datetime

import pytest
from django.contrib import admin
from rest_framework.test import APIClient

from customers.forms import CustomerEditForm
from customers.masking import contact_for, customer_masks, identity_value
from customers.models import Customer, Identity, IdentityKind
from customers.normalisation import NormalisedCustomer
from customers.services.imports import PreparedRow
from customers.views.imports import preview_table
from privacy.core import processing
from privacy.core.masking import mask_email, mask_name, mask_phone, mask_text
from tests.customers.factories import CustomerFactory
from tests.factories import api_token_for

pytestmark = pytest.mark.django_db

# What is masked today, decided once by the record: the names, email, phone, postal address,
# birth date, notes and personal custom field values of a customer, and the email or phone value
# of an identity.
CUSTOMER_MASKED = {
    "email": "contact",
    "phone": "contact",
    "postal_address": "contact",
    "given_name": "identity",
    "family_name": "identity",
    "birth_date": "identity",
    "notes": "identity",
    "private_attributes": "identity",
}


def test_the_masked_fields_are_the_records_contact_and_identity_values():
    assert processing.masked_fields(Customer) == CUSTOMER_MASKED
    assert processing.masked_fields(Identity) == {"value": "contact"}


def test_each_masked_customer_field_is_masked_by_what_it_holds():
    assert customer_masks() == {
        "email": mask_email,
        "phone": mask_phone,
        "postal_address": mask_text,
        "given_name": mask_name,
        "family_name": mask_name,
        "display_name": mask_name,  # written from the two names
        "birth_date": mask_text,
        "notes": mask_text,
        "private_attributes": mask_text,  # personal custom field values
    }


def test_plain_segment_values_of_the_record_are_shown_as_they_are():
    # country, city and postal code are "contact", company, job title and gender "identity" in
    # the record, yet plain short values segments select on: nobody sees them masked.
    shown = {"country", "city", "postal_code", "company", "job_title", "gender", "language"}
    personal = processing.personal_fields(Customer)
    assert {personal[name][0] for name in shown} == {"contact", "identity"}
    assert shown.isdisjoint(customer_masks())


def test_identity_values_are_masked_by_their_kind(team_a):
    customer = CustomerFactory(owner_team=team_a, identities=False)
    email = Identity(customer=customer, kind=IdentityKind.EMAIL, value="ann@example.com")
    phone = Identity(customer=customer, kind=IdentityKind.PHONE, value="+4915123456789")
    external = Identity(customer=customer, kind=IdentityKind.EXTERNAL, lookup_key="K-1")

    shown = [identity_value(i, can_view_personal_data=False) for i in (email, phone, external)]

    assert shown == ["a•••@example.com", "+49•••89", "K-1"]


def api_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
    return client


@pytest.fixture
def signup_date_in_the_record(monkeypatch):
    """The record says a customer's sign-up date identifies the person (today: behaviour)."""
    entries = processing.PERSONAL_DATA["customers.Customer"]
    monkeypatch.setitem(entries, "signup_date", ("identity", entries["signup_date"][1]))


def test_a_date_the_record_adds_to_identity_is_masked_everywhere(
    signup_date_in_the_record, verified_client, marketer_a, team_a, rf
):
    # Given a customer who signed up on a known day, and a record that now counts the sign-up
    # date as identifying the person
    customer = CustomerFactory(owner_team=team_a, signup_date=datetime.date(2024, 5, 17))

    # Then the marketer's API answer, admin form and list, and the import preview hide it
    answer = api_client(marketer_a).get(f"/api/v1/customers/{customer.pk}/").json()
    assert answer["signup_date"] is None

    page = verified_client(marketer_a).get(f"/admin/customers/customer/{customer.pk}/change/")
    assert "signup_date" not in page.context["adminform"].form.fields
    assert "2024-05-17" not in page.content.decode()
    model_admin = admin.site._registry[Customer]
    request = rf.get("/admin/customers/customer/?signup_date__year=2024")
    request.user = marketer_a
    assert model_admin.masked_signup_date(customer) == "•••"
    assert not model_admin.lookup_allowed("signup_date__year", "2024", request)

    record = NormalisedCustomer(fields={"signup_date": datetime.date(2024, 5, 17)})
    _columns, rows = preview_table(
        [PreparedRow(2, record, "", "crm")],
        mapping={"Joined": "signup_date"},
        can_see_personal_data=False,
    )
    assert {cell["key"]: cell["value"] for cell in rows[0]["cells"]}["signup_date"] == "•••"

    assert customer_masks()["signup_date"] is mask_text


def test_a_field_the_record_no_longer_masks_is_shown_everywhere(
    monkeypatch, verified_client, marketer_a, team_a
):
    # Given a record that counts the birth date as behaviour, not as identifying the person
    entries = processing.PERSONAL_DATA["customers.Customer"]
    monkeypatch.setitem(entries, "birth_date", ("behaviour", entries["birth_date"][1]))
    customer = CustomerFactory(owner_team=team_a, birth_date=datetime.date(1985, 12, 10))

    # Then the marketer sees it in the API, the staff pages and the admin form
    answer = api_client(marketer_a).get(f"/api/v1/customers/{customer.pk}/").json()
    assert answer["birth_date"] == "1985-12-10"
    contact = contact_for(customer, can_view_personal_data=False)
    assert contact.birth_date == datetime.date(1985, 12, 10)
    page = verified_client(marketer_a).get(f"/admin/customers/customer/{customer.pk}/change/")
    assert "birth_date" in page.context["adminform"].form.fields
    assert "masked_birth_date" not in page.context["adminform"].readonly_fields


def test_a_marketers_edit_form_leaves_out_every_masked_field(team_a):
    customer = CustomerFactory(owner_team=team_a)

    form = CustomerEditForm(customer=customer, include_personal=False)

    assert set(form.fields).isdisjoint(customer_masks())
    assert {"company", "city", "country"} <= set(form.fields)
