"""Personal-data policy in one place: the teams a user may use, who sees personal data unmasked
and who takes it away (``privacy.core.access``), and what is masked (the record of processing,
``privacy.core.processing.masked_fields``, masked by ``privacy.core.masking``)."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from privacy.consent.services.notices import notice_publish
from privacy.consent.services.records import consent_record
from privacy.core import roles
from privacy.core.access import can_export_personal_data, can_view_personal_data, teams_for_user
from privacy.core.masking import field_mask, mask_email, mask_name, mask_phone, mask_text
from privacy.core.processing import masked_fields
from privacy.models import DataSubjectRequest
from privacy.requests.views import subject_for
from tests.customers.factories import CustomerFactory
from tests.factories import TeamFactory

pytestmark = pytest.mark.django_db


# --- The teams a user may use -------------------------------------------------------------------


def test_a_member_uses_her_teams_and_a_superuser_every_team(make_user, team_a, team_b):
    team_c = TeamFactory(group__name="Team C")
    marketer = make_user(roles.MARKETER, team_a, team_b)
    superuser = make_user(None, is_superuser=True)

    assert set(teams_for_user(marketer)) == {team_a, team_b}
    assert set(teams_for_user(superuser)) == {team_a, team_b, team_c}


def test_anonymous_and_inactive_superusers_use_no_team_but_their_own(make_user, team_a, team_b):
    inactive = make_user(None, team_a, is_superuser=True, is_active=False)

    assert list(teams_for_user(AnonymousUser())) == []
    assert list(teams_for_user(inactive)) == [team_a]


def test_a_superuser_counts_the_citations_of_a_notice_in_every_team(
    make_user, team_a, team_b, verified_client
):
    # Given a notice cited by a consent of team A and one of team B
    notice = notice_publish(version="2026-01", language="en", text="We keep data.", actor=None)
    for team in (team_a, team_b):
        consent_record(
            customer=CustomerFactory(owner_team=team),
            purpose_code="email_marketing",
            channel="email",
            status="granted",
            source="form",
            notice=notice,
        )

    # When a superuser, who reaches every team's consents, lists the notices
    response = verified_client(make_user(None, is_superuser=True)).get("/privacy/notices/")

    # Then both citations count
    assert [row.citations for row in response.context["notices"]] == [2]


# --- Seeing and taking away personal data -------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "may_view", "may_export"),
    [
        (roles.ADMINISTRATOR, True, True),
        (roles.DATA_STEWARD, True, True),
        (roles.MARKETER, False, False),
        (roles.ANALYST, False, False),
    ],
)
def test_who_sees_and_exports_personal_data(make_user, team_a, role, may_view, may_export):
    user = make_user(role, team_a)
    assert (can_view_personal_data(user), can_export_personal_data(user)) == (may_view, may_export)
    assert not can_view_personal_data(AnonymousUser())


# The policy's own spelling; anywhere else it is a copy that may drift.
_COPIES = {
    "a permission of personal data checked by name": re.compile(
        r"has_perm\(\s*(\"privacy\.(view|export)_personal_data\"|(VIEW|EXPORT)_PERSONAL_DATA)"
    ),
    "the teams of a user spelt out": re.compile(r"Team\.objects\.all\(\)\s+if\b"),
}


def test_no_module_but_the_access_layer_spells_the_policy_out():
    root = Path(settings.BASE_DIR)
    copies = [
        f"{path.relative_to(root)}: {what}"
        for package in ("privacy", "customers", "segments", "campaigns", "config")
        for path in sorted((root / package).rglob("*.py"))
        if "migrations" not in path.parts and path != root / "privacy/core/access.py"
        for what, pattern in _COPIES.items()
        if pattern.search(path.read_text(encoding="utf-8"))
    ]
    assert copies == []


# --- What is masked -----------------------------------------------------------------------------


def test_a_requests_masked_fields_are_the_persons_details_and_the_staffs_notes():
    assert masked_fields(DataSubjectRequest) == {
        "subject_email": "contact",
        "subject_phone": "contact",
        "subject_name": "identity",
        "details": "identity",
        "verification_note": "identity",
        "extension_reason": "identity",
        "outcome_note": "identity",
        "answer_note": "identity",
    }


@pytest.mark.parametrize(
    ("name", "mask"),
    [
        ("email", mask_email),
        ("subject_email", mask_email),
        ("phone", mask_phone),
        ("subject_phone", mask_phone),
        ("given_name", mask_name),
        ("subject_name", mask_name),
        ("display_name", mask_name),
        ("postal_address", mask_text),
        ("birth_date", mask_text),
        ("outcome_note", mask_text),
    ],
)
def test_a_masked_field_is_masked_by_what_its_name_says_it_holds(name, mask):
    assert field_mask(name) is mask


def test_the_request_page_masks_what_the_record_masks(team_a):
    subject_request = DataSubjectRequest(
        owner_team=team_a,
        subject_email="ann@example.com",
        subject_phone="+4915123456789",
        subject_name="Ann Lee",
        details="Moved to Hamburg",
        outcome_note="Address corrected",
        answer_note="Letter to Hamburg",
    )

    shown = subject_for(subject_request, can_view_personal_data=False)

    assert shown == {
        "email": "a•••@example.com",
        "phone": "+49•••89",
        "name": "A•••",
        "details": "•••",
        "verification_note": "",
        "extension_reason": "",
        "outcome_note": "•••",
        "answer_note": "•••",
        "is_masked": True,
    }
