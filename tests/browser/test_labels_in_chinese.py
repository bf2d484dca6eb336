"""In Chinese, the audit log and a customer's timeline read names, never stored codes."""

import re

import pytest
from playwright.sync_api import expect

from customers.services.merge import customer_merge
from privacy.core import roles
from privacy.core.services.audit import audit_record
from tests.browser.test_privacy_requests import sign_in
from tests.customers.factories import CustomerFactory, EventFactory, PurchaseFactory
from tests.factories import TeamFactory, TOTPDeviceFactory, UserFactory

# What a stored code looks like: an app or area, a dot, a name (auth.mfa_ok), or snake_case.
RAW_CODE = re.compile(
    r"\b(auth|customers?|privacy|consent|request|import)\.[a-z_]+|\b[a-z]+_[a-z_]+\b"
)


@pytest.mark.browser
def test_the_audit_log_and_a_timeline_in_chinese_show_no_codes(transactional_db, live_server, page):
    team = TeamFactory(group__name="Retail")
    admin = UserFactory(roles=[roles.ADMINISTRATOR], teams=[team])
    device = TOTPDeviceFactory(user=admin)
    ada = CustomerFactory(owner_team=team, given_name="Ada", source_channel="wechat")
    twin = CustomerFactory(owner_team=team, given_name="Ada", source_channel="crm")
    EventFactory(customer=ada, type="page_view", source="web")
    EventFactory(customer=ada, type="newsletter_signup", source="app")
    PurchaseFactory(customer=ada)
    customer_merge(survivor=ada, merged=twin, actor=admin, reason="duplicate")
    audit_record(action="customer.update", actor=admin, target=ada)

    sign_in(page, live_server.url, admin, device)
    page.context.add_cookies(
        [{"name": "django_language", "value": "zh-hans", "url": live_server.url}]
    )

    page.goto(f"{live_server.url}/privacy/audit/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    table = page.locator("table.table")
    expect(table).to_be_visible()
    text = table.inner_text()
    assert "已用一次性验证码登录" in text  # auth.mfa_ok, by its name
    assert not RAW_CODE.search(text), RAW_CODE.search(text).group(0)
    # the entry about Ada links to her profile
    page.locator("table.table a", has_text=f"#{ada.pk}").first.click()
    expect(page).to_have_url(f"{live_server.url}/customers/{ada.pk}/")

    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("页面浏览")
    for section in ("#timeline", "#merges", "#consents"):
        text = page.locator(section).inner_text()
        assert not RAW_CODE.search(text), (section, RAW_CODE.search(text).group(0))
    assert "微信" in page.locator("main").inner_text()  # the source channel, by its name
