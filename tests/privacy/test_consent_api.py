"""The consent API: /api/v1/consents/ and /api/v1/privacy/notices/."""

import pytest
from django.core import mail
from rest_framework.test import APIClient

from privacy.consent.services.notices import notice_publish
from privacy.consent.services.records import consent_record
from privacy.core import roles
from privacy.models import AuditEntry, ConsentEvent, PrivacyNotice
from tests.customers.factories import CustomerFactory
from tests.factories import api_token_for

CONSENTS = "/api/v1/consents/"
NOTICES = "/api/v1/privacy/notices/"


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
    return client


@pytest.fixture
def ann(team_a):
    return CustomerFactory(owner_team=team_a, email="ann@example.com")


@pytest.fixture
def bob(team_b):
    return CustomerFactory(owner_team=team_b, email="bob@example.com")


@pytest.fixture
def steward_client(steward):
    return token_client(steward)


def grant(customer, **overrides):
    return {"customer": customer.pk, "purpose": "email_marketing", "status": "granted", **overrides}


# --- Recording -------------------------------------------------------------------------------


def test_a_steward_records_consent_with_its_proof(steward, steward_client, ann):
    notice = notice_publish(version="2026-01", language="en", text="Notice.", actor=steward)
    evidence = {"ip_address": "203.0.113.7", "user_agent": "Mozilla/5.0", "form": "newsletter"}

    response = steward_client.post(
        CONSENTS,
        grant(ann, channel="email", source="form", evidence=evidence, notice=notice.pk),
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    event = ConsentEvent.objects.get()
    assert body["id"] == event.pk
    assert {key: body[key] for key in ("customer", "purpose", "channel", "status", "source")} == {
        "customer": ann.pk,
        "purpose": "email_marketing",
        "channel": "email",
        "status": "granted",
        "source": "form",
    }
    assert (body["notice_version"], body["recorded_by"], body["evidence"]) == (
        "2026-01",
        steward.username,
        evidence,
    )
    assert (event.recorded_by, event.notice, event.evidence) == (steward, notice, evidence)
    entry = AuditEntry.objects.get(action="consent.record")
    assert (entry.actor, entry.object_id) == (steward, str(event.pk))


def test_the_channel_defaults_to_the_purposes_only_one(steward_client, ann):
    response = steward_client.post(CONSENTS, grant(ann), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["channel"] == "email"
    assert response.json()["source"] == "api"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"purpose": "carrier_pigeons"}, "purpose"),
        ({"purpose": "email_marketing", "channel": "sms"}, "channel"),
        ({"status": "maybe"}, "status"),
        ({"source": "import"}, "source"),
        ({"notice": 999999}, "notice"),
        ({"evidence": "not an object"}, "evidence"),
        ({"expires_at": "2000-01-01T00:00:00Z"}, "expires_at"),
    ],
    ids=[
        "unknown-purpose",
        "channel-not-of-purpose",
        "unknown-status",
        "reserved-source",
        "unknown-notice",
        "evidence-not-object",
        "expiry-in-past",
    ],
)
def test_bad_input_is_a_400_naming_the_field(steward_client, ann, payload, field):
    response = steward_client.post(CONSENTS, grant(ann, **payload), format="json")

    assert response.status_code == 400, response.content
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert not ConsentEvent.objects.exists()


def test_unknown_purpose_message_names_it(steward_client, ann):
    response = steward_client.post(CONSENTS, grant(ann, purpose="carrier_pigeons"), format="json")
    assert response.json()["errors"] == [
        {
            "field": "purpose",
            "message": "Unknown consent purpose “carrier_pigeons”.",
            "code": "invalid",
        }
    ]


@pytest.mark.parametrize("who", ["another-team", "missing"])
def test_a_customer_of_another_team_is_a_404_like_a_missing_one(steward_client, bob, who):
    customer_id = bob.pk if who == "another-team" else 999999
    response = steward_client.post(
        CONSENTS, {"customer": customer_id, "purpose": "email_marketing", "status": "granted"}
    )

    assert response.status_code == 404
    assert not ConsentEvent.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="consent.").exists()


def test_a_merged_customer_is_a_404(steward_client, ann, team_a):
    survivor = CustomerFactory(owner_team=team_a)
    ann.merged_into = survivor
    ann.save()
    response = steward_client.post(CONSENTS, grant(ann), format="json")
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("role", "expected"),
    [(None, 401), (roles.ANALYST, 403), (roles.MARKETER, 403), (roles.DATA_STEWARD, 201)],
    ids=["anonymous", "analyst", "marketer-without-consent-permission", "steward"],
)
def test_recording_needs_the_consent_permission(make_user, team_a, ann, role, expected):
    client = APIClient() if role is None else token_client(make_user(role, team_a))

    response = client.post(CONSENTS, grant(ann), format="json")

    assert response.status_code == expected
    assert ConsentEvent.objects.count() == (1 if expected == 201 else 0)


# --- Listing ---------------------------------------------------------------------------------


@pytest.fixture
def history(ann, bob, team_a):
    other = CustomerFactory(owner_team=team_a)
    for customer in (ann, bob, other):
        consent_record(
            customer=customer,
            purpose_code="email_marketing",
            channel="email",
            status="granted",
            source="form",
            evidence={"ip_address": "203.0.113.7"},
        )
    consent_record(
        customer=ann,
        purpose_code="email_marketing",
        channel="email",
        status="withdrawn",
        source="api",
    )
    return {"other": other}


def test_list_by_customer_is_scoped_to_the_users_teams(steward_client, ann, bob, history):
    own = steward_client.get(CONSENTS, {"customer": ann.pk}).json()["results"]
    foreign = steward_client.get(CONSENTS, {"customer": bob.pk}).json()["results"]
    everything = steward_client.get(CONSENTS).json()["results"]

    assert [(row["customer"], row["status"]) for row in own] == [
        (ann.pk, "withdrawn"),
        (ann.pk, "granted"),
    ]
    assert foreign == []
    assert {row["customer"] for row in everything} == {ann.pk, history["other"].pk}
    event = ConsentEvent.objects.get(customer_id=bob.pk)
    assert steward_client.get(f"{CONSENTS}{event.pk}/").status_code == 404


def test_list_query_count_does_not_grow_with_the_page(
    steward_client, ann, team_a, django_assert_max_num_queries
):
    for _ in range(3):
        consent_record(
            customer=ann, purpose_code="profiling", channel="any", status="granted", source="api"
        )
    with django_assert_max_num_queries(12) as few:
        steward_client.get(CONSENTS, {"page_size": 2})
    for _ in range(20):
        consent_record(
            customer=ann, purpose_code="profiling", channel="any", status="granted", source="api"
        )
    with django_assert_max_num_queries(len(few)):
        response = steward_client.get(CONSENTS, {"page_size": 20})
    assert len(response.json()["results"]) == 20


def test_evidence_is_masked_without_the_personal_data_permission(make_user, team_a, history):
    # An administrator-like role with consent access but without "view personal data".
    from django.contrib.auth.models import Permission

    auditor = make_user(None, team_a)
    auditor.user_permissions.add(Permission.objects.get(codename="view_consentevent"))
    rows = token_client(auditor).get(CONSENTS, {"status": "granted"}).json()["results"]
    assert rows
    assert {tuple(row["evidence"].items()) for row in rows} == {(("ip_address", "•••"),)}


# --- Double opt-in ---------------------------------------------------------------------------


def test_the_api_sends_a_double_opt_in_email(steward_client, ann, settings):
    settings.PUBLIC_BASE_URL = "https://news.example.com"

    response = steward_client.post(
        f"{CONSENTS}double-opt-in/", {"customer": ann.pk, "purpose": "email_marketing"}
    )

    assert response.status_code == 202, response.content
    assert [message.to for message in mail.outbox] == [["ann@example.com"]]
    assert "https://news.example.com/confirm/" in mail.outbox[0].body
    assert not ConsentEvent.objects.exists()


def test_double_opt_in_for_another_teams_customer_is_a_404(steward_client, bob):
    response = steward_client.post(
        f"{CONSENTS}double-opt-in/", {"customer": bob.pk, "purpose": "email_marketing"}
    )
    assert response.status_code == 404
    assert mail.outbox == []


# --- Notices ---------------------------------------------------------------------------------


def test_a_steward_publishes_and_lists_notice_versions(steward, steward_client):
    created = steward_client.post(
        NOTICES, {"version": "v2", "language": "zh-hans", "text": "隐私声明"}, format="json"
    )
    again = steward_client.post(
        NOTICES, {"version": "v2", "language": "zh-hans", "text": "隐私声明"}, format="json"
    )
    changed = steward_client.post(
        NOTICES, {"version": "v2", "language": "zh-hans", "text": "另一个文本"}, format="json"
    )

    assert (created.status_code, again.status_code, changed.status_code) == (201, 200, 400)
    assert [error["field"] for error in changed.json()["errors"]] == ["version"]
    notice = PrivacyNotice.objects.get()
    assert (
        created.json()["text_sha256"] == notice.text_sha256 == PrivacyNotice.hash_text("隐私声明")
    )
    listed = steward_client.get(NOTICES).json()["results"]
    assert [(row["version"], row["language"]) for row in listed] == [("v2", "zh-hans")]
    assert steward_client.get(f"{NOTICES}{notice.pk}/").json()["text"] == "隐私声明"
    assert AuditEntry.objects.filter(action="privacy_notice.publish").count() == 1


@pytest.mark.parametrize(
    ("role", "read", "publish"),
    [
        (None, 401, 401),
        (roles.MARKETER, 403, 403),
        (roles.DATA_STEWARD, 200, 201),
        (roles.ADMINISTRATOR, 200, 201),
    ],
    ids=["anonymous", "marketer", "steward", "administrator"],
)
def test_notices_need_their_permissions(make_user, team_a, role, read, publish):
    client = APIClient() if role is None else token_client(make_user(role, team_a))

    assert client.get(NOTICES).status_code == read
    response = client.post(NOTICES, {"version": "v1", "text": "Notice."}, format="json")

    assert response.status_code == publish
    assert PrivacyNotice.objects.count() == (1 if publish == 201 else 0)


def test_notices_cannot_be_changed_or_deleted_through_the_api(steward, steward_client):
    notice = notice_publish(version="v1", language="en", text="Notice.", actor=steward)
    url = f"{NOTICES}{notice.pk}/"
    assert steward_client.patch(url, {"text": "Other."}, format="json").status_code == 405
    assert steward_client.delete(url).status_code == 405
    assert PrivacyNotice.objects.get().text == "Notice."
