"""The dashboard's and the data-quality page's charts, drawn by Chart.js in a real browser."""

import datetime
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from customers.models import Customer
from customers.quality.services import data_quality_snapshot_take
from privacy.core import roles
from tests.browser.test_privacy_requests import sign_in
from tests.customers.factories import CustomerFactory
from tests.factories import TeamFactory, TOTPDeviceFactory, UserFactory

DASHBOARD_CHARTS = (
    "chart-customers-over-time",
    "chart-customers-by-source",
    "chart-customers-by-country",
    "chart-customers-by-lifecycle",
    "chart-rfm-grid",
    "chart-consent-coverage",
)

# How many data points Chart.js drew on a canvas, or null when no chart owns it.
DRAWN_POINTS = """canvas => {
    const chart = window.Chart && window.Chart.getChart(canvas);
    if (!chart) { return null; }
    return chart.data.datasets.reduce((total, set) => total + set.data.length, 0);
}"""

# Whether anything was painted: some pixel of the canvas is not transparent.
PAINTED = """canvas => {
    const context = canvas.getContext("2d");
    const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
    for (let index = 3; index < pixels.length; index += 4) {
        if (pixels[index] !== 0) { return true; }
    }
    return false;
}"""


def _watch_errors(page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: errors.append(message.text) if message.type == "error" else None,
    )
    return errors


@pytest.fixture
def marketer_in_browser(transactional_db, live_server, page):
    team = TeamFactory(group__name="Retail")
    user = UserFactory(roles=[roles.MARKETER], teams=[team])
    sign_in(page, live_server.url, user, TOTPDeviceFactory(user=user))
    return team, user


@pytest.mark.browser
def test_the_dashboard_draws_a_chart_per_figure_with_its_table(
    marketer_in_browser, live_server, page
):
    # Given customers of the marketer's team, and of another team she may not see
    team, _user = marketer_in_browser
    for country, recency in (("DE", 5), ("DE", 4), ("CN", 1)):
        CustomerFactory(
            owner_team=team,
            country=country,
            rfm_recency=recency,
            rfm_frequency=3,
            total_spend=Decimal("12.50"),
        )
    CustomerFactory(owner_team=TeamFactory(group__name="Online"), country="JP")
    errors = _watch_errors(page)

    # When she opens the dashboard
    page.goto(f"{live_server.url}/")
    page.wait_for_load_state("networkidle")

    # Then every customer chart is a Chart.js chart that painted its figures
    for chart in DASHBOARD_CHARTS:
        canvas = page.locator(f'canvas[data-chart="{chart}"]')
        expect(canvas).to_be_visible()
        assert canvas.evaluate(DRAWN_POINTS), chart
        assert canvas.evaluate(PAINTED), chart
    # And the country table behind the chart holds her team's countries only
    section = page.locator("section", has=page.get_by_role("heading", name="By country"))
    section.get_by_text("Show as a table").click()
    rows = section.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("DE")
    expect(rows.nth(0)).to_contain_text("2")
    expect(page.get_by_text("No customers yet")).to_have_count(0)
    # And no data-subject request chart for a marketer
    expect(page.locator('canvas[data-chart="chart-requests-by-due-date"]')).to_have_count(0)

    # When she refreshes the figures after another customer arrived
    CustomerFactory(owner_team=team, country="FR")
    page.get_by_role("button", name="Refresh").click()

    # Then the tiles and the charts are drawn again with it
    expect(page.locator('[data-tile="customers"] .tile-value')).to_have_text("4")
    country_chart = page.locator('canvas[data-chart="chart-customers-by-country"]')
    expect(country_chart).to_be_visible()
    page.wait_for_function(
        "() => { const c = document.querySelector('canvas[data-chart=\"chart-customers-by-"
        "country\"]'); return window.Chart.getChart(c) && "
        "window.Chart.getChart(c).data.labels.length === 3; }"
    )
    assert errors == []


@pytest.mark.browser
def test_the_dashboard_shows_the_empty_state_without_customers(
    marketer_in_browser, live_server, page
):
    # Given customers of another team only
    CustomerFactory(owner_team=TeamFactory(group__name="Online"))

    page.goto(f"{live_server.url}/")

    expect(page.get_by_role("heading", name="No customers yet")).to_be_visible()
    expect(page.locator('canvas[data-chart^="chart-customers"]')).to_have_count(0)


@pytest.mark.browser
def test_the_data_quality_page_draws_the_trend_of_two_days(marketer_in_browser, live_server, page):
    # Given snapshots taken on two days, the second after a gap was filled
    team, _user = marketer_in_browser
    first = CustomerFactory(owner_team=team, country="", postal_code="10115")
    tidy = CustomerFactory(owner_team=team, country="DE", postal_code="10115")
    now = datetime.datetime.now(datetime.UTC)
    data_quality_snapshot_take(now=now - datetime.timedelta(days=1))
    Customer.objects.filter(pk=first.pk).update(country="DE")
    data_quality_snapshot_take(now=now)
    Customer.objects.filter(pk=first.pk).update(country="")
    errors = _watch_errors(page)

    # When the marketer opens the data-quality page from the main navigation
    page.goto(f"{live_server.url}/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Data quality").click()
    page.wait_for_load_state("networkidle")

    # Then the trend is a line per measure over the two days
    canvas = page.locator('canvas[data-chart="quality-trend-data"]')
    expect(canvas).to_be_visible()
    assert canvas.evaluate("c => window.Chart.getChart(c).data.labels.length") == 2
    assert canvas.evaluate("c => window.Chart.getChart(c).data.datasets.length") == 5
    assert canvas.evaluate(PAINTED)
    page.get_by_text("Show the trend as a table").click()
    expect(page.locator(".chart-table tbody tr")).to_have_count(2)

    # And today's empty country leads to the customer behind it
    row = page.locator('tr[data-field="country"]')
    row.get_by_role("link", name="1").first.click()
    expect(page.locator("#id_empty")).to_have_value("country")
    expect(page.locator(f'a[href="/customers/{first.pk}/"]').first).to_be_visible()
    expect(page.locator(f'a[href="/customers/{tidy.pk}/"]')).to_have_count(0)
    assert errors == []
