"""Erasure webhooks: each recipient of the team hears of an erasure through a signed POST that
names customer numbers and its channel's external ids, and the delivery log keeps no body once
delivered or failed. A real HTTP server on 127.0.0.1 receives the requests (so those tests allow
private addresses, which deliveries refuse by default); the task runs eagerly.

Over 600 lines: one test module per feature, with its real HTTP receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.core.exceptions import ValidationError
from django.utils import timezone

from customers.models import Identity, IdentityKind
from privacy.core import roles
from privacy.core.scan import subject_scan
from privacy.erasure.services import webhooks
from privacy.erasure.services.erasure import subject_erase
from privacy.erasure.services.webhooks import (
    MAX_ATTEMPTS,
    RetryResult,
    erasure_notification_deliver,
    erasure_notifications_retry,
    erasure_webhook_create,
    erasure_webhook_url_validate,
)
from privacy.erasure.tasks import erasure_notification_deliver_task
from privacy.models import AuditEntry, ErasureNotification, ErasureWebhook, NotificationStatus
from tests.customers.factories import CustomerFactory, ExternalIdentityFactory


@pytest.fixture(autouse=True)
def _own_media_directory(settings, tmp_path):
    """The scan reads MEDIA_ROOT too: each test scans its own, not files other tests left."""
    settings.MEDIA_ROOT = tmp_path / "media"


EMAIL = "liv.almqvist@example.se"
PHONE = "+46701112233"
NAME = "Liv Almqvist"
WECHAT_ID = "wx-5f3a880021"
CRM_ID = "CRM-55120"
SECRET = "shared-with-the-recipient-only"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Recipient:
    """A local HTTP server that records every POST and answers with ``status``."""

    port: int
    status: int = 200
    received: list[Received] = field(default_factory=list)

    def url(self, path: str = "/erasures") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
def private_addresses_allowed(settings):
    """The local server listens on 127.0.0.1, a loopback address deliveries refuse by default."""
    settings.ERASURE_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True


@pytest.fixture
def recipient(private_addresses_allowed):
    state = Recipient(port=0)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.received.append(Received(self.path, dict(self.headers.items()), body))
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format, *args):  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def plain_http(settings):
    """The local server speaks http, which only DEBUG accepts."""
    settings.DEBUG = True


@pytest.fixture
def liv(team_a):
    customer = CustomerFactory(
        owner_team=team_a, email=EMAIL, phone=PHONE, given_name="Liv", family_name="Almqvist"
    )
    ExternalIdentityFactory(customer=customer, channel="wechat", lookup_key=WECHAT_ID)
    ExternalIdentityFactory(customer=customer, channel="crm", lookup_key=CRM_ID, source="crm")
    return customer


def webhook(team, url: str, *, channel: str = "", is_active: bool = True) -> ErasureWebhook:
    return ErasureWebhook.objects.create(
        owner_team=team,
        name=f"{team.slug} {channel or 'numbers'}",
        url=url,
        channel=channel,
        secret=SECRET,
        is_active=is_active,
    )


def erase(customer, team, actor, capture):
    """Erase ``customer``; the delivery tasks it enqueues after commit are captured, not sent."""
    with capture(execute=False) as callbacks:
        report = subject_erase(customer_ids=[customer.pk], team=team, actor=actor, reason="request")
    return report, callbacks


def deliver_all() -> None:
    for pk in ErasureNotification.objects.order_by("pk").values_list("pk", flat=True):
        # Eagerly, in this process: a retry runs again at once instead of after its countdown.
        result = erasure_notification_deliver_task.apply(args=[pk])
        assert result.successful(), result.traceback


def signature_of(body: bytes) -> str:
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


def test_each_webhook_gets_a_signed_post_with_numbers_and_its_channels_external_ids(
    liv, team_a, steward, recipient, plain_http, django_capture_on_commit_callbacks
):
    # Given a webhook for WeChat ids and one for customer numbers only
    wechat = webhook(team_a, recipient.url("/wechat"), channel="wechat")
    numbers = webhook(team_a, recipient.url("/numbers"))

    # When Liv is erased
    started = timezone.now()
    report, callbacks = erase(liv, team_a, steward, django_capture_on_commit_callbacks)

    # Then one delivery per webhook waits for the commit, and nothing was sent before it
    assert len(callbacks) == 2
    assert recipient.received == []
    assert sorted(report.notified_webhook_ids) == sorted([wechat.pk, numbers.pk])

    # When the deliveries run
    deliver_all()

    # Then each recipient got one signed POST naming the customer numbers and its own ids
    by_path = {request.path: request for request in recipient.received}
    assert sorted(by_path) == ["/numbers", "/wechat"]
    for request in by_path.values():
        assert request.headers["Content-Type"] == "application/json"
        assert request.headers["X-Marketbase-Event"] == "subject.erased"
        assert hmac.compare_digest(
            request.headers["X-Marketbase-Signature"], signature_of(request.body)
        )
        text = request.body.decode().lower()
        for personal in (EMAIL, PHONE, "liv", "almqvist"):
            assert personal.lower() not in text
    bodies = {path: json.loads(request.body) for path, request in by_path.items()}
    assert bodies["/wechat"] == {
        "event": "subject.erased",
        "erasure_reference": report.erasure_reference,
        "team": team_a.slug,
        "erased_at": bodies["/wechat"]["erased_at"],
        "customer_ids": [liv.pk],
        "external_ids": [WECHAT_ID],
    }
    assert started <= datetime.fromisoformat(bodies["/wechat"]["erased_at"]) <= timezone.now()
    assert bodies["/numbers"]["customer_ids"] == [liv.pk]
    assert bodies["/numbers"]["external_ids"] == []
    assert bodies["/numbers"]["erasure_reference"] == report.erasure_reference

    # And the delivery log keeps no body, only that and when each was told
    assert list(
        ErasureNotification.objects.order_by("webhook_id").values_list(
            "webhook_id", "status", "attempts", "response_status", "last_error", "payload"
        )
    ) == [
        (wechat.pk, NotificationStatus.DELIVERED, 1, 200, "", {}),
        (numbers.pk, NotificationStatus.DELIVERED, 1, 200, "", {}),
    ]
    assert not ErasureNotification.objects.filter(delivered_at__isnull=True).exists()


def test_the_audit_names_the_erasure_reference_and_deliveries_by_id_only(
    liv, team_a, steward, recipient, plain_http, django_capture_on_commit_callbacks
):
    hook = webhook(team_a, recipient.url(), channel="wechat")
    report, _callbacks = erase(liv, team_a, steward, django_capture_on_commit_callbacks)
    deliver_all()

    erasure = AuditEntry.objects.get(action="subject.erase")
    assert len(report.erasure_reference) == 32
    assert erasure.metadata["erasure_reference"] == report.erasure_reference
    assert erasure.metadata["notified_webhooks"] == [hook.pk]
    notification = ErasureNotification.objects.get()
    delivered = AuditEntry.objects.get(action="erasure.notification_delivered")
    assert (delivered.object_type, delivered.object_id) == (
        "privacy.erasurenotification",
        str(notification.pk),
    )
    assert delivered.metadata == {
        "webhook": hook.pk,
        "erasure_reference": report.erasure_reference,
        "attempts": 1,
        "response_status": 200,
    }
    stored = json.dumps(
        list(AuditEntry.objects.values_list("metadata", flat=True)), ensure_ascii=False
    ).lower()
    for personal in (WECHAT_ID, CRM_ID, EMAIL, PHONE, "almqvist"):
        assert personal.lower() not in stored


def test_a_server_error_keeps_the_notification_pending_for_a_retry(
    liv, team_a, steward, recipient, plain_http, django_capture_on_commit_callbacks
):
    # Given a recipient that answers 500
    webhook(team_a, recipient.url(), channel="wechat")
    erase(liv, team_a, steward, django_capture_on_commit_callbacks)
    recipient.status = 500
    notification = ErasureNotification.objects.get()

    # When one delivery is tried
    result = erasure_notification_deliver(notification_id=notification.pk)

    # Then it is still pending, with one attempt, the status as the error and its body kept
    assert (result.status, result.attempts, result.retry_in) == ("pending", 1, 30)
    notification.refresh_from_db()
    assert (
        notification.status,
        notification.attempts,
        notification.response_status,
        notification.last_error,
    ) == (NotificationStatus.PENDING, 1, 500, "HTTP 500")
    assert notification.payload["external_ids"] == [WECHAT_ID]
    assert notification.delivered_at is None
    assert len(recipient.received) == 1


def test_after_the_last_attempt_the_notification_fails_and_is_audited(
    liv, team_a, steward, recipient, plain_http, django_capture_on_commit_callbacks
):
    webhook(team_a, recipient.url(), channel="wechat")
    erase(liv, team_a, steward, django_capture_on_commit_callbacks)
    recipient.status = 503

    # When the task runs (eagerly, its retries at once) against a recipient that keeps failing
    deliver_all()

    # Then it tried MAX_ATTEMPTS times, gave up, and kept nothing of the erased person
    notification = ErasureNotification.objects.get()
    assert len(recipient.received) == MAX_ATTEMPTS == 8
    assert (
        notification.status,
        notification.attempts,
        notification.last_error,
        notification.payload,
    ) == (NotificationStatus.FAILED, 8, "HTTP 503", {})
    failed = AuditEntry.objects.get(action="erasure.notification_failed")
    assert failed.metadata == {
        "webhook": notification.webhook_id,
        "erasure_reference": notification.erasure_reference,
        "attempts": 8,
        "last_error": "HTTP 503",
        "payload_cleared": True,
    }
    assert not subject_scan(names=[WECHAT_ID]).found

    # When a data steward tries to send it again, though the recipient is back
    recipient.status = 204
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = erasure_notifications_retry(notification_ids=[notification.pk], actor=steward)

    # Then it is refused: there is nothing left to send
    assert result == RetryResult(retried=0, without_payload=1)
    assert callbacks == []
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (NotificationStatus.FAILED, 8)
    assert not AuditEntry.objects.filter(action="erasure.notification_retry").exists()
    assert len(recipient.received) == MAX_ATTEMPTS


def test_an_unreachable_recipient_is_an_attempt_named_by_the_exception(
    liv, team_a, steward, plain_http, private_addresses_allowed, django_capture_on_commit_callbacks
):
    # Given an address where nothing listens
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    webhook(team_a, f"http://127.0.0.1:{port}/erasures")
    erase(liv, team_a, steward, django_capture_on_commit_callbacks)

    result = erasure_notification_deliver(notification_id=ErasureNotification.objects.get().pk)

    assert (result.status, result.attempts) == ("pending", 1)
    notification = ErasureNotification.objects.get()
    assert (notification.response_status, notification.last_error) == (None, "ConnectionError")


def test_a_delivered_notification_is_not_sent_again(
    liv, team_a, steward, recipient, plain_http, django_capture_on_commit_callbacks
):
    webhook(team_a, recipient.url())
    erase(liv, team_a, steward, django_capture_on_commit_callbacks)
    deliver_all()

    # When the task is delivered again (a lost worker's message, a double click)
    deliver_all()
    again = erasure_notification_deliver(notification_id=ErasureNotification.objects.get().pk)

    # Then nothing more was sent and nothing changed
    assert again.status == "skipped"
    assert len(recipient.received) == 1
    assert AuditEntry.objects.filter(action="erasure.notification_delivered").count() == 1


def test_a_missing_notification_is_skipped_quietly(db):
    assert erasure_notification_deliver(notification_id=987654).status == "skipped"


def test_an_erasure_that_erases_nothing_creates_no_notification(
    liv, team_a, steward, recipient, plain_http, django_capture_on_commit_callbacks
):
    webhook(team_a, recipient.url())
    erase(liv, team_a, steward, django_capture_on_commit_callbacks)
    deliver_all()
    before = ErasureNotification.objects.count()

    # When the same customer is erased again (nothing of Liv is left)
    report, callbacks = erase(liv, team_a, steward, django_capture_on_commit_callbacks)

    # Then nobody is told anything
    assert report.already_erased is True
    assert (report.erasure_reference, report.notified_webhook_ids) == (None, [])
    assert callbacks == []
    assert ErasureNotification.objects.count() == before == 1
    last = AuditEntry.objects.filter(action="subject.erase").latest("pk")
    assert (last.metadata["erasure_reference"], last.metadata["notified_webhooks"]) == (None, [])


def test_webhooks_of_other_teams_and_inactive_ones_are_not_called(
    liv, team_a, team_b, steward, recipient, plain_http, django_capture_on_commit_callbacks
):
    # Given team B's webhook and a deactivated one of team A, beside team A's active one
    webhook(team_b, recipient.url("/team-b"), channel="wechat")
    webhook(team_a, recipient.url("/inactive"), channel="wechat", is_active=False)
    active = webhook(team_a, recipient.url("/team-a"), channel="wechat")

    # When team A erases Liv and the deliveries run
    report, callbacks = erase(liv, team_a, steward, django_capture_on_commit_callbacks)
    deliver_all()

    # Then only team A's active webhook was called
    assert report.notified_webhook_ids == [active.pk]
    assert len(callbacks) == 1
    assert [request.path for request in recipient.received] == ["/team-a"]


def test_after_erasure_and_delivery_the_scan_finds_nothing_of_the_person(
    liv, team_a, steward, recipient, plain_http, django_capture_on_commit_callbacks
):
    webhook(team_a, recipient.url(), channel="wechat")
    assert not subject_scan(emails=[EMAIL], phones=[PHONE], names=[NAME]).is_clean

    erase(liv, team_a, steward, django_capture_on_commit_callbacks)

    # Until it is delivered, the log holds the external id the recipient must be told
    waiting = subject_scan(names=[WECHAT_ID])
    assert {hit.location for hit in waiting.found} == {"public.privacy_erasurenotification.payload"}

    deliver_all()

    result = subject_scan(emails=[EMAIL], phones=[PHONE], names=[NAME, WECHAT_ID, CRM_ID])
    assert result.found == []
    assert {hit.location for hit in result.kept} == {"public.privacy_suppression.lookup_key"}
    assert not Identity.objects.filter(kind=IdentityKind.EXTERNAL).exists()


@pytest.mark.parametrize(
    ("debug", "url", "is_accepted"),
    [
        pytest.param(False, "https://crm.example.com/erasures", True, id="https-production"),
        pytest.param(False, "http://crm.example.com/erasures", False, id="http-production"),
        pytest.param(True, "http://127.0.0.1:8001/erasures", True, id="http-debug"),
        pytest.param(True, "ftp://crm.example.com/erasures", False, id="ftp-debug"),
        pytest.param(True, "https:///no-host", False, id="no-host"),
        pytest.param(False, "javascript:alert(1)", False, id="javascript"),
    ],
)
def test_webhook_addresses_must_be_https_outside_debug(settings, debug, url, is_accepted):
    settings.DEBUG = debug
    if is_accepted:
        erasure_webhook_url_validate(url=url)
    else:
        with pytest.raises(ValidationError) as refused:
            erasure_webhook_url_validate(url=url)
        assert list(refused.value.message_dict) == ["url"]


def test_an_http_webhook_is_never_called_in_production(
    liv, team_a, steward, recipient, settings, django_capture_on_commit_callbacks
):
    # Given an http webhook stored while DEBUG was on, and production settings now
    webhook(team_a, recipient.url())
    settings.DEBUG = False
    erase(liv, team_a, steward, django_capture_on_commit_callbacks)

    deliver_all()

    # Then nothing was sent, and the notification failed at once (retrying cannot help)
    assert recipient.received == []
    notification = ErasureNotification.objects.get()
    assert (
        notification.status,
        notification.attempts,
        notification.last_error,
        notification.payload,
    ) == (NotificationStatus.FAILED, 1, "refused address", {})


# --- Addresses that are not public --------------------------------------------------------------


@pytest.fixture
def private_addresses_refused(settings):
    """The default, stated: whatever the environment of the test run says."""
    settings.ERASURE_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False


@pytest.fixture
def sent(monkeypatch) -> list[str]:
    """The addresses ``requests.post`` was called with; each call fails as a refused connection
    would, so no test reaches out of this machine."""
    calls: list[str] = []

    def post(url, **kwargs):
        calls.append(url)
        raise requests.ConnectionError

    monkeypatch.setattr(webhooks.requests, "post", post)
    return calls


def assert_nothing_personal(text: str, customer) -> None:
    for personal in (WECHAT_ID, CRM_ID, EMAIL, PHONE, "almqvist", f'"{customer.pk}"'):
        assert personal.lower() not in text.lower()


def test_a_loopback_recipient_is_refused_by_default_and_nothing_is_sent(
    liv, team_a, steward, recipient, plain_http, settings, django_capture_on_commit_callbacks
):
    # Given the default: private addresses refused (the local server is on 127.0.0.1)
    settings.ERASURE_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False  # the recipient fixture allowed them
    webhook(team_a, recipient.url(), channel="wechat")
    erase(liv, team_a, steward, django_capture_on_commit_callbacks)

    # When the delivery runs
    deliver_all()

    # Then nothing reached the server, and the notification failed at once, its body cleared
    assert recipient.received == []
    notification = ErasureNotification.objects.get()
    assert (
        notification.status,
        notification.attempts,
        notification.response_status,
        notification.last_error,
        notification.payload,
    ) == (NotificationStatus.FAILED, 1, None, "refused address: loopback (127.0.0.1)", {})
    failed = AuditEntry.objects.get(action="erasure.notification_failed")
    assert failed.metadata["last_error"] == "refused address: loopback (127.0.0.1)"
    assert failed.metadata["payload_cleared"] is True
    assert_nothing_personal(json.dumps(failed.metadata), liv)


@pytest.mark.parametrize(
    ("url", "last_error"),
    [
        pytest.param(
            "https://127.0.0.1/erasures", "refused address: loopback (127.0.0.1)", id="loopback"
        ),
        pytest.param(
            "https://10.0.0.1/erasures", "refused address: private (10.0.0.1)", id="private"
        ),
        pytest.param(
            "https://169.254.169.254/latest/meta-data/",
            "refused address: link-local (169.254.169.254)",
            id="cloud-metadata",
        ),
        pytest.param(
            "https://[::1]/erasures", "refused address: loopback (::1)", id="ipv6-loopback"
        ),
        pytest.param(
            "https://[::ffff:10.0.0.1]/erasures",
            "refused address: private (::ffff:10.0.0.1)",
            id="ipv4-mapped",
        ),
        pytest.param(
            "https://0.0.0.0/erasures", "refused address: unspecified (0.0.0.0)", id="unspecified"
        ),
        pytest.param(
            "https://224.0.0.1/erasures", "refused address: multicast (224.0.0.1)", id="multicast"
        ),
        pytest.param(
            "https://240.0.0.1/erasures", "refused address: reserved (240.0.0.1)", id="reserved"
        ),
        pytest.param(
            "https://100.100.100.200/erasures",
            "refused address: not public (100.100.100.200)",
            id="shared-address-space",
        ),
    ],
)
def test_a_recipient_that_is_not_public_is_refused_without_a_request(
    liv,
    team_a,
    steward,
    sent,
    private_addresses_refused,
    url,
    last_error,
    django_capture_on_commit_callbacks,
):
    # Given a webhook whose address is not on the public internet, and the default settings
    webhook(team_a, url, channel="wechat")
    erase(liv, team_a, steward, django_capture_on_commit_callbacks)

    # When the delivery runs
    deliver_all()

    # Then no request was sent; the notification failed at once, saying why, and kept no body
    assert sent == []
    notification = ErasureNotification.objects.get()
    assert (
        notification.status,
        notification.attempts,
        notification.last_error,
        notification.payload,
    ) == (NotificationStatus.FAILED, 1, last_error, {})
    assert_nothing_personal(notification.last_error, liv)


def test_a_name_is_resolved_and_refused_when_it_leads_to_loopback(
    liv, team_a, steward, sent, private_addresses_refused, django_capture_on_commit_callbacks
):
    webhook(team_a, "https://localhost/erasures")
    erase(liv, team_a, steward, django_capture_on_commit_callbacks)

    deliver_all()

    assert sent == []
    notification = ErasureNotification.objects.get()
    assert notification.status == NotificationStatus.FAILED
    assert notification.last_error.startswith("refused address: loopback (")


def test_a_name_that_does_not_resolve_is_an_attempt_tried_again(
    liv, team_a, steward, sent, private_addresses_refused, django_capture_on_commit_callbacks
):
    # Given a host name nobody answers for (DNS may be down: not a reason to give up at once)
    webhook(team_a, "https://erasures.webhook.invalid/")
    erase(liv, team_a, steward, django_capture_on_commit_callbacks)

    result = erasure_notification_deliver(notification_id=ErasureNotification.objects.get().pk)

    assert (result.status, result.attempts, result.retry_in) == ("pending", 1, 30)
    assert sent == []
    notification = ErasureNotification.objects.get()
    assert (notification.response_status, notification.last_error) == (None, "DNS lookup failed")
    assert notification.payload["customer_ids"] == [liv.pk]


def test_a_public_address_is_called(liv, team_a, steward, sent, django_capture_on_commit_callbacks):
    # Given a webhook on a public address (the call itself fails here: no network in tests)
    webhook(team_a, "https://93.184.215.14/erasures")
    erase(liv, team_a, steward, django_capture_on_commit_callbacks)

    result = erasure_notification_deliver(notification_id=ErasureNotification.objects.get().pk)

    assert sent == ["https://93.184.215.14/erasures"]
    assert (result.status, result.attempts) == ("pending", 1)
    assert ErasureNotification.objects.get().last_error == "ConnectionError"


def test_creating_a_webhook_is_audited_without_its_secret(team_a, steward):
    hook = erasure_webhook_create(
        team=team_a,
        name="CRM",
        url="https://crm.example.com/erasures",
        channel=" CRM ",
        secret=SECRET,
        actor=steward,
    )
    assert hook.channel == "crm"
    entry = AuditEntry.objects.get(action="erasure_webhook.create")
    assert entry.metadata == {"team": team_a.pk, "channel": "crm", "is_active": True}
    with pytest.raises(ValidationError):
        erasure_webhook_create(
            team=team_a, name="Plain", url="http://crm.example.com/", secret=SECRET, actor=steward
        )
    assert ErasureWebhook.objects.count() == 1


# --- The admin -----------------------------------------------------------------------------------


@pytest.fixture
def steward_admin(steward, verified_client):
    return verified_client(steward)


def test_admin_adds_a_webhook_of_the_stewards_team_and_masks_its_secret(
    steward_admin, team_a, team_b
):
    # When a data steward adds a webhook for their team
    response = steward_admin.post(
        "/admin/privacy/erasurewebhook/add/",
        {
            "owner_team": team_a.pk,
            "name": "Shop",
            "url": "https://shop.example.com/erasures",
            "channel": "shop",
            "secret": SECRET,
            "is_active": "on",
        },
    )

    # Then it is saved through the service, and its page shows the secret masked only
    assert response.status_code == 302, response.content
    hook = ErasureWebhook.objects.get()
    assert (hook.owner_team, hook.secret, hook.channel) == (team_a, SECRET, "shop")
    assert AuditEntry.objects.filter(action="erasure_webhook.create", object_id=hook.pk).exists()
    page = steward_admin.get(f"/admin/privacy/erasurewebhook/{hook.pk}/change/")
    assert page.status_code == 200
    assert SECRET not in page.content.decode()
    assert SECRET[-4:] in page.content.decode()

    # When they try another team's webhook, or an http address
    for team, url in ((team_b, "https://b.example.com/"), (team_a, "http://shop.example.com/")):
        refused = steward_admin.post(
            "/admin/privacy/erasurewebhook/add/",
            {"owner_team": team.pk, "name": "X", "url": url, "secret": SECRET},
        )
        # Then the form is shown again with the error, and nothing was added
        assert refused.status_code == 200
        assert refused.context["adminform"].form.errors
    assert ErasureWebhook.objects.count() == 1


def test_admin_replaces_the_secret_only_when_a_new_one_is_given(steward_admin, team_a):
    hook = webhook(team_a, "https://shop.example.com/erasures", channel="shop")
    url = f"/admin/privacy/erasurewebhook/{hook.pk}/change/"
    fields = {"name": "Shop", "url": hook.url, "channel": "shop", "is_active": "on"}

    assert steward_admin.post(url, {**fields, "new_secret": ""}).status_code == 302
    hook.refresh_from_db()
    assert (hook.name, hook.secret) == ("Shop", SECRET)

    assert steward_admin.post(url, {**fields, "new_secret": "a-new-secret"}).status_code == 302
    hook.refresh_from_db()
    assert hook.secret == "a-new-secret"
    updates = AuditEntry.objects.filter(action="erasure_webhook.update").order_by("pk")
    assert [entry.metadata for entry in updates] == [{"fields": ["name"]}, {"fields": ["secret"]}]


def test_admin_log_lists_only_the_team_s_notifications_without_their_body(
    liv, team_a, team_b, steward_admin, plain_http, recipient
):
    # Given a notification of team A and one of team B, both waiting
    webhook(team_a, recipient.url(), channel="wechat")
    webhook(team_b, recipient.url(), channel="wechat")
    subject_erase(customer_ids=[liv.pk], team=team_a, reason="request")
    other = CustomerFactory(owner_team=team_b)
    ExternalIdentityFactory(customer=other, channel="wechat", lookup_key="wx-other-team")
    subject_erase(customer_ids=[other.pk], team=team_b, reason="request")
    own, foreign = (
        ErasureNotification.objects.get(webhook__owner_team=team) for team in (team_a, team_b)
    )

    # When team A's steward opens the log and a notification
    listing = steward_admin.get("/admin/privacy/erasurenotification/")
    detail = steward_admin.get(f"/admin/privacy/erasurenotification/{own.pk}/change/")
    hidden = steward_admin.get(f"/admin/privacy/erasurenotification/{foreign.pk}/change/")

    # Then only team A's is listed, and no external id is shown anywhere
    assert listing.status_code == 200
    assert [row.pk for row in listing.context["cl"].result_list] == [own.pk]
    assert detail.status_code == 200
    for response in (listing, detail):
        assert WECHAT_ID not in response.content.decode()
    assert hidden.status_code == 302  # "does not exist": back to the admin index


def test_marketers_do_not_reach_webhooks_or_their_log(verified_client, make_user, team_a):
    client = verified_client(make_user(roles.MARKETER, team_a))
    for path in ("/admin/privacy/erasurewebhook/", "/admin/privacy/erasurenotification/"):
        assert client.get(path).status_code == 403


def test_admin_action_sends_failed_notifications_again(
    liv, team_a, steward_admin, recipient, plain_http, django_capture_on_commit_callbacks
):
    # Given a notification that failed for good
    webhook(team_a, recipient.url())
    subject_erase(customer_ids=[liv.pk], team=team_a, reason="request")
    notification = ErasureNotification.objects.get()
    notification.status, notification.attempts = NotificationStatus.FAILED, MAX_ATTEMPTS
    notification.save()

    # When a data steward sends it again from the log
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = steward_admin.post(
            "/admin/privacy/erasurenotification/",
            {"action": "deliver_again", "_selected_action": [notification.pk]},
        )

    # Then it waits for delivery with a fresh set of attempts, and the retry is audited
    assert response.status_code == 302
    assert len(callbacks) == 1
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (NotificationStatus.PENDING, 0)
    entry = AuditEntry.objects.get(action="erasure.notification_retry")
    assert entry.metadata == {"notifications": [notification.pk]}


def test_admin_action_refuses_a_failed_notification_without_its_body(
    liv, team_a, steward_admin, recipient, plain_http, django_capture_on_commit_callbacks
):
    # Given a notification that failed for good, its body cleared
    webhook(team_a, recipient.url())
    subject_erase(customer_ids=[liv.pk], team=team_a, reason="request")
    recipient.status = 503
    deliver_all()
    notification = ErasureNotification.objects.get()
    assert (notification.status, notification.payload) == (NotificationStatus.FAILED, {})

    # When a data steward tries to send it again from the log
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = steward_admin.post(
            "/admin/privacy/erasurenotification/",
            {"action": "deliver_again", "_selected_action": [notification.pk]},
            follow=True,
        )

    # Then she is told why it cannot be, and nothing changes or is sent
    assert [str(message) for message in response.context["messages"]] == [
        "1 notification cannot be sent again: its content was deleted when its delivery failed "
        "for good. Tell the recipient of its erasure reference another way."
    ]
    assert callbacks == []
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (NotificationStatus.FAILED, 8)
    assert not AuditEntry.objects.filter(action="erasure.notification_retry").exists()
