"""No dead ends: every link and button a role is shown leads somewhere that role may go.

Signed in as each role, a real browser starts at the home page and follows every same-origin
link it is offered (GET), and asks every form's action once (a GET: a POST-only view answers
405, which is fine; a refusal answers 403 or 404). Any 403, 404 or 500 fails the test, naming
the page that offered it. The crawl is bounded: one address per shape (numbers folded, query
keys counted, the admin's filter and sort variants left out).
"""

import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urljoin, urlsplit

import pytest
from django.conf import settings
from django.test import Client

from config.demo import demo_seed
from privacy.core import roles
from privacy.models import Team
from tests.conftest import totp_now
from tests.factories import TEST_PASSWORD, TOTPDeviceFactory, UserFactory

DEAD_ENDS = {403, 404, 500}
# Never followed: they end the session, switch the language, or are not pages of the site.
SKIPPED_PATHS = ("/accounts/logout/", "/admin/logout/", "/i18n/setlang/", "/static/")
# The admin's history pages answer to the same permission as the change page that links them.
SKIPPED_ENDINGS = ("/history/",)
PAGE_LIMIT = 150


class Offered(HTMLParser):
    """The links (``a href``) and form actions (with their method) of one page."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.forms: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])
        elif tag == "form":
            method = (attributes.get("method") or "get").lower()
            self.forms.append((attributes.get("action") or "", method))


def shape(url: str) -> tuple:
    parts = urlsplit(url)
    path = re.sub(r"\d+", "N", parts.path)
    if parts.path.startswith("/admin/"):
        return (path,)
    return (path, tuple(sorted({key for key, _value in parse_qsl(parts.query)})))


@dataclass
class Crawl:
    base_url: str
    seen: set = field(default_factory=set)
    dead_ends: list = field(default_factory=list)
    pages: int = 0

    def wanted(self, url: str) -> bool:
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != self.base_url:
            return False
        if parts.path.startswith(SKIPPED_PATHS) or parts.path.endswith(SKIPPED_ENDINGS):
            return False
        if shape(url) in self.seen:
            return False
        self.seen.add(shape(url))
        return True


def sign_in(context, base_url: str, user) -> None:
    """Put a session signed in with password and TOTP into the browser context."""
    client = Client()
    device = TOTPDeviceFactory(user=user)
    answer = client.post("/accounts/login/", {"username": user.username, "password": TEST_PASSWORD})
    assert answer.status_code == 302, answer.content
    answer = client.post("/accounts/mfa/", {"token": totp_now(device)})
    assert answer.status_code == 302, answer.content
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": base_url}])


def crawl(page, base_url: str) -> Crawl:
    found = Crawl(base_url)
    queue = [(f"{base_url}/", "(start)")]
    found.wanted(queue[0][0])
    while queue and found.pages < PAGE_LIMIT:
        url, offered_by = queue.pop(0)
        answer = page.context.request.get(url, max_redirects=5)
        found.pages += 1
        if answer.status in DEAD_ENDS:
            found.dead_ends.append(f"{answer.status} {url} (offered on {offered_by})")
            continue
        if answer.status != 200 or "text/html" not in answer.headers.get("content-type", ""):
            continue
        here = answer.url
        offered = Offered()
        offered.feed(answer.text())
        for link in offered.links:
            link = urljoin(here, link).split("#")[0]
            if found.wanted(link):
                queue.append((link, here))
        for action, method in offered.forms:
            action = urljoin(here, action)
            if method == "post":
                action = action.split("?")[0]
            if found.wanted(action):
                queue.append((action, f"{here} (form)"))
    return found


@pytest.fixture
def world(transactional_db):
    demo_seed(seed=1, customers=20)
    teams = list(Team.objects.all())
    users = {
        "system administrator": UserFactory(is_superuser=True),
        "team administrator": UserFactory(roles=[roles.ADMINISTRATOR], teams=teams),
        "data steward": UserFactory(roles=[roles.DATA_STEWARD], teams=teams),
        "marketer": UserFactory(roles=[roles.MARKETER], teams=teams[:1]),
        "analyst": UserFactory(roles=[roles.ANALYST], teams=teams),
    }
    for user in users.values():
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    return users


@pytest.mark.browser
def test_every_link_and_button_each_role_is_shown_leads_somewhere(world, live_server, browser):
    started = time.monotonic()
    report, failures = [], []
    for role, user in world.items():
        # Given a member of staff in this role, signed in
        context = browser.new_context(locale="en-US")
        context.set_default_timeout(10_000)
        sign_in(context, live_server.url, user)
        page = context.new_page()

        # When they follow every link and form the pages reachable from home offer them
        found = crawl(page, live_server.url)
        context.close()
        report.append(f"{role}: {found.pages} addresses")

        assert found.pages > 5, (role, found.seen)
        assert found.pages < PAGE_LIMIT, f"{role}: the crawl did not finish"
        failures += [f"{role}: {dead_end}" for dead_end in found.dead_ends]

    # Then none of them was refused, missing or broken
    print("; ".join(report), f"in {time.monotonic() - started:.1f} s")
    assert failures == [], "\n".join(failures)
