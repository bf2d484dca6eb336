"""The customer list's tools: pick-lists with counts, columns, saved views, bulk actions and
amounts with their currency."""

from collections import Counter
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from customers.models import Customer, CustomerListView
from customers.selectors import customer_pick_lists, customers_for_user
from privacy.core import roles
from privacy.models import AuditEntry
from tests.customers.factories import CustomerFactory, PurchaseFactory


@pytest.fixture
def mixed(team_a, team_b):
    """Customers of team A with assorted countries, sources and tags; team B's are not seen."""
    specs = [
        ("DE", "crm", ["vip", "newsletter"]),
        ("DE", "shop", ["vip"]),
        ("FR", "shop", []),
        ("", "event", ["newsletter", "trade-fair"]),
        ("AT", "crm", ["vip"]),
    ]
    own = [
        CustomerFactory(owner_team=team_a, country=country, source_channel=source, tags=tags)
        for country, source, tags in specs
    ]
    CustomerFactory(owner_team=team_b, country="ES", source_channel="api", tags=["vip", "b-only"])
    # A customer merged away is not listed, so not counted.
    gone = CustomerFactory(owner_team=team_a, country="IT", tags=["vip"])
    Customer.objects.filter(pk=gone.pk).update(merged_into=own[0])
    return own


def test_pick_list_counts_match_the_customers_the_user_sees(marketer_a, mixed):
    # When the pick-lists of the marketer's customers are read
    lists = customer_pick_lists(customers_for_user(marketer_a))
    # Then each count is what counting the visible customers in Python gives, most common first
    visible = list(customers_for_user(marketer_a))
    countries = Counter(customer.country for customer in visible if customer.country)
    sources = Counter(customer.source_channel for customer in visible if customer.source_channel)
    tags = Counter(tag for customer in visible for tag in customer.tags)

    def ranked(counter):
        return sorted(counter.items(), key=lambda item: (-item[1], item[0]))

    assert lists == {
        "country": ranked(countries),
        "source": ranked(sources),
        "tag": ranked(tags),
    }
    assert lists["tag"] == [("vip", 3), ("newsletter", 2), ("trade-fair", 1)]


def test_the_list_offers_pick_lists_with_counts(verified_client, marketer_a, mixed):
    response = verified_client(marketer_a).get(reverse("customers-home"))
    page = response.content.decode()
    assert '<option value="DE">DE (2)</option>' in page
    assert '<option value="vip">vip (3)</option>' in page
    assert "b-only" not in page  # another team's tag


def test_chosen_columns_are_kept_in_the_session(verified_client, marketer_a, mixed):
    client = verified_client(marketer_a)
    response = client.post(
        reverse("customer-list-columns"),
        {"column": ["email", "total_spend", "bogus"], "query": "tag=vip"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("customers-home") + "?tag=vip"
    listed = client.get(response["Location"])
    assert listed.context["columns"] == ["name", "email", "total_spend"]
    headers = listed.content.decode().split("<thead>")[1].split("</thead>")[0]
    assert "Total spend" in headers and "Country" not in headers


def test_a_saved_view_keeps_filters_and_columns_but_never_the_search(
    verified_client, marketer_a, mixed
):
    client = verified_client(marketer_a)
    # Given a posted search for a name within the tag "vip", and two chosen columns
    client.post(reverse("customer-list-columns"), {"column": ["country", "tags"]})
    searched = client.post(reverse("customers-home"), {"q": "Jane", "tag": "vip", "sort": "oldest"})
    query = searched.context["query"]
    assert query.startswith("search=")
    # When the view is saved
    response = client.post(reverse("customer-list-view-save"), {"name": "  VIP  ", "query": query})
    # Then it holds the filters and columns, and not the name searched for
    view = CustomerListView.objects.get(owner=marketer_a)
    assert (view.name, view.filters, view.columns) == (
        "VIP",
        {"tag": "vip", "sort": "oldest"},
        ["name", "country", "tags"],
    )
    assert "Jane" not in str(view.filters)
    assert AuditEntry.objects.filter(action="customer_list_view.save", actor=marketer_a).exists()
    # And opening it shows its filters in the address and its columns
    opened = client.get(response["Location"], follow=True)
    assert opened.redirect_chain[-1][0] == reverse("customers-home") + "?tag=vip&sort=oldest"
    assert opened.context["columns"] == ["name", "country", "tags"]
    assert len(opened.context["rows"]) == 3


def test_saved_views_are_the_users_own(verified_client, make_user, team_a, marketer_a, mixed):
    other = make_user(roles.MARKETER, team_a)
    theirs = CustomerListView.objects.create(owner=other, name="Theirs", filters={"tag": "vip"})
    client = verified_client(marketer_a)
    listed = client.get(reverse("customers-home"), {"view": theirs.pk})
    assert listed.status_code == 200 and list(listed.context["saved_views"]) == []
    client.post(reverse("customer-list-view-delete"), {"view": theirs.pk})
    assert CustomerListView.objects.filter(pk=theirs.pk).exists()


def test_bulk_tag_and_untag_change_the_selected_and_are_audited(
    verified_client, marketer_a, team_a, team_b, mixed
):
    client = verified_client(marketer_a)
    first, second = mixed[2], mixed[3]
    stranger = CustomerFactory(owner_team=team_b, tags=[])
    # When the marketer tags two of their customers and one of another team
    response = client.post(
        reverse("customer-bulk"),
        {
            "action": "tag",
            "tag": " Spring Sale ",
            "customer": [first.pk, second.pk, stranger.pk],
            "query": "sort=oldest",
        },
    )
    assert response.status_code == 302
    # Then their own two carry the tag, the stranger is untouched, one audit entry names them
    first.refresh_from_db()
    second.refresh_from_db()
    stranger.refresh_from_db()
    assert first.tags == ["spring sale"]
    assert second.tags == ["newsletter", "trade-fair", "spring sale"]
    assert stranger.tags == []
    entry = AuditEntry.objects.get(action="customer.tag")
    assert (entry.actor, entry.team_id, entry.metadata) == (
        marketer_a,
        team_a.pk,
        {"tag": "spring sale", "customer_ids": sorted([first.pk, second.pk])},
    )
    # When the tag is removed from both
    client.post(
        reverse("customer-bulk"),
        {"action": "untag", "tag": "spring sale", "customer": [first.pk, second.pk]},
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.tags, second.tags) == ([], ["newsletter", "trade-fair"])
    assert AuditEntry.objects.get(action="customer.untag").metadata["customer_ids"] == sorted(
        [first.pk, second.pk]
    )


def test_an_analyst_cannot_tag(verified_client, make_user, team_a, mixed):
    analyst = make_user(roles.ANALYST, team_a)
    response = verified_client(analyst).post(
        reverse("customer-bulk"), {"action": "tag", "tag": "x", "customer": [mixed[0].pk]}
    )
    assert response.status_code == 404
    mixed[0].refresh_from_db()
    assert "x" not in mixed[0].tags
    assert not AuditEntry.objects.filter(action="customer.tag").exists()


def test_export_of_the_selected(verified_client, steward, mixed):
    steward.user_permissions.add(Permission.objects.get(codename="export_personal_data"))
    client = verified_client(steward)
    response = client.post(
        reverse("customer-bulk"), {"action": "export", "customer": [mixed[0].pk, mixed[4].pk]}
    )
    assert response.status_code == 302
    export = client.get(response["Location"])
    lines = b"".join(export.streaming_content).decode("utf-8-sig").splitlines()
    assert len(lines) == 3  # the header and the two selected
    entry = AuditEntry.objects.get(action="customer.export")
    assert entry.metadata["row_count"] == 2
    assert entry.metadata["filters"] == ["selection"]


def test_total_spend_is_shown_with_the_teams_currency(verified_client, marketer_a, team_a):
    customer = CustomerFactory(owner_team=team_a, total_spend=Decimal("1234.50"))
    PurchaseFactory(customer=customer, currency="CNY")
    response = verified_client(marketer_a).get(reverse("customers-home"))
    assert '<td class="number" data-currency="CNY">1,234.50 <span class="small">CNY</span>' in (
        response.content.decode()
    )


def test_the_profile_shows_amounts_with_the_teams_currency(verified_client, marketer_a, team_a):
    customer = CustomerFactory(
        owner_team=team_a, total_spend=Decimal("99.80"), average_order_value=Decimal("49.90")
    )
    PurchaseFactory(customer=customer, currency="USD")
    page = verified_client(marketer_a).get(reverse("customer-detail", args=[customer.pk]))
    html = page.content.decode()
    assert '99.80 <span class="small">USD</span>' in html
    assert '49.90 <span class="small">USD</span>' in html
