"""An erased person stays erased: each of their identifiers alone, through every door that
collects or attaches people, is refused as suppressed and creates nothing."""

import pytest
from django.urls import reverse

from customers.models import Customer, Event, Identity, Purchase, RowOutcome
from customers.services.customers import customers_upsert_items
from customers.services.suppression import SUPPRESSED
from privacy.core import roles
from privacy.erasure.services.erasure import subject_erase
from privacy.models import ConsentEvent, Suppression
from tests.customers.factories import CustomerFactory

EMAIL = "mei.lin@example.cn"
PHONE = "+8613800138000"
CRM_ID = "CRM-7781"
WECHAT_ID = "wx_meilin_88"

# One identifier alone, as each door names it.
IMPORT_ROWS = {
    "email": b"email\nMei.Lin@Example.cn\n",
    "phone": b"phone\n+86 138 0013 8000\n",
    "crm id": b"external id,source\nCRM-7781,crm\n",
    "wechat id": b"wechat id\nwx_meilin_88\n",
}
UPSERT_ITEMS = {
    "email": {"email": EMAIL},
    "phone": {"phone": PHONE},
    "crm id": {"external_ids": [{"channel": "crm", "id": CRM_ID}]},
    "wechat id": {"external_ids": [{"channel": "wechat", "id": WECHAT_ID}]},
}
REFERENCES = {
    "email": {"email": EMAIL},
    "crm id": {"external_id": CRM_ID, "channel": "crm"},
    "wechat id": {"external_id": WECHAT_ID, "channel": "wechat"},
}


@pytest.fixture
def administrator(make_user, team_a):
    return make_user(roles.ADMINISTRATOR, team_a)


@pytest.fixture
def erased(team_a, steward):
    """Mei had an email, a phone, a CRM id and a WeChat id; she was erased."""
    [result] = customers_upsert_items(
        actor=steward,
        team=team_a,
        items=[
            {
                "email": EMAIL,
                "phone": PHONE,
                "given_name": "Mei",
                "family_name": "Lin",
                "external_ids": [
                    {"channel": "crm", "id": CRM_ID},
                    {"channel": "wechat", "id": WECHAT_ID},
                ],
            }
        ],
    )
    assert Identity.objects.filter(customer_id=result.customer_id).count() == 4
    report = subject_erase(
        customer_ids=[result.customer_id], team=team_a, actor=steward, reason="request"
    )
    assert report.customer_ids == [result.customer_id]
    assert not Customer.objects.filter(owner_team=team_a).exists()
    return result.customer_id


def _nobody_collected(team) -> None:
    assert not Customer.objects.filter(owner_team=team).exists()
    assert not Identity.objects.filter(owner_team=team).exists()


def test_erasure_suppresses_every_identity_with_external_ids_keyed_by_channel(erased, team_a):
    kinds = sorted(Suppression.objects.filter(owner_team=team_a).values_list("kind", flat=True))
    assert kinds == ["email", "external", "external", "phone"]
    # Keyed hashes only: no identifier is stored as it is.
    for value in (EMAIL, PHONE, CRM_ID, WECHAT_ID):
        assert not Suppression.objects.filter(lookup_key__icontains=value).exists()


@pytest.mark.parametrize("identifier", list(IMPORT_ROWS), ids=list(IMPORT_ROWS))
def test_an_import_row_with_one_identifier_is_refused(
    identifier, erased, team_a, marketer_a, run_import, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    job = run_import(marketer_a, team_a, IMPORT_ROWS[identifier])
    [row] = job.rows.all()
    assert (row.outcome, row.reason, row.customer_id) == (RowOutcome.REJECTED, SUPPRESSED, None)
    _nobody_collected(team_a)


@pytest.mark.parametrize("identifier", list(UPSERT_ITEMS), ids=list(UPSERT_ITEMS))
def test_an_api_upsert_with_one_identifier_is_refused(
    identifier, erased, team_a, marketer_a, token_client
):
    response = token_client(marketer_a).post(
        "/api/v1/customers/upsert/", {"items": [UPSERT_ITEMS[identifier]]}, format="json"
    )
    assert response.status_code in (200, 207), response.content
    [result] = response.json()["results"]
    assert (result["status"], result["customer_id"]) == (RowOutcome.REJECTED, None)
    assert result["errors"] == [{"field": "", "message": SUPPRESSED}]
    _nobody_collected(team_a)


@pytest.mark.parametrize("identifier", list(REFERENCES), ids=list(REFERENCES))
@pytest.mark.parametrize(
    ("url", "item"),
    [
        ("/api/v1/events/", {"type": "page_view", "occurred_at": "2026-06-01T10:00:00Z"}),
        (
            "/api/v1/purchases/",
            {
                "order_reference": "A-1",
                "occurred_at": "2026-06-01T10:00:00Z",
                "amount": "19.90",
                "currency": "CNY",
            },
        ),
    ],
    ids=["event", "purchase"],
)
def test_an_event_or_purchase_naming_the_erased_person_is_refused(
    url, item, identifier, erased, team_a, marketer_a, token_client
):
    reference = REFERENCES[identifier]
    response = token_client(marketer_a).post(url, {"items": [{**reference, **item}]}, format="json")
    [result] = response.json()["results"]
    field = "email" if "email" in reference else "external_id"
    assert result["status"] == "rejected"
    assert result["errors"][0] == {"field": field, "message": SUPPRESSED}
    assert not Event.objects.exists() and not Purchase.objects.exists()
    _nobody_collected(team_a)


def test_an_event_naming_a_profile_recreated_behind_the_check_is_refused(
    erased, team_a, marketer_a, token_client
):
    # Given a profile holding the erased WeChat id, written straight to the tables
    customer = CustomerFactory(owner_team=team_a)
    Identity.objects.create(
        owner_team=team_a, customer=customer, kind="external", channel="wechat",
        lookup_key=WECHAT_ID,
    )  # fmt: skip
    # Then nothing is attached to it through that id
    item = {**REFERENCES["wechat id"], "type": "visit", "occurred_at": "2026-01-01T00:00:00Z"}
    response = token_client(marketer_a).post("/api/v1/events/", {"items": [item]}, format="json")
    assert response.json()["results"][0]["status"] == "rejected"
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"), [("email", EMAIL), ("phone", PHONE)], ids=["email", "phone"]
)
def test_the_staff_edit_form_refuses_an_erased_email_or_phone(
    field, value, erased, team_a, steward, verified_client
):
    other = CustomerFactory(owner_team=team_a, email=None, phone=None)
    url = reverse("customer-edit", args=[other.pk])
    client = verified_client(steward)
    initial = client.get(url).context["form"].initial
    data = {key: "" if item is None else item for key, item in initial.items()}

    response = client.post(url, {**data, field: value})

    assert response.status_code == 200
    assert response.context["form"].errors == {field: [SUPPRESSED]}
    other.refresh_from_db()
    assert getattr(other, field) is None
    assert not Identity.objects.filter(owner_team=team_a).exists()


def test_the_admin_cannot_add_customers_and_its_edit_refuses_an_erased_email(
    erased, team_a, administrator, verified_client
):
    client = verified_client(administrator)
    assert client.get("/admin/customers/customer/add/").status_code == 403
    other = CustomerFactory(owner_team=team_a, email=None, phone=None)
    with pytest.raises(Exception, match="suppressed"):
        # The admin's change form goes through customer_update, which refuses it.
        from customers.services.customers import customer_update

        customer_update(actor=administrator, customer=other, changes={"email": EMAIL})
    other.refresh_from_db()
    assert other.email is None


def test_the_consent_api_cannot_bring_the_erased_customer_back(
    erased, team_a, steward, token_client
):
    response = token_client(steward).post(
        "/api/v1/consents/",
        {"customer": erased, "purpose": "email_marketing", "status": "granted", "source": "api"},
        format="json",
    )
    assert response.status_code == 404
    assert not ConsentEvent.objects.exists()
    _nobody_collected(team_a)
