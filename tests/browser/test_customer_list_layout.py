"""The customer list and the import preview fit the window: the page never scrolls sideways,
a wide table scrolls inside its own container, and the header fits a phone's width."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import expect

from privacy.core import roles
from tests.browser.test_privacy_requests import sign_in
from tests.customers.factories import CustomerFactory
from tests.factories import TeamFactory, TOTPDeviceFactory, UserFactory
from tests.shared_data import shared_file

# Whether the page itself scrolls sideways.
PAGE_OVERFLOW = "() => document.scrollingElement.scrollWidth - window.innerWidth"

# Each column header that can be neither seen nor reached by scrolling its table's container.
UNREACHABLE_HEADERS = """selector => {
    const table = document.querySelector(selector);
    const box = table.closest(".table-scroll, .import-table-scroll");
    const frame = box.getBoundingClientRect();
    if (frame.right > window.innerWidth + 1) { return ["container wider than the window"]; }
    return [...table.querySelectorAll("thead th")].filter(header => {
        const cell = header.getBoundingClientRect();
        const left = cell.left - frame.left + box.scrollLeft;
        return cell.width === 0 || left < 0 || left + cell.width > box.scrollWidth + 1;
    }).map(header => header.textContent.trim());
}"""


@pytest.fixture
def wide_list(transactional_db, live_server, page):
    """A steward of two teams who sees personal data, and customers with long values."""
    first = TeamFactory(group__name="Retail stores of the northern region")
    second = TeamFactory(group__name="Wholesale")
    user = UserFactory(roles=[roles.DATA_STEWARD], teams=[first, second])
    user.user_permissions.add(Permission.objects.get(codename="view_personal_data"))
    for number in range(60):
        CustomerFactory(
            owner_team=first if number % 2 else second,
            given_name="Maximiliane-Josephine",
            family_name=f"Vandenberghe-Oppenheimer{number}",
            email=f"maximiliane.josephine.vandenberghe{number}@a-very-long-domain.example.com",
            tags=["newsletter", "vip", "trade-fair-2025", "wholesale-lead"],
            total_spend=Decimal("123456.78"),
            order_count=42,
            rfm_group="Cannot lose them",
        )
    sign_in(page, live_server.url, user, TOTPDeviceFactory(user=user))
    return user


@pytest.mark.browser
def test_customer_list_fits_1400_pixels(wide_list, live_server, page):
    # Given a window 1400 px wide
    page.set_viewport_size({"width": 1400, "height": 900})
    # When the customer list is shown
    page.goto(f"{live_server.url}/customers/")
    expect(page.locator(".customer-table tbody tr")).to_have_count(50)
    # Then the page does not scroll sideways
    assert page.evaluate(PAGE_OVERFLOW) <= 0
    # And every column header is visible or reachable inside the table's own container
    assert page.evaluate(UNREACHABLE_HEADERS, ".customer-table") == []
    headers = page.locator(".customer-table thead th")
    expect(headers.filter(has_text="RFM group")).to_have_count(1)
    expect(headers.filter(has_text="Team")).to_have_count(1)
    # And the table scrolls inside its container, which is no taller than the window
    box = page.locator(".customer-table").evaluate(
        "table => table.closest('.table-scroll').getBoundingClientRect().height"
    )
    assert box <= 900
    # And the first column stays in place when the table scrolls sideways
    first_cell = page.locator(".customer-table tbody tr td:first-child").first
    before = first_cell.bounding_box()["x"]
    page.locator(".table-scroll").evaluate("box => { box.scrollLeft = box.scrollWidth; }")
    assert page.locator(".table-scroll").evaluate("box => box.scrollLeft") > 0
    assert first_cell.bounding_box()["x"] == pytest.approx(before, abs=1)


@pytest.mark.browser
def test_header_fits_390_pixels(wide_list, live_server, page):
    # Given a phone-sized window
    page.set_viewport_size({"width": 390, "height": 844})
    # When the customer list is shown
    page.goto(f"{live_server.url}/customers/")
    # Then neither the header nor the page overflows the window
    header_overflow = page.locator(".topbar").evaluate(
        "bar => Math.max(bar.scrollWidth - bar.clientWidth,"
        " ...[...bar.querySelectorAll('*')].map(item => item.getBoundingClientRect().right"
        " - window.innerWidth))"
    )
    assert header_overflow <= 0
    assert page.evaluate(PAGE_OVERFLOW) <= 0


@pytest.mark.browser
def test_import_preview_table_fits_1400_pixels(transactional_db, live_server, page):
    # Given a marketer and the messy customer file, in a window 1400 px wide
    team = TeamFactory(group__name="Retail")
    user = UserFactory(roles=[roles.MARKETER], teams=[team])
    sign_in(page, live_server.url, user, TOTPDeviceFactory(user=user))
    page.set_viewport_size({"width": 1400, "height": 900})
    # When the file's rows are previewed
    page.goto(f"{live_server.url}/customers/imports/new/")
    page.locator("input[type=file]").set_input_files(str(shared_file("customers_messy.csv")))
    page.get_by_role("button", name="Upload and choose columns").click()
    page.get_by_role("button", name="Preview the rows").click()
    expect(page.locator("tr[data-line]")).to_have_count(10)
    # Then the page does not scroll sideways and every column is reachable in its container
    assert page.evaluate(PAGE_OVERFLOW) <= 0
    assert page.evaluate(UNREACHABLE_HEADERS, ".import-preview") == []
    # And the container, with its scrollbar at the bottom, is no taller than the window
    height = page.locator(".import-table-scroll").first.evaluate(
        "box => box.getBoundingClientRect().height"
    )
    assert height <= 900
