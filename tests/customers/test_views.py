"""The customers staff UI: list, export, profile, edit, merge and undo, duplicates queue.

Over 600 lines: one test module per screen family.
"""

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer, DuplicateStatus, Event, MergeRecord
from customers.services.merge import customer_merge
from privacy.core import roles
from privacy.models import AuditEntry
from tests.customers.factories import (
    CustomerFactory,
    DuplicateCandidateFactory,
    EventFactory,
    ExternalIdentityFactory,
    PurchaseFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def analyst_a(make_user, team_a):
    return make_user(roles.ANALYST, team_a)


@pytest.fixture
def marketer_b(make_user, team_b):
    return make_user(roles.MARKETER, team_b)


@pytest.fixture
def jane(team_a):
    return CustomerFactory(
        owner_team=team_a,
        given_name="Jane",
        family_name="Doe",
        email="jane@example.com",
        phone="+493012345678",
        company="Acme",
        tags=["vip", "newsletter"],
        attributes={"shoe_size": 38},
        order_count=3,
        total_spend=Decimal("120.50"),
        average_order_value=Decimal("40.17"),
        rfm_recency=5,
        rfm_frequency=3,
        rfm_monetary=4,
        rfm_group="Champions",
    )


def audit_actions() -> list[str]:
    """Audit entries other than signing in, oldest first."""
    return list(
        AuditEntry.objects.exclude(action__startswith="auth.")
        .order_by("id")
        .values_list("action", flat=True)
    )


def snapshot(customer: Customer) -> dict:
    customer = Customer.objects.get(pk=customer.pk)
    return {
        "email": customer.email,
        "company": customer.company,
        "merged_into": customer.merged_into_id,
        "updated_at": customer.updated_at,
    }


def html(response) -> str:
    return response.content.decode()


# --- URL names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url_name", "path"),
    [
        ("customer-detail", "/customers/7/"),
        ("customer-timeline", "/customers/7/timeline/"),
        ("customer-edit", "/customers/7/edit/"),
        ("customer-merge", "/customers/7/merge/"),
        ("customer-merge-undo", "/customers/7/merge/undo/"),
    ],
)
def test_url_names_lead_to_the_staff_ui_not_the_api(url_name, path):
    # The API router also names routes "customer-detail", "customer-merge"...; it must be
    # namespaced so these names stay the staff UI's.
    assert reverse(url_name, kwargs={"pk": 7}) == path


# --- Anonymous --------------------------------------------------------------------------------

ANONYMOUS_CASES = [
    pytest.param("get", "customers-home", False, id="list"),
    pytest.param("get", "customer-export", False, id="export"),
    pytest.param("get", "duplicate-list", False, id="duplicates"),
    pytest.param("get", "customer-detail", True, id="detail"),
    pytest.param("get", "customer-timeline", True, id="timeline"),
    pytest.param("get", "customer-edit", True, id="edit-form"),
    pytest.param("post", "customer-edit", True, id="edit-save"),
    pytest.param("post", "customer-merge", True, id="merge"),
    pytest.param("post", "customer-merge-undo", True, id="undo"),
]


@pytest.mark.parametrize(("method", "url_name", "takes_pk"), ANONYMOUS_CASES)
def test_anonymous_is_sent_to_sign_in_and_nothing_changes(client, jane, method, url_name, takes_pk):
    # Given a customer and nobody signed in
    before = snapshot(jane)
    url = reverse(url_name, args=[jane.pk] if takes_pk else [])

    # When an anonymous visitor calls the view
    response = getattr(client, method)(url, {"company": "Hacked", "other": jane.pk})

    # Then they are sent to the sign-in page and the customer is as it was
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert snapshot(jane) == before
    assert audit_actions() == []


def test_anonymous_cannot_decide_a_duplicate(client, team_a):
    candidate = DuplicateCandidateFactory(owner_team=team_a)
    response = client.post(reverse("duplicate-decide", args=[candidate.pk]), {"decision": "merge"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    candidate.refresh_from_db()
    assert candidate.status == DuplicateStatus.OPEN


# --- List -------------------------------------------------------------------------------------


def test_list_shows_the_teams_customers_masked_for_a_marketer(
    verified_client, marketer_a, jane, team_b
):
    # Given Jane in team A and a customer of team B
    CustomerFactory(owner_team=team_b, given_name="Other", email="other@example.com")

    # When a marketer of team A opens the list
    response = verified_client(marketer_a).get(reverse("customers-home"))

    # Then only Jane is listed, with her contact details masked
    assert response.status_code == 200
    page = html(response)
    assert "j•••@example.com" in page
    assert "+49•••78" in page
    assert "J•••" in page
    assert "jane@example.com" not in page
    assert "o•••@example.com" not in page
    assert "other@example.com" not in page
    assert response.context["window"].total == 1
    assert [customer.pk for customer, _contact in response.context["rows"]] == [jane.pk]
    assert "Champions" in page
    assert '<span class="tag">vip</span>' in page
    assert "120.50" in page


def test_list_shows_contact_details_to_a_data_steward(verified_client, steward, jane):
    response = verified_client(steward).get(reverse("customers-home"))
    page = html(response)
    assert "jane@example.com" in page
    assert "+493012345678" in page
    assert "Jane Doe" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param({"q": "JANE@example.com"}, ["jane"], id="exact-email"),
        pytest.param({"q": "+49 30 12345678"}, ["jane"], id="exact-phone"),
        pytest.param({"q": "jane doe"}, ["jane"], id="name-words"),
        pytest.param({"q": "pier"}, ["pierre"], id="name-prefix"),
        pytest.param({"q": "ja"}, [], id="two-letters-match-whole-words-only"),
        pytest.param({"tag": "VIP"}, ["jane"], id="tag"),
        pytest.param({"country": "fr"}, ["pierre"], id="country-code"),
        pytest.param({"country": "France"}, ["pierre"], id="country-name"),
        pytest.param({"source": "shop"}, ["pierre"], id="source"),
        pytest.param({"rfm_group": "Champions"}, ["jane"], id="rfm-group"),
        pytest.param({"sort": "oldest"}, ["jane", "pierre"], id="oldest-first"),
        pytest.param({"sort": "newest"}, ["pierre", "jane"], id="newest-first"),
        pytest.param({"sort": "total_spend"}, ["pierre", "jane"], id="total-spend"),
        pytest.param({"sort": "last_purchase"}, ["jane", "pierre"], id="last-purchase"),
    ],
)
def test_list_search_filters_and_sort(verified_client, marketer_a, jane, team_a, query, expected):
    # Given Jane and Pierre, who differ in every filtered attribute
    pierre = CustomerFactory(
        owner_team=team_a,
        given_name="Pierre",
        family_name="Martin",
        country="FR",
        source_channel="shop",
        total_spend=Decimal("900.00"),
        last_purchase_at=None,
    )
    Customer.objects.filter(pk=jane.pk).update(last_purchase_at=timezone.now())
    names = {jane.pk: "jane", pierre.pk: "pierre"}

    # When the marketer searches
    response = verified_client(marketer_a).post(reverse("customers-home"), query)

    # Then exactly the expected customers are listed, in order
    assert response.status_code == 200
    assert [names[customer.pk] for customer, _contact in response.context["rows"]] == expected


def test_list_search_with_a_malformed_email_explains_the_problem(verified_client, marketer_a, jane):
    response = verified_client(marketer_a).post(reverse("customers-home"), {"q": "jane@@example"})
    assert response.status_code == 200
    assert response.context["form"].errors == {"q": ["invalid email"]}
    assert response.context["rows"] == []
    assert "No customers match" in html(response)


def test_a_search_keeps_personal_data_out_of_every_address(verified_client, steward, team_a):
    # Given 51 customers named Jane Roe and one other
    CustomerFactory.create_batch(
        51, owner_team=team_a, given_name="Jane", family_name="Roe", identities=False
    )
    CustomerFactory(owner_team=team_a, given_name="Other", identities=False)
    client = verified_client(steward)

    # When the steward searches for "Jane Roe" through the form, then follows "Next"
    first = client.post(reverse("customers-home"), {"q": "Jane Roe"})
    next_link = re.search(r'href="\?([^"]*)" rel="next"', html(first)).group(1)
    export_link = re.search(r'href="(/customers/export/[^"]*)"', html(first)).group(1)
    second = client.get(reverse("customers-home") + "?" + next_link.replace("&amp;", "&"))

    # Then both pages hold the search's results, the search box keeps its text, and no address
    # (the next page, the export) holds the name
    assert first.context["window"].total == 51
    assert len(first.context["rows"]) == 50
    assert [c.given_name for c, _contact in second.context["rows"]] == ["Jane"]
    assert second.context["form"]["q"].value() == "Jane Roe"
    for address in (next_link, export_link):
        assert "Jane" not in address and "Roe" not in address
        assert "search=" in address
    assert '<form method="post"' in html(first)
    entries = AuditEntry.objects.filter(action="customer.search").order_by("id")
    assert [
        (entry.metadata["terms"], len(entry.metadata["customer_ids"])) for entry in entries
    ] == [
        (["name"], 50),
        (["name"], 1),
    ]


def test_a_search_in_the_address_is_not_run(verified_client, marketer_a, jane, team_a):
    CustomerFactory(owner_team=team_a, given_name="Pierre")

    response = verified_client(marketer_a).get(reverse("customers-home"), {"q": "jane doe"})

    assert response.context["window"].total == 2


def test_an_export_address_with_a_search_in_it_exports_nothing(verified_client, steward, jane):
    response = verified_client(steward).get(reverse("customer-export"), {"q": "jane doe"})

    assert response.status_code == 302
    assert response["Location"] == reverse("customers-home")
    assert not AuditEntry.objects.filter(action__startswith="customer.export").exists()


def test_list_with_an_unknown_country_says_so(verified_client, marketer_a, jane):
    response = verified_client(marketer_a).get(reverse("customers-home"), {"country": "Atlantis"})
    assert response.context["form"].errors == {"country": ["Unknown country."]}
    assert response.context["rows"] == []


def test_empty_list_invites_an_import(verified_client, marketer_a):
    response = verified_client(marketer_a).get(reverse("customers-home"))
    assert response.status_code == 200
    page = html(response)
    assert "No customers yet" in page
    assert f'<a class="button" href="{reverse("import-start")}">Import a CSV file</a>' in page


def test_list_pages_hold_fifty_customers(verified_client, marketer_a, team_a):
    customers = CustomerFactory.create_batch(51, owner_team=team_a, identities=False)
    client = verified_client(marketer_a)

    first = client.get(reverse("customers-home"))
    second = client.get(reverse("customers-home"), {"page": 2})

    assert len(first.context["rows"]) == 50
    assert first.context["window"].has_next is True
    assert 'rel="next"' in html(first)
    assert [customer.pk for customer, _contact in second.context["rows"]] == [customers[0].pk]
    assert second.context["window"].has_next is False
    assert "Showing 51\N{EN DASH}51 of 51 customers" in html(second)
    beyond = client.get(reverse("customers-home"), {"page": "99999999999999999999999"})
    assert (beyond.status_code, beyond.context["rows"]) == (200, [])
    assert "No customers on this page" in html(beyond)


def test_list_query_count_does_not_grow_with_rows(
    verified_client, marketer_a, team_a, django_assert_num_queries
):
    # Given a signed-in marketer whose team has three customers
    client = verified_client(marketer_a)
    CustomerFactory.create_batch(3, owner_team=team_a, tags=["a", "b"])
    client.get(reverse("customers-home"))  # warm the content-type cache

    # When the list is shown with 3 rows and then with 50 of 63 rows
    # Then it costs the same 17 queries: session, user, OTP device, staff profile, the user's
    # and the user's groups' permissions (2), the teams for the filter, the pick-lists'
    # countries, sources and tags (3), the page's rows, the capped count, the teams'
    # currencies, the user's saved views, and the session saved on every request (savepoint,
    # update, release).
    with django_assert_num_queries(17):
        assert len(client.get(reverse("customers-home")).context["rows"]) == 3
    CustomerFactory.create_batch(60, owner_team=team_a, tags=["c"])
    with django_assert_num_queries(17):
        assert len(client.get(reverse("customers-home"), {"tag": "c"}).context["rows"]) == 50


# --- Export -----------------------------------------------------------------------------------


def read_csv(response) -> list[list[str]]:
    content = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(content)))


def test_export_neutralises_formulas_and_is_audited(verified_client, steward, jane, team_a, team_b):
    # Given a customer whose company is a spreadsheet formula, another in France, one of team B
    jane.company = '=HYPERLINK("x")'
    jane.save()
    CustomerFactory(owner_team=team_a, country="FR")
    CustomerFactory(owner_team=team_b)

    # When the data steward exports the German customers
    response = verified_client(steward).get(reverse("customer-export"), {"country": "DE"})

    # Then the CSV streams one row per customer, the formula is neutralised, contacts are shown
    assert response.status_code == 200
    assert response.streaming is True
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="customers-')
    header, *rows = read_csv(response)
    assert header[:4] == ["id", "name", "email", "phone"]
    assert len(rows) == 1
    row = dict(zip(header, rows[0], strict=True))
    assert row["id"] == str(jane.pk)
    assert row["company"] == '\'=HYPERLINK("x")'
    assert row["email"] == "jane@example.com"
    assert row["tags"] == "vip;newsletter"
    # And one audit entry names the filter but not its value
    entry = AuditEntry.objects.get(action="customer.export")
    assert entry.actor == steward
    assert entry.metadata == {"row_count": 1, "filters": ["country"], "masked": False}


def test_export_masks_contacts_without_view_personal_data(verified_client, analyst_a, jane):
    # Given an analyst granted export but not "view personal data"
    analyst_a.user_permissions.add(Permission.objects.get(codename="export_personal_data"))

    response = verified_client(analyst_a).get(reverse("customer-export"))

    header, *rows = read_csv(response)
    row = dict(zip(header, rows[0], strict=True))
    assert (row["name"], row["email"], row["phone"]) == ("J•••", "j•••@example.com", "'+49•••78")
    assert AuditEntry.objects.get(action="customer.export").metadata["masked"] is True


def test_export_without_permission_is_a_404_and_only_the_refusal_is_audited(
    verified_client, marketer_a, jane
):
    response = verified_client(marketer_a).get(reverse("customer-export"))
    assert response.status_code == 404
    assert audit_actions() == ["access.denied"]


# --- Profile ----------------------------------------------------------------------------------


def test_profile_masks_contacts_for_a_marketer_and_writes_no_audit(
    verified_client, marketer_a, jane
):
    ExternalIdentityFactory(customer=jane, channel="wechat", lookup_key="wx-jane")

    response = verified_client(marketer_a).get(reverse("customer-detail", args=[jane.pk]))

    assert response.status_code == 200
    page = html(response)
    assert "j•••@example.com" in page
    assert "jane@example.com" not in page
    assert "+493012345678" not in page
    assert "wx-jane" in page
    assert "shoe_size" in page
    assert "Champions" in page
    assert "recency 5, frequency 3, monetary 4" in page
    assert "Contact details are masked" in page
    assert audit_actions() == []


def test_profile_shows_contacts_to_a_steward_and_audits_the_view(verified_client, steward, jane):
    response = verified_client(steward).get(reverse("customer-detail", args=[jane.pk]))

    assert response.status_code == 200
    assert "jane@example.com" in html(response)
    entry = AuditEntry.objects.get(action="customer.view_personal_data")
    assert (entry.actor, entry.object_type, entry.object_id) == (
        steward,
        "customers.customer",
        str(jane.pk),
    )


@pytest.mark.parametrize("url_name", ["customer-detail", "customer-timeline", "customer-edit"])
def test_another_teams_customer_is_a_404_like_a_missing_one(
    verified_client, marketer_b, jane, url_name
):
    client = verified_client(marketer_b)
    forbidden = client.get(reverse(url_name, args=[jane.pk]))
    missing = client.get(reverse(url_name, args=[jane.pk + 1000]))
    assert forbidden.status_code == missing.status_code == 404
    # Only the audit log tells them apart: the refusal is recorded, the missing one is not
    assert audit_actions() == ["access.denied"]


def test_a_merged_away_customer_leads_to_the_survivor(verified_client, marketer_a, jane, team_a):
    other = CustomerFactory(owner_team=team_a)
    customer_merge(survivor=jane, merged=other)
    response = verified_client(marketer_a).get(reverse("customer-detail", args=[other.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("customer-detail", args=[jane.pk])


def test_timeline_loads_older_entries(verified_client, marketer_a, jane):
    # Given 55 events an hour apart and a purchase older than all of them
    now = timezone.now()
    events = [
        EventFactory(
            customer=jane, type=f"visit_{index:02d}", occurred_at=now - timedelta(hours=index)
        )
        for index in range(55)
    ]
    PurchaseFactory(customer=jane, order_reference="SO-OLD", occurred_at=now - timedelta(days=30))
    client = verified_client(marketer_a)

    # When the profile opens, it shows the newest 50 with a "Load older" link for htmx
    detail = client.get(reverse("customer-detail", args=[jane.pk]))
    assert [entry["label"] for entry in detail.context["entries"]] == [
        f"visit_{index:02d}" for index in range(50)
    ]
    next_before = detail.context["next_before"]
    assert next_before == f"{events[49].occurred_at.isoformat()}|event|{events[49].pk}"
    timeline_url = reverse("customer-timeline", args=[jane.pk])
    page = html(detail)
    assert 'hx-swap="outerHTML"' in page
    assert f'hx-get="{timeline_url}?before=' in page

    # And following it returns the older rows and no further link
    older = client.get(timeline_url, {"before": next_before})
    assert older.status_code == 200
    assert [entry["label"] for entry in older.context["entries"]] == [
        *(f"visit_{index:02d}" for index in range(50, 55)),
        "SO-OLD",
    ]
    assert older.context["next_before"] == ""
    assert html(older).lstrip().startswith("<tr")
    assert "Load older" not in html(older)


# --- Edit -------------------------------------------------------------------------------------


def test_edit_with_an_invalid_email_shows_the_error_and_changes_nothing(
    verified_client, steward, jane
):
    before = snapshot(jane)
    url = reverse("customer-edit", args=[jane.pk])
    form = verified_client(steward).get(url).context["form"]
    data = {**form.initial, "email": "not-an-email", "company": "Acme GmbH"}

    response = verified_client(steward).post(url, data)

    assert response.status_code == 200
    assert response.context["form"].errors == {"email": ["invalid email"]}
    assert 'class="error">invalid email<' in html(response)
    assert snapshot(jane) == before
    assert "customer.update" not in audit_actions()


def test_edit_sends_only_the_changed_fields(verified_client, steward, jane):
    url = reverse("customer-edit", args=[jane.pk])
    client = verified_client(steward)
    data = {**client.get(url).context["form"].initial, "company": "Acme GmbH", "tags": "vip, gold"}

    response = client.post(url, data)

    assert response.status_code == 302
    assert response["Location"] == reverse("customer-detail", args=[jane.pk])
    jane.refresh_from_db()
    assert (jane.company, jane.tags, jane.email) == (
        "Acme GmbH",
        ["vip", "gold"],
        "jane@example.com",
    )
    entry = AuditEntry.objects.get(action="customer.update")
    assert entry.metadata == {"fields": ["company", "tags"]}


def test_a_marketer_edits_without_seeing_or_changing_contact_details(
    verified_client, marketer_a, jane
):
    url = reverse("customer-edit", args=[jane.pk])
    client = verified_client(marketer_a)
    form_page = client.get(url)
    assert "email" not in form_page.context["form"].fields
    assert "jane@example.com" not in html(form_page)

    response = client.post(
        url,
        {**form_page.context["form"].initial, "email": "evil@example.com", "city": "Hamburg"},
    )

    assert response.status_code == 302
    jane.refresh_from_db()
    assert (jane.city, jane.email) == ("Hamburg", "jane@example.com")
    assert audit_actions() == ["customer.update"]


def test_a_read_only_analyst_cannot_edit(verified_client, analyst_a, jane):
    before = snapshot(jane)
    client = verified_client(analyst_a)
    url = reverse("customer-edit", args=[jane.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"company": "Hacked", "lifecycle_status": "lead"}).status_code == 404
    assert snapshot(jane) == before
    detail = client.get(reverse("customer-detail", args=[jane.pk]))
    assert url not in html(detail)
    assert reverse("customer-merge", args=[jane.pk]) not in html(detail)


def test_another_team_cannot_edit(verified_client, marketer_b, jane):
    before = snapshot(jane)
    response = verified_client(marketer_b).post(
        reverse("customer-edit", args=[jane.pk]), {"company": "Hacked", "lifecycle_status": "lead"}
    )
    assert response.status_code == 404
    assert snapshot(jane) == before


# --- Merge and undo ---------------------------------------------------------------------------


def test_merge_and_undo_round_trip(verified_client, marketer_a, jane, team_a):
    # Given Jane and a second profile of hers with an event
    other = CustomerFactory(owner_team=team_a, given_name="Jane", family_name="Doe")
    event = EventFactory(customer=other, type="store_visit")
    client = verified_client(marketer_a)

    # When the marketer merges the other profile into Jane's
    merged = client.post(reverse("customer-merge", args=[jane.pk]), {"other": other.pk})

    # Then the other profile points at Jane, the event moved, and the history shows the merge
    assert merged.status_code == 302
    assert merged["Location"] == reverse("customer-detail", args=[jane.pk])
    other.refresh_from_db()
    assert other.merged_into_id == jane.pk
    assert Event.objects.get(pk=event.pk).customer_id == jane.pk
    detail = client.get(reverse("customer-detail", args=[jane.pk]))
    assert f"Customer #{other.pk} was merged into this profile." in html(detail)
    assert detail.context["undoable_merge"].merged_id == other.pk
    assert reverse("customer-merge-undo", args=[jane.pk]) in html(detail)

    # When they undo it
    undone = client.post(reverse("customer-merge-undo", args=[jane.pk]))

    # Then the other profile and its event are back, and both steps are audited
    assert undone.status_code == 302
    other.refresh_from_db()
    assert other.merged_into_id is None
    assert Event.objects.get(pk=event.pk).customer_id == other.pk
    assert MergeRecord.objects.get(survivor=jane).undone_at is not None
    assert audit_actions() == ["customer.merge", "customer.merge_undo"]
    after = client.get(reverse("customer-detail", args=[jane.pk]))
    assert after.context["undoable_merge"] is None
    assert "Undone" in html(after)


def test_a_read_only_analyst_cannot_merge_or_undo(verified_client, analyst_a, jane, team_a):
    other = CustomerFactory(owner_team=team_a)
    customer_merge(survivor=jane, merged=CustomerFactory(owner_team=team_a))
    client = verified_client(analyst_a)

    merge = client.post(reverse("customer-merge", args=[jane.pk]), {"other": other.pk})
    undo = client.post(reverse("customer-merge-undo", args=[jane.pk]))

    assert (merge.status_code, undo.status_code) == (404, 404)
    assert snapshot(other)["merged_into"] is None
    assert MergeRecord.objects.get(survivor=jane).undone_at is None


def test_another_team_cannot_merge_into_or_undo_a_customer(
    verified_client, marketer_b, jane, team_b
):
    theirs = CustomerFactory(owner_team=team_b)
    client = verified_client(marketer_b)
    assert (
        client.post(reverse("customer-merge", args=[jane.pk]), {"other": theirs.pk}).status_code
        == 404
    )
    assert client.post(reverse("customer-merge-undo", args=[jane.pk])).status_code == 404
    assert snapshot(theirs)["merged_into"] is None
    assert MergeRecord.objects.count() == 0


def test_merging_another_teams_customer_is_refused_like_a_missing_one(
    verified_client, marketer_a, jane, team_b
):
    # Given a customer of team B that the marketer of team A cannot reach
    theirs = CustomerFactory(owner_team=team_b)
    client = verified_client(marketer_a)

    forbidden = client.post(
        reverse("customer-merge", args=[jane.pk]), {"other": theirs.pk}, follow=True
    )
    missing = client.post(
        reverse("customer-merge", args=[jane.pk]), {"other": theirs.pk + 1000}, follow=True
    )

    assert f"There is no customer #{theirs.pk} that you may change." in html(forbidden)
    assert f"There is no customer #{theirs.pk + 1000} that you may change." in html(missing)
    assert snapshot(theirs)["merged_into"] is None
    assert MergeRecord.objects.count() == 0


def test_a_customer_cannot_be_merged_into_itself(verified_client, marketer_a, jane):
    response = verified_client(marketer_a).post(
        reverse("customer-merge", args=[jane.pk]), {"other": jane.pk}, follow=True
    )
    assert "A customer cannot be merged into itself." in html(response)
    assert MergeRecord.objects.count() == 0


# --- Duplicates -------------------------------------------------------------------------------


def test_duplicates_list_shows_the_teams_open_pairs_masked(
    verified_client, marketer_a, team_a, team_b
):
    # Given an open pair of team A, a dismissed one, and an open pair of team B
    ours = DuplicateCandidateFactory(
        owner_team=team_a, first__email="anna@example.com", second__email="anna.b@example.com"
    )
    DuplicateCandidateFactory(owner_team=team_a, status=DuplicateStatus.DISMISSED)
    DuplicateCandidateFactory(owner_team=team_b)

    response = verified_client(marketer_a).get(reverse("duplicate-list"))

    assert response.status_code == 200
    assert [pair[0].pk for pair in response.context["pairs"]] == [ours.pk]
    page = html(response)
    assert "a•••@example.com" in page
    assert "anna@example.com" not in page
    assert "Score 70" in page
    assert reverse("duplicate-decide", args=[ours.pk]) in page


def test_the_queue_lists_the_most_alike_first_and_marks_what_differs(
    verified_client, make_user, team_a
):
    # Given a weak pair found first and a strong pair found later, and a steward
    weak = DuplicateCandidateFactory(
        owner_team=team_a,
        score=50,
        reasons=["name", "city"],
        first__city="Oxford",
        second__city="Oxford",
        first__email="ada@example.com",
        second__email="ada.l@example.org",
    )
    strong = DuplicateCandidateFactory(owner_team=team_a, score=100)
    steward = make_user(roles.DATA_STEWARD, team_a)

    # When the steward opens the queue
    response = verified_client(steward).get(reverse("duplicate-list"))

    # Then the strong pair comes first, with its score, what matched, and the rows that differ
    assert [pair[0].pk for pair in response.context["pairs"]] == [strong.pk, weak.pk]
    _candidate, reasons, fields = response.context["pairs"][1]
    assert reasons == ["Name", "City"]
    by_name = {field.name: field for field in fields}
    assert (by_name["email"].first, by_name["email"].second) == (
        "ada@example.com",
        "ada.l@example.org",
    )
    assert by_name["email"].differs and not by_name["city"].differs
    page = html(response)
    assert "Score 100" in page and "Score 50" in page
    assert f'id="pair-{weak.pk}"' in page
    section = page.split(f'id="pair-{weak.pk}"')[1]
    assert 'class="field-email differs"' in section
    assert 'class="field-city"' in section


def test_merging_a_pair_asks_to_confirm_what_each_field_keeps(verified_client, marketer_a, team_a):
    # Given a pair whose profiles know different cities, the right one the newer
    candidate = DuplicateCandidateFactory(
        owner_team=team_a, first__city="Oxford", second__city="Cambridge", second__phone=""
    )

    # When the marketer asks to merge it
    response = verified_client(marketer_a).post(
        reverse("duplicate-decide", args=[candidate.pk]), {"decision": "merge"}
    )

    # Then a confirmation shows the fields that differ and what the merge does with each; the
    # masked values stay masked; and nothing is merged yet
    assert response.status_code == 200
    assert response.templates[0].name == "customers/duplicate_confirm.html"
    fields = {field.name: field for field in response.context["fields"]}
    assert (fields["city"].first, fields["city"].second) == ("Oxford", "Cambridge")
    assert fields["city"].outcome == "overwritten by the right"
    assert all("@" not in field.first or "•••" in field.first for field in fields.values())
    page = html(response)
    assert 'name="confirm" value="1"' in page
    candidate.refresh_from_db()
    assert candidate.status == DuplicateStatus.OPEN
    assert MergeRecord.objects.count() == 0


def test_merging_a_duplicate_pair(verified_client, marketer_a, team_a):
    candidate = DuplicateCandidateFactory(owner_team=team_a)

    response = verified_client(marketer_a).post(
        reverse("duplicate-decide", args=[candidate.pk]), {"decision": "merge", "confirm": "1"}
    )

    assert response.status_code == 302
    candidate.refresh_from_db()
    assert (candidate.status, candidate.decided_by) == (DuplicateStatus.MERGED, marketer_a)
    assert candidate.decided_at is not None
    assert snapshot(candidate.second)["merged_into"] == candidate.first_id
    assert MergeRecord.objects.get().reason == "duplicate"
    assert audit_actions() == ["customer.merge"]


def test_dismissing_a_duplicate_pair(verified_client, marketer_a, team_a):
    candidate = DuplicateCandidateFactory(owner_team=team_a)

    response = verified_client(marketer_a).post(
        reverse("duplicate-decide", args=[candidate.pk]), {"decision": "dismiss"}
    )

    assert response.status_code == 302
    candidate.refresh_from_db()
    assert (candidate.status, candidate.decided_by) == (DuplicateStatus.DISMISSED, marketer_a)
    assert snapshot(candidate.second)["merged_into"] is None
    entry = AuditEntry.objects.get(action="duplicate.dismiss")
    assert entry.metadata == {
        "first_customer": candidate.first_id,
        "second_customer": candidate.second_id,
    }
    listed = verified_client(marketer_a).get(reverse("duplicate-list"))
    assert listed.context["pairs"] == []


@pytest.mark.parametrize("user_fixture", ["analyst_a", "marketer_b"])
def test_duplicate_decisions_need_change_permission_on_the_teams_pair(
    request, verified_client, team_a, user_fixture
):
    candidate = DuplicateCandidateFactory(owner_team=team_a)
    client = verified_client(request.getfixturevalue(user_fixture))

    for decision in ("merge", "dismiss"):
        response = client.post(
            reverse("duplicate-decide", args=[candidate.pk]), {"decision": decision}
        )
        assert response.status_code == 404

    candidate.refresh_from_db()
    assert candidate.status == DuplicateStatus.OPEN
    assert snapshot(candidate.second)["merged_into"] is None
    assert audit_actions() == ["access.denied", "access.denied"]  # the refusals, nothing else


def test_an_analyst_sees_the_queue_without_decision_buttons(verified_client, analyst_a, team_a):
    candidate = DuplicateCandidateFactory(owner_team=team_a)
    response = verified_client(analyst_a).get(reverse("duplicate-list"))
    assert [pair[0].pk for pair in response.context["pairs"]] == [candidate.pk]
    assert reverse("duplicate-decide", args=[candidate.pk]) not in html(response)


def test_timeline_pages_never_skip_entries_that_share_a_time(verified_client, marketer_a, jane):
    # Given 60 events and a purchase all at the same instant
    moment = timezone.now()
    for index in range(60):
        EventFactory(customer=jane, type=f"tick_{index:02d}", occurred_at=moment)
    PurchaseFactory(customer=jane, order_reference="SO-SAME", occurred_at=moment)
    client = verified_client(marketer_a)

    # When both pages are read
    first = client.get(reverse("customer-detail", args=[jane.pk]))
    rest = client.get(
        reverse("customer-timeline", args=[jane.pk]), {"before": first.context["next_before"]}
    )

    # Then every entry appears exactly once
    labels = [entry["label"] for entry in first.context["entries"]] + [
        entry["label"] for entry in rest.context["entries"]
    ]
    assert sorted(labels) == sorted([f"tick_{index:02d}" for index in range(60)] + ["SO-SAME"])
