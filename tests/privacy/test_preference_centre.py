"""The public preference centre, one-click unsubscribe and double opt-in confirmation pages.

The views are called with ``RequestFactory`` (no middleware, no session: what a person opening
a link from an email has). The last tests go through the site's URLs and middleware with the
test client, signed out, as a mail client or a person's browser reaches them; the middleware
lets these pages through because their views are marked public.
"""

import re
import time

import pytest
from django.core import mail, signing
from django.test import Client, RequestFactory

from privacy.consent.selectors import consents_allow
from privacy.consent.services.double_opt_in import double_opt_in_send
from privacy.consent.services.links import DOUBLE_OPT_IN_SALT, PREFERENCES_SALT, preference_token
from privacy.consent.services.notices import notice_publish
from privacy.consent.services.records import consent_record
from privacy.consent.views.public import (
    double_opt_in_confirmation,
    preference_centre,
    preference_unsubscribe,
)
from privacy.models import AuditEntry, ConsentEvent
from tests.customers.factories import CustomerFactory

BROWSER = {"HTTP_USER_AGENT": "Mozilla/5.0 (Person's phone)", "REMOTE_ADDR": "198.51.100.23"}


class DaysAgoSigner(signing.TimestampSigner):
    """Signs as if it were ``days`` ago."""

    def __init__(self, *, days: int, salt: str) -> None:
        super().__init__(salt=salt)
        self.days = days

    def timestamp(self):
        return signing.b62_encode(int(time.time()) - self.days * 24 * 3600)


@pytest.fixture
def rf():
    return RequestFactory(**BROWSER)


@pytest.fixture
def ann(team_a):
    return CustomerFactory(owner_team=team_a, email="ann@example.com")


@pytest.fixture
def token(ann):
    return preference_token(ann)


@pytest.fixture
def notice(steward):
    return notice_publish(version="2026-02", language="en", text="How we use data.", actor=steward)


def grant(customer, purpose="email_marketing", channel="email"):
    return consent_record(
        customer=customer, purpose_code=purpose, channel=channel, status="granted", source="form"
    )


def latest(customer, purpose="email_marketing"):
    return ConsentEvent.objects.filter(customer_id=customer.pk, purpose__code=purpose).first()


# --- The centre --------------------------------------------------------------------------------


def test_the_centre_lists_every_purpose_and_channel_with_one_button_each(rf, ann, token, notice):
    grant(ann)

    response = preference_centre(rf.get(f"/preferences/{token}/"), token=token)

    assert response.status_code == 200
    page = response.content.decode()
    for name in ("Email marketing", "SMS marketing", "WeChat marketing", "Profiling"):
        assert name in page
    assert page.count('type="submit" class="primary"') == 5
    assert page.count(">Withdraw</button>") == 1
    assert page.count(">Agree</button>") == 4
    assert "a•••@example.com" in page
    assert "ann@example.com" not in page
    assert "version 2026-02" in page
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    assert "no-store" in response["Cache-Control"]
    assert not AuditEntry.objects.exclude(action__in=["consent.record", "privacy_notice.publish"])


@pytest.mark.parametrize(
    ("start", "status", "expected_allowed"),
    [("granted", "withdrawn", False), (None, "granted", True)],
    ids=["withdraw", "grant"],
)
def test_withdrawing_and_granting_are_each_one_post(
    rf, ann, token, notice, start, status, expected_allowed
):
    if start:
        grant(ann)
    request = rf.post(
        f"/preferences/{token}/",
        {"purpose": "email_marketing", "channel": "email", "status": status, "notice": notice.pk},
    )

    response = preference_centre(request, token=token)

    assert response.status_code == 302
    assert response["Location"] == f"/preferences/{token}/?saved=1"
    event = latest(ann)
    assert (event.status, event.source, event.notice) == (status, "preference_centre", notice)
    assert event.evidence == {
        "ip_address": "198.51.100.23",
        "user_agent": "Mozilla/5.0 (Person's phone)",
        "form": "preference_centre",
        "language": "en",
    }
    assert event.recorded_by is None
    assert bool(consents_allow([ann.pk], "email_marketing", "email")) is expected_allowed
    entry = AuditEntry.objects.get(action="consent.record", object_id=str(event.pk))
    assert entry.metadata["source"] == "preference_centre"
    saved = preference_centre(rf.get(f"/preferences/{token}/?saved=1"), token=token)
    assert "Your choices were saved." in saved.content.decode()


def test_withdraw_everything_is_one_post(rf, ann, token):
    grant(ann)
    grant(ann, purpose="profiling", channel="any")

    response = preference_centre(
        rf.post(f"/preferences/{token}/", {"withdraw_all": "1"}), token=token
    )

    assert response.status_code == 302
    assert consents_allow([ann.pk], "email_marketing", "email") == set()
    assert consents_allow([ann.pk], "profiling", "any") == set()
    assert ConsentEvent.objects.filter(status="withdrawn", source="preference_centre").count() == 2


def test_the_same_choice_twice_records_one_event(rf, ann, token):
    choice = {"purpose": "email_marketing", "channel": "email", "status": "granted"}
    for _ in range(2):
        preference_centre(rf.post(f"/preferences/{token}/", choice), token=token)
    assert ConsentEvent.objects.count() == 1


@pytest.mark.parametrize(
    "choice",
    [
        {"purpose": "carrier_pigeons", "channel": "email", "status": "granted"},
        {"purpose": "email_marketing", "channel": "sms", "status": "granted"},
        {"purpose": "email_marketing", "channel": "email", "status": "denied"},
        {"purpose": "email_marketing"},
    ],
    ids=["unknown-purpose", "wrong-channel", "status-not-offered", "incomplete"],
)
def test_a_choice_that_cannot_be_made_records_nothing(rf, ann, token, choice):
    response = preference_centre(rf.post(f"/preferences/{token}/", choice), token=token)

    assert response.status_code == 400
    assert "That choice could not be saved." in response.content.decode()
    assert not ConsentEvent.objects.exists()


def test_a_link_of_a_merged_profile_reaches_the_survivor(rf, ann, team_a):
    survivor = CustomerFactory(owner_team=team_a, email="ann.lee@example.com")
    token = preference_token(ann)
    ann.merged_into = survivor
    ann.save()

    preference_centre(
        rf.post(
            f"/preferences/{token}/",
            {"purpose": "email_marketing", "channel": "email", "status": "granted"},
        ),
        token=token,
    )

    assert consents_allow([survivor.pk, ann.pk], "email_marketing", "email") == {survivor.pk}


# --- Links that are not valid ------------------------------------------------------------------


def bad_token(kind: str, customer, team) -> str:
    payload = {"c": customer.pk}
    if kind == "forged":
        return signing.TimestampSigner(salt=PREFERENCES_SALT, key="not-our-key").sign_object(
            payload
        )
    if kind == "tampered":
        token = preference_token(customer)
        return token.replace(token.split(":")[0], signing.b64_encode(b'{"c":1}').decode())
    if kind == "expired":
        return DaysAgoSigner(days=181, salt=PREFERENCES_SALT).sign_object(payload)
    if kind == "other-salt":
        return signing.TimestampSigner(salt=DOUBLE_OPT_IN_SALT).sign_object(payload)
    if kind == "person-gone":
        gone = CustomerFactory(owner_team=team)
        token = preference_token(gone)
        gone.delete()
        return token
    if kind == "nobody":
        return signing.TimestampSigner(salt=PREFERENCES_SALT).sign_object({"c": 2**40})
    return "garbage"


BAD_KINDS = ["forged", "tampered", "expired", "other-salt", "person-gone", "nobody", "garbage"]


@pytest.mark.parametrize("kind", BAD_KINDS)
def test_a_bad_link_gets_the_same_404_page_whether_or_not_the_person_exists(rf, ann, team_a, kind):
    grant(ann)
    reference = preference_centre(rf.get("/preferences/x/"), token="x")
    token = bad_token(kind, ann, team_a)

    pages = [
        preference_centre(rf.get(f"/preferences/{token}/"), token=token),
        preference_centre(
            rf.post(
                f"/preferences/{token}/",
                {"purpose": "email_marketing", "channel": "email", "status": "withdrawn"},
            ),
            token=token,
        ),
        preference_unsubscribe(
            rf.post(f"/preferences/{token}/unsubscribe/email_marketing/"),
            token=token,
            purpose_code="email_marketing",
        ),
        double_opt_in_confirmation(rf.post(f"/confirm/{token}/"), token=token),
    ]

    assert reference.status_code == 404
    assert "This link is not valid any more" in reference.content.decode()
    assert [(page.status_code, page.content) for page in pages] == [(404, reference.content)] * 4
    assert list(ConsentEvent.objects.values_list("status", flat=True)) == ["granted"]


def test_an_unknown_purpose_in_an_unsubscribe_link_is_the_same_404(rf, ann, token):
    reference = preference_centre(rf.get("/preferences/x/"), token="x")
    response = preference_unsubscribe(
        rf.post(f"/preferences/{token}/unsubscribe/carrier_pigeons/"),
        token=token,
        purpose_code="carrier_pigeons",
    )
    assert (response.status_code, response.content) == (404, reference.content)


@pytest.mark.parametrize(
    ("max_age_days", "link_age_days", "expected"),
    [(180, 179, 200), (180, 181, 404), (1, 2, 404), (0, 3650, 200)],
    ids=["default-fresh", "default-expired", "one-day", "no-expiry"],
)
def test_the_link_lifetime_is_a_setting(rf, ann, settings, max_age_days, link_age_days, expected):
    settings.PREFERENCE_LINK_MAX_AGE_DAYS = max_age_days
    token = DaysAgoSigner(days=link_age_days, salt=PREFERENCES_SALT).sign_object({"c": ann.pk})

    assert preference_centre(rf.get(f"/preferences/{token}/"), token=token).status_code == expected


# --- One-click unsubscribe ---------------------------------------------------------------------


def test_unsubscribe_get_shows_one_button_and_changes_nothing(rf, ann, token):
    grant(ann)

    response = preference_unsubscribe(
        rf.get(f"/preferences/{token}/unsubscribe/email_marketing/"),
        token=token,
        purpose_code="email_marketing",
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert page.count('<button type="submit" class="primary">') == 1
    assert '<form method="post"' in page
    assert consents_allow([ann.pk], "email_marketing", "email") == {ann.pk}


def test_one_click_unsubscribe_post_records_a_withdrawal_once(rf, ann, token):
    grant(ann)
    url = f"/preferences/{token}/unsubscribe/email_marketing/"

    responses = [
        preference_unsubscribe(
            rf.post(url, {"List-Unsubscribe": "One-Click"}),
            token=token,
            purpose_code="email_marketing",
        )
        for _ in range(2)
    ]

    assert [response.status_code for response in responses] == [200, 200]
    assert "You are unsubscribed" in responses[0].content.decode()
    event = latest(ann)
    assert (event.status, event.source, event.evidence["form"]) == (
        "withdrawn",
        "unsubscribe",
        "list_unsubscribe_post",
    )
    assert event.evidence["ip_address"] == "198.51.100.23"
    assert ConsentEvent.objects.filter(status="withdrawn").count() == 1
    assert consents_allow([ann.pk], "email_marketing", "email") == set()
    assert AuditEntry.objects.filter(action="consent.record", object_id=str(event.pk)).exists()


# --- Double opt-in confirmation ----------------------------------------------------------------


@pytest.fixture
def confirm_token(ann, settings):
    settings.PUBLIC_BASE_URL = "https://news.example.com"
    return double_opt_in_send(customer=ann, purpose_code="email_marketing")


def test_confirmation_get_asks_and_post_records_with_evidence(rf, ann, confirm_token, notice):
    shown = double_opt_in_confirmation(rf.get(f"/confirm/{confirm_token}/"), token=confirm_token)

    assert shown.status_code == 200
    assert shown.content.decode().count('<button type="submit" class="primary">') == 1
    assert not ConsentEvent.objects.exists()

    done = double_opt_in_confirmation(
        rf.post(f"/confirm/{confirm_token}/", {"notice": notice.pk}), token=confirm_token
    )

    assert done.status_code == 200
    assert "is confirmed" in done.content.decode()
    event = latest(ann)
    assert (event.status, event.source, event.notice) == ("granted", "double_opt_in", notice)
    assert event.evidence["form"] == "double_opt_in"
    assert event.evidence["user_agent"] == "Mozilla/5.0 (Person's phone)"
    assert consents_allow([ann.pk], "email_marketing", "email") == {ann.pk}


def test_an_expired_confirmation_link_gets_the_same_404(rf, ann, confirm_token):
    payload = signing.TimestampSigner(salt=DOUBLE_OPT_IN_SALT).unsign_object(confirm_token)
    expired = DaysAgoSigner(days=8, salt=DOUBLE_OPT_IN_SALT).sign_object(payload)
    reference = preference_centre(rf.get("/preferences/x/"), token="x")

    response = double_opt_in_confirmation(rf.post(f"/confirm/{expired}/"), token=expired)

    assert (response.status_code, response.content) == (404, reference.content)
    assert not ConsentEvent.objects.exists()


# --- Through the site's URLs and middleware ----------------------------------------------------


def test_a_preference_centre_link_withdraws_email_consent_end_to_end(ann, token):
    grant(ann)
    browser = Client(enforce_csrf_checks=True, **BROWSER)

    page = browser.get(f"/preferences/{token}/")
    withdrawn = browser.post(
        f"/preferences/{token}/",
        {"purpose": "email_marketing", "channel": "email", "status": "withdrawn"},
        follow=True,
    )
    # A mail client's RFC 8058 POST: no cookies, no CSRF token.
    one_click = Client(enforce_csrf_checks=True).post(
        f"/preferences/{token}/unsubscribe/sms_marketing/", {"List-Unsubscribe": "One-Click"}
    )

    assert page.status_code == 200
    assert withdrawn.status_code == 200
    assert "Your choices were saved." in withdrawn.content.decode()
    assert one_click.status_code == 200
    assert consents_allow([ann.pk], "email_marketing", "email") == set()
    assert list(
        ConsentEvent.objects.order_by("id").values_list("purpose__code", "status", "source")
    ) == [
        ("email_marketing", "granted", "form"),
        ("email_marketing", "withdrawn", "preference_centre"),
        ("sms_marketing", "withdrawn", "unsubscribe"),
    ]
    audited = AuditEntry.objects.filter(action="consent.record").exclude(ip_address=None)
    assert sorted(audited.values_list("ip_address", flat=True)) == ["127.0.0.1", "198.51.100.23"]


def test_the_confirmation_link_of_the_email_confirms_end_to_end(ann, settings):
    # Given the double opt-in email sent to Ann
    settings.PUBLIC_BASE_URL = "https://news.example.com"
    double_opt_in_send(customer=ann, purpose_code="email_marketing")
    link = re.search(r"https://news\.example\.com(/confirm/[^/\s]+/)", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    browser = Client(enforce_csrf_checks=True, **BROWSER)

    # When she opens its link, signed out, and confirms
    shown = browser.get(link.group(1))
    confirmed = browser.post(link.group(1))

    # Then the site's own address answers both and her consent is recorded
    assert (shown.status_code, confirmed.status_code) == (200, 200)
    assert "is confirmed" in confirmed.content.decode()
    assert list(ConsentEvent.objects.values_list("purpose__code", "status", "source")) == [
        ("email_marketing", "granted", "double_opt_in"),
    ]
    assert consents_allow([ann.pk], "email_marketing", "email") == {ann.pk}


def test_the_language_switch_of_public_pages_is_a_get_and_staff_set_language_keeps_csrf(
    ann, token, settings
):
    # Given a person's browser on their preference centre, and the site's CSRF checks on
    browser = Client(enforce_csrf_checks=True, **BROWSER)
    url = f"/preferences/{token}/"

    # When they choose Chinese with the page's switch (a GET of the same page)
    answer = browser.get(url, {"lang": "zh-hans"})

    # Then the page answers in Chinese and remembers the choice
    assert answer.status_code == 200
    assert "您的通讯偏好" in answer.content.decode()
    assert answer.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    assert browser.get(url).content.decode().count("您的通讯偏好") >= 1
    # And a language the site does not offer changes nothing
    assert browser.get(url, {"lang": "xx"}).cookies.get(settings.LANGUAGE_COOKIE_NAME) is None
    # And the staff pages' POST switch still refuses a post from an opaque origin
    refused = browser.post("/i18n/setlang/", {"language": "en"}, headers={"Origin": "null"})
    assert refused.status_code == 403
