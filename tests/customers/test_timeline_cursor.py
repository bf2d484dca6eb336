"""The timeline's cursor: pages follow each other; a cursor it did not hand out is a 400."""

import datetime as dt
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.customers.factories import CustomerFactory, EventFactory, PurchaseFactory

pytestmark = pytest.mark.django_db

BAD_CURSORS = {
    "arabic-indic-digit": "\u0663",
    "fullwidth-digits": "\uff11\uff12",
    "offset-beyond-a-day": "2025-06-01T10:00:00+99:00|event|1",
    "unicode-digits-in-time-and-id": "\u0662\u0660\u0662\u0665-06-01T10:00:00+00:00|event|\u0661",
    "superscript-id": "2025-06-01T10:00:00+00:00|event|\u00b2",
    "id-beyond-bigint": "2025-06-01T10:00:00+00:00|event|99999999999999999999",
    "unknown-kind": "2025-06-01T10:00:00+00:00|visit|1",
    "no-offset": "2025-06-01T10:00:00|event|1",
    "no-such-month": "2025-13-01T10:00:00+00:00|event|1",
    "before-year-one-in-utc": "0001-01-01T00:00:00+05:00|event|1",
    "missing-id": "2025-06-01T10:00:00+00:00|event",
}
API_MESSAGE = "Not a cursor of this timeline: pass next_cursor of the previous page unchanged."
PAGE_MESSAGE = "The timeline position in the address is not valid; the newest entries are shown."
ROWS_MESSAGE = "The timeline position is not valid. Reload the profile to see the timeline."


@pytest.fixture
def jane(team_a):
    """Jane with three events an hour apart and an older purchase."""
    customer = CustomerFactory(owner_team=team_a)
    now = timezone.now()
    for index in range(3):
        EventFactory(
            customer=customer, type=f"visit_{index}", occurred_at=now - timedelta(hours=index)
        )
    PurchaseFactory(customer=customer, order_reference="SO-1", occurred_at=now - timedelta(days=1))
    return customer


def test_the_api_pages_through_the_timeline_with_next_cursor(token_client, marketer_a, jane):
    client = token_client(marketer_a)
    url = f"/api/v1/customers/{jane.pk}/timeline/"
    first = client.get(url, {"limit": "3"}).json()
    rest = client.get(url, {"limit": "3", "cursor": first["next_cursor"]}).json()
    assert [entry["label"] for entry in first["results"]] == ["visit_0", "visit_1", "visit_2"]
    assert [entry["label"] for entry in rest["results"]] == ["SO-1"]
    assert rest["next_cursor"] is None


def test_a_cursor_with_an_offset_postgresql_does_not_take_is_read_in_utc(
    token_client, marketer_a, jane
):
    # Python takes offsets up to 23:59, PostgreSQL up to 15:59: the cursor is compared in UTC
    newest = jane.events.order_by("-occurred_at").first()
    moment = newest.occurred_at.astimezone(dt.timezone(dt.timedelta(hours=20)))
    response = token_client(marketer_a).get(
        f"/api/v1/customers/{jane.pk}/timeline/",
        {"cursor": f"{moment.isoformat()}|event|{newest.pk}"},
    )
    assert response.status_code == 200
    assert [entry["label"] for entry in response.json()["results"]] == [
        "visit_1",
        "visit_2",
        "SO-1",
    ]


@pytest.mark.parametrize("cursor", BAD_CURSORS.values(), ids=BAD_CURSORS.keys())
def test_the_api_answers_a_bad_cursor_with_a_400_naming_it(token_client, marketer_a, jane, cursor):
    response = token_client(marketer_a).get(
        f"/api/v1/customers/{jane.pk}/timeline/", {"cursor": cursor}
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "Invalid input.",
        "errors": [{"field": "cursor", "message": API_MESSAGE, "code": "invalid"}],
    }


@pytest.mark.parametrize("limit", ["\uff11\uff12", "\u0663", "\u00b2", "ten", "1_0"])
def test_the_api_reads_the_limit_in_ascii_digits_only(token_client, marketer_a, jane, limit):
    response = token_client(marketer_a).get(
        f"/api/v1/customers/{jane.pk}/timeline/", {"limit": limit}
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "limit", "message": "A whole number.", "code": "invalid"}
    ]


@pytest.mark.parametrize("cursor", BAD_CURSORS.values(), ids=BAD_CURSORS.keys())
def test_load_older_answers_a_bad_cursor_with_a_400_that_says_so(
    verified_client, marketer_a, jane, cursor
):
    response = verified_client(marketer_a).get(
        reverse("customer-timeline", args=[jane.pk]), {"before": cursor}
    )
    assert response.status_code == 400
    assert ROWS_MESSAGE in response.content.decode()
    assert response.context["entries"] == []


@pytest.mark.parametrize("cursor", BAD_CURSORS.values(), ids=BAD_CURSORS.keys())
def test_the_profile_with_a_bad_cursor_shows_the_newest_entries_and_says_why(
    verified_client, marketer_a, jane, cursor
):
    response = verified_client(marketer_a).get(
        reverse("customer-detail", args=[jane.pk]), {"before": cursor}
    )
    assert response.status_code == 200
    assert [entry["label"] for entry in response.context["entries"]] == [
        "visit_0",
        "visit_1",
        "visit_2",
        "SO-1",
    ]
    assert [str(message) for message in response.context["messages"]] == [PAGE_MESSAGE]
    assert response.context["is_timeline_continued"] is False
