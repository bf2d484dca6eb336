"""The public preference centre's language switch, used in a real browser.

The public pages send ``Referrer-Policy: no-referrer`` (their address holds a capability), so a
browser posting a form from them sends ``Origin: null``: the switch must not depend on a POST
that CSRF protection checks.
"""

import pytest
from playwright.sync_api import expect

from privacy.consent.services.links import preference_token
from tests.customers.factories import CustomerFactory
from tests.factories import TeamFactory


@pytest.mark.browser
def test_preference_centre_language_switch_shows_the_page_in_the_chosen_language(
    transactional_db, live_server, page
):
    # Given a person's preference centre link, opened in an English browser
    customer = CustomerFactory(owner_team=TeamFactory(), email="ann@example.com")
    url = f"{live_server.url}/preferences/{preference_token(customer)}/"
    answers = []
    page.on("response", lambda response: answers.append((response.url, response.status)))
    page.goto(url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your communication preferences")

    # When they choose Chinese in the language switch
    page.get_by_label("Language").select_option("zh-hans")

    # Then the same page comes back in Chinese, and nothing on the way was refused
    expect(page.get_by_role("heading", level=1)).to_have_text("您的通讯偏好")
    assert page.url.startswith(url)
    assert [answer for answer in answers if answer[1] >= 400] == []
    # And it stays in Chinese on the next visit
    page.goto(url)
    expect(page.get_by_role("heading", level=1)).to_have_text("您的通讯偏好")
    # And switching back works the same way
    page.get_by_label("语言").select_option("en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your communication preferences")
