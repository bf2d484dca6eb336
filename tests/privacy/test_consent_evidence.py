"""Consent evidence proves how a choice was made and never holds the person's contact details
(privacy.consent.services.records.EVIDENCE_FIELDS): other fields are refused, naming them, and an
email address or phone number inside a value is removed before it is stored."""

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from privacy.consent.services.records import (
    ConsentError,
    consent_record,
    consents_record_bulk,
)
from privacy.core.scan import subject_scan
from privacy.erasure.services.erasure import subject_erase
from privacy.models import ConsentEvent
from tests.customers.factories import CustomerFactory
from tests.factories import api_token_for


@pytest.fixture(autouse=True)
def _own_media_directory(settings, tmp_path):
    """The scan reads MEDIA_ROOT too: each test scans its own, not files other tests left."""
    settings.MEDIA_ROOT = tmp_path / "media"


CONSENTS = "/api/v1/consents/"
EMAIL = "ann.lee@example.com"
PHONE = "+4915123456789"


@pytest.fixture
def ann(team_a):
    return CustomerFactory(owner_team=team_a, email=EMAIL, phone=PHONE)


@pytest.fixture
def api(steward):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(steward)}")
    return client


def grant(api, customer, evidence):
    return api.post(
        CONSENTS,
        {
            "customer": customer.pk,
            "purpose": "email_marketing",
            "status": "granted",
            "evidence": evidence,
        },
        format="json",
    )


@pytest.mark.parametrize(
    ("evidence", "field"),
    [
        ({"form": "signup", "email": EMAIL}, "evidence.email"),
        ({"phone": PHONE}, "evidence.phone"),
        ({"form": {"name": "signup", "email": EMAIL}}, "evidence.form"),
        ({"import_job": "seven"}, "evidence.import_job"),
        ({"user_agent": "x" * 5000}, "evidence"),
    ],
    ids=["email-field", "phone-field", "nested-object", "wrong-type", "too-large"],
)
def test_evidence_outside_its_fields_is_refused_naming_the_field(api, ann, evidence, field):
    response = grant(api, ann, evidence)

    assert response.status_code == 400, response.content
    assert [error["field"] for error in response.json()["errors"]] == [field]
    assert not ConsentEvent.objects.exists()


def test_contact_details_inside_a_value_are_removed_before_storing(api, ann):
    # Given evidence whose page address and form name carry the person's email and phone
    response = grant(
        api,
        ann,
        {
            "ip_address": "203.0.113.7",
            "page": "https://shop.example/signup?email=ann.lee%40example.com&step=2",
            "form": f"callback {PHONE[:3]} {PHONE[3:6]} {PHONE[6:]} / {EMAIL}",
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
        },
    )

    # Then the event keeps the proof without them, and says so in the answer
    assert response.status_code == 201, response.content
    expected = {
        "ip_address": "203.0.113.7",
        "page": "https://shop.example/signup?email=[removed]&step=2",
        "form": "callback [removed] / [removed]",
        "user_agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0",
    }
    assert response.json()["evidence"] == expected
    assert ConsentEvent.objects.get().evidence == expected


def test_an_import_file_named_after_a_person_is_not_kept_in_evidence(ann, team_a):
    consents_record_bulk(
        team=team_a,
        purpose_code="email_marketing",
        channel="email",
        statuses={ann.pk: "granted"},
        source="import",
        evidence={"import_job": 7, "file": f"{EMAIL}-leads.csv"},
    )

    assert ConsentEvent.objects.get().evidence == {"import_job": 7, "file": "[removed]"}


def test_the_service_refuses_unknown_evidence_for_every_caller(ann):
    with pytest.raises(ConsentError) as refused:
        consent_record(
            customer=ann,
            purpose_code="sms_marketing",
            channel="sms",
            status="granted",
            source="staff",
            evidence={"name": "Ann Lee"},
        )
    assert refused.value.field == "evidence.name"


def test_kept_consent_proof_holds_no_contact_details_after_an_erasure(
    api, ann, team_a, steward, settings
):
    # Given consent proof kept after erasures, and a grant whose evidence mentioned Ann's email
    settings.ERASURE_KEEP_CONSENT_PROOF = True
    response = grant(api, ann, {"page": f"https://shop.example/?email={EMAIL}&tel={PHONE}"})
    assert response.status_code == 201, response.content

    # When Ann is erased
    subject_erase(customer_ids=[ann.pk], team=team_a, actor=steward, reason="request")

    # Then the scan finds nothing of hers; the kept event's subject key is reported as kept
    result = subject_scan(emails=[EMAIL], phones=[PHONE])
    assert result.found == []
    assert {(hit.location, hit.needle) for hit in result.kept} == {
        ("public.privacy_consentevent.subject_key", "email (blind index)"),
        ("public.privacy_suppression.lookup_key", "email (blind index)"),
        ("public.privacy_suppression.lookup_key", "phone (blind index)"),
    }
    call_command("privacy_scan", "--email", EMAIL, "--phone", PHONE)
