"""Every page that shows personal data writes one audit entry: the admin's lists and change forms,
the API's lists and objects, and the staff customer list.

The pages are found from the admin's registry and the API's router, and whether a model holds
personal data from the record of processing, so a model or an endpoint added later is covered
without being named here.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.urls import reverse
from rest_framework.test import APIClient

from config.api_urls import router
from customers.models import Customer
from privacy.core import roles
from privacy.core.processing import personal_fields
from privacy.models import AuditEntry
from tests.customers.factories import CustomerFactory
from tests.factories import api_token_for
from tests.privacy.test_permission_matrix import ONLY, OWN, build_world

pytestmark = pytest.mark.django_db

PERSONAL_ADMIN_MODELS = sorted(
    (model._meta.label_lower for model in admin.site._registry if personal_fields(model)),
)


def last_entry() -> int:
    return AuditEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def views_of(user, object_type: str, *, after: int = 0) -> list[AuditEntry]:
    """``user``'s ``personal_data.view`` entries about ``object_type``, newer than ``after``."""
    return list(
        AuditEntry.objects.filter(
            action="personal_data.view", actor=user, object_type=object_type, pk__gt=after
        ).order_by("pk")
    )


def test_the_admin_pages_of_personal_data_are_the_records():
    # The record of processing decides; these are today's (customers, their identities, events,
    # purchases, merges and duplicates, imports, requests, erasure notices, tokens, staff
    # settings and the audit log itself).
    assert "customers.customer" in PERSONAL_ADMIN_MODELS
    assert "privacy.team" not in PERSONAL_ADMIN_MODELS
    assert len(PERSONAL_ADMIN_MODELS) >= 10


def test_every_admin_list_and_form_showing_personal_data_is_audited(
    verified_client, make_user, team_a, team_b
):
    # Given one object of every admin model, and an administrator who sees personal data
    world = build_world(team_a, team_b, make_user)
    administrator = world.users["administrator"]
    client = verified_client(administrator)
    missing = []
    for label in PERSONAL_ADMIN_MODELS:
        objects = world.admin_objects[label]
        shown = objects.get(OWN) or objects[ONLY]
        app_label, model_name = label.split(".")

        # When the administrator opens the model's list, then the object's change form
        before = last_entry()
        listing = client.get(reverse(f"admin:{app_label}_{model_name}_changelist"))
        form = client.get(reverse(f"admin:{app_label}_{model_name}_change", args=[quote(shown.pk)]))

        # Then each wrote one entry naming the rows it showed
        assert (listing.status_code, form.status_code) == (200, 200), label
        entries = views_of(administrator, label, after=before)
        shown_on_list = list(listing.context["cl"].result_list)
        expected = [[row.pk for row in shown_on_list], [shown.pk]]
        if [entry.metadata["ids"] for entry in entries] != expected:
            missing.append(f"{label}: {[entry.metadata for entry in entries]} != {expected}")
        elif entries[1].object_id != str(shown.pk):
            missing.append(f"{label}: the form's entry names {entries[1].object_id!r}")
    assert missing == []


def _personal_endpoints(user) -> list[tuple[str, str]]:
    endpoints = []
    for _prefix, viewset, basename in router.registry:
        view = viewset()
        view.request, view.action = SimpleNamespace(user=user), "list"
        if hasattr(viewset, "list") and personal_fields(view.served_model()):
            endpoints.append((basename, view.served_model()._meta.label_lower))
    return endpoints


def test_every_api_list_and_object_showing_personal_data_is_audited(make_user, team_a, team_b):
    # Given rows of every kind, and an administrator's token
    world = build_world(team_a, team_b, make_user)
    administrator = world.users["administrator"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(administrator)}")
    endpoints = _personal_endpoints(administrator)
    assert {"customer", "event", "purchase", "privacy-request"} <= {name for name, _ in endpoints}
    missing = []
    for basename, label in endpoints:
        before = last_entry()

        # When the administrator lists the rows, then reads the first one listed
        listing = api.get(reverse(f"api:{basename}-list"))
        assert listing.status_code == 200, (basename, listing.content)
        entries = views_of(administrator, label, after=before)
        if len(entries) != 1 or not entries[0].metadata["ids"]:
            missing.append(f"{basename} list: {[entry.metadata for entry in entries]}")
            continue
        first = entries[0].metadata["ids"][0]
        detail = api.get(reverse(f"api:{basename}-detail", kwargs={"pk": first}))

        # Then each answer wrote one entry naming what it showed
        assert detail.status_code == 200, (basename, detail.content)
        entries = views_of(administrator, label, after=before)
        if len(entries) != 2 or entries[1].metadata["ids"] != [first]:
            missing.append(f"{basename} detail: {[entry.metadata for entry in entries]}")
    assert missing == []


def test_a_masked_customer_page_is_not_an_access_to_personal_data(
    make_user, team_a, verified_client
):
    # Given a marketer, who sees contact details masked
    marketer = make_user(roles.MARKETER, team_a)
    CustomerFactory(owner_team=team_a)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(marketer)}")

    # When the marketer opens the customer list, in the staff pages, the API and the admin
    assert verified_client(marketer).get(reverse("customers-home")).status_code == 200
    assert api.get("/api/v1/customers/").status_code == 200

    # Then nothing personal was shown unmasked, and nothing is audited as such
    assert views_of(marketer, "customers.customer") == []


def test_the_staff_customer_list_audits_one_entry_per_page(make_user, team_a, verified_client):
    # Given three customers and a data steward, who sees contact details
    steward = make_user(roles.DATA_STEWARD, team_a)
    customers = CustomerFactory.create_batch(3, owner_team=team_a)
    client = verified_client(steward)

    # When the steward opens the list
    response = client.get(reverse("customers-home"))

    # Then one entry names the customers on the page
    assert response.status_code == 200
    entries = views_of(steward, Customer._meta.label_lower)
    assert [sorted(entry.metadata["ids"]) for entry in entries] == [
        sorted(customer.pk for customer in customers)
    ]


@pytest.mark.parametrize("page_size", [5, 30], ids=["5-rows", "30-rows"])
def test_an_audited_api_page_costs_one_insert_whatever_its_size(
    make_user, team_a, page_size, django_assert_num_queries
):
    # Given 30 customers and a steward's token, the caches warm
    steward = make_user(roles.DATA_STEWARD, team_a)
    CustomerFactory.create_batch(30, owner_team=team_a, identities=False)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(steward)}")
    api.get("/api/v1/customers/?page_size=5")

    # When a page is read: the queries of a masked page, and one insert for the audit entry
    with django_assert_num_queries(5) as captured:
        answer = api.get(f"/api/v1/customers/?page_size={page_size}").json()

    # Then it is one entry naming the page's rows
    assert len(answer["results"]) == page_size
    assert sum(query["sql"].startswith("INSERT") for query in captured.captured_queries) == 1
    assert len(views_of(steward, "customers.customer")[-1].metadata["ids"]) == page_size
