"""The duplicates queue in a real browser: the differences stand out, and a merge is confirmed."""

import datetime

import pytest
from playwright.sync_api import expect

from customers.models import Customer, DuplicateCandidate, DuplicateStatus
from customers.services.duplicates import duplicates_find
from privacy.core import roles
from privacy.core.crypto import name_index
from tests.browser.test_privacy_requests import sign_in
from tests.factories import TeamFactory, TOTPDeviceFactory, UserFactory

pytestmark = pytest.mark.browser

BIRTH_DATE = datetime.date(1985, 3, 7)

# The background a highlighted row's cells are painted with (``.pair-comparison tr.differs td``).
HIGHLIGHT = "rgb(255, 244, 214)"


def make_customer(team, **fields) -> Customer:
    return Customer.objects.create(
        owner_team=team,
        given_name="Ada",
        family_name="Lovelace",
        name_index=name_index("Ada", "Lovelace"),
        **{"birth_date": BIRTH_DATE, **fields},
    )


@pytest.fixture
def steward_in_browser(transactional_db, live_server, page):
    team = TeamFactory(group__name="Retail")
    user = UserFactory(roles=[roles.DATA_STEWARD], teams=[team])
    sign_in(page, live_server.url, user, TOTPDeviceFactory(user=user))
    return team


def test_the_queue_highlights_differences_and_a_merge_is_confirmed(
    steward_in_browser, live_server, page
):
    # Given one person twice, in Oxford under two emails, and strangers sharing the name
    team = steward_in_browser
    first = make_customer(team, city="Oxford", email="ada@example.com", country="GB")
    second = make_customer(team, city="Oxford", email="ada.l@example.org", country="GB")
    make_customer(team, city="Oxford", birth_date=datetime.date(1990, 1, 1), country="GB")
    make_customer(team, city="Oxford", birth_date=None, country="US")
    assert duplicates_find() == 1

    # When the steward opens the queue
    page.goto(f"{live_server.url}/customers/duplicates/")

    # Then the one pair shows its score, and its differing email is highlighted, its city not
    pair = page.locator(".pair")
    expect(pair).to_have_count(1)
    expect(pair.locator(".pair-score")).to_have_text("Score 80")
    email = pair.locator("tr.field-email")
    expect(email).to_have_class("field-email differs")
    expect(email.locator("td").first).to_have_css("background-color", HIGHLIGHT)
    expect(email.locator("td").nth(1)).to_have_text("ada.l@example.org")
    expect(pair.locator("tr.field-city td").first).not_to_have_css("background-color", HIGHLIGHT)

    # When the steward asks to merge, Then a confirmation shows what the email will be
    pair.get_by_role("button", name="Merge…").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Merge customer #{second.pk} into customer #{first.pk}?"
    )
    expect(page.locator("tr.field-email td").nth(2)).to_have_text("overwritten by the right")
    assert DuplicateCandidate.objects.get().status == DuplicateStatus.OPEN

    # When the steward confirms, Then the pair is merged and the queue is empty
    page.get_by_role("button", name="Confirm the merge").click()
    expect(
        page.get_by_text(f"Customer #{second.pk} was merged into customer #{first.pk}.")
    ).to_be_visible()
    expect(page.get_by_role("heading", name="No open duplicates")).to_be_visible()
    assert DuplicateCandidate.objects.get().status == DuplicateStatus.MERGED
    assert Customer.objects.get(pk=second.pk).merged_into_id == first.pk
