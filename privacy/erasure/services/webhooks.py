"""Erasure webhooks: every downstream recipient of a team's data hears of each erasure.

GDPR Art. 19 asks a controller to tell the recipients of personal data about its erasure.
``subject_erase`` calls ``erasure_notifications_create`` in its transaction: one
``ErasureNotification`` per active webhook of the team, holding the exact body to send, and a
delivery task per notification enqueued after commit (a rolled-back erasure tells nobody).

``erasure_notification_deliver`` POSTs the body as JSON, signed with the webhook's secret::

    X-Marketbase-Event: subject.erased
    X-Marketbase-Signature: sha256=<hex HMAC-SHA256 of the body>

A 2xx answer marks the notification delivered and clears its body; anything else (another
status, a redirect, a timeout, a refused connection) counts an attempt and the task tries again
with exponential backoff, up to ``MAX_ATTEMPTS``, after which the notification is failed and its
body (erased people's customer numbers and external ids) is cleared too: the log keeps only the
``erasure_reference`` to tell the recipient another way. A failed notification that still has a
body (failed before bodies were cleared) can be sent again; one without cannot. Delivery is at
least once: a worker lost between the answer and the commit sends again, so recipients
deduplicate on ``erasure_reference``.

Before each attempt the webhook's host is resolved, and an address that is not public (private,
loopback, link-local, multicast, reserved, unspecified, shared) fails the notification without
sending anything: a webhook must not lead the body, or a request at all, to the cloud's metadata
service or internal systems. ``ERASURE_WEBHOOK_ALLOW_PRIVATE_ADDRESSES`` lifts that for
recipients on a private network (and for local development).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from privacy.core.services.audit import audit_record
from privacy.models import ErasureNotification, ErasureWebhook, NotificationStatus, Team

EVENT = "subject.erased"
EVENT_HEADER = "X-Marketbase-Event"
SIGNATURE_HEADER = "X-Marketbase-Signature"
DELIVERY_TIMEOUT_SECONDS = 10
MAX_ATTEMPTS = 8
# Waits between attempts: 30 s, 1, 2, 4, 8, 16 and 32 minutes (about an hour in all).
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 60 * 60

_WEBHOOK_FIELDS = frozenset({"name", "url", "channel", "secret", "is_active"})
SKIPPED = "skipped"


@dataclass(frozen=True)
class RetryResult:
    """What sending failed notifications again came to: how many will be sent, and how many were
    refused because their body was cleared when they failed."""

    retried: int
    without_payload: int


@dataclass(frozen=True)
class DeliveryResult:
    """What one delivery attempt came to; ``retry_in`` is set when the task should retry."""

    status: str  # a NotificationStatus, or "skipped" when there was nothing to send
    attempts: int = 0
    retry_in: int | None = None


def webhook_signature(*, secret: str, body: bytes) -> str:
    """The ``X-Marketbase-Signature`` header value of ``body``: ``sha256=<hex HMAC>``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_secret_generate() -> str:
    """A new random signing secret (64 hex characters)."""
    return secrets.token_hex(32)


def erasure_webhook_url_validate(*, url: str) -> None:
    """Refuse addresses that are not http(s); outside DEBUG, only https is accepted.

    The body names erased customers and their external ids, so it never travels in clear text
    in production.
    """
    parts = urlsplit(url.strip())
    schemes = {"http", "https"} if settings.DEBUG else {"https"}
    if parts.scheme.lower() not in schemes or not parts.hostname:
        message = (
            gettext("Enter an http:// or https:// address.")
            if settings.DEBUG
            else gettext(
                "Enter an https:// address: erasure notifications are never sent unencrypted."
            )
        )
        raise ValidationError({"url": message}, code="insecure_url")


@transaction.atomic
def erasure_webhook_create(
    *,
    team: Team,
    name: str,
    url: str,
    secret: str,
    channel: str = "",
    is_active: bool = True,
    actor: AbstractBaseUser | AnonymousUser | None = None,
) -> ErasureWebhook:
    """Add a recipient that hears of every later erasure of ``team``'s customers."""
    erasure_webhook_url_validate(url=url)
    if not secret:
        raise ValidationError({"secret": gettext("Enter a signing secret.")}, code="required")
    webhook = ErasureWebhook.objects.create(
        owner_team=team,
        name=name,
        url=url.strip(),
        channel=channel.strip().lower(),
        secret=secret,
        is_active=is_active,
    )
    audit_record(
        action="erasure_webhook.create",
        actor=actor,
        target=webhook,
        metadata={"team": team.pk, "channel": webhook.channel, "is_active": is_active},
    )
    return webhook


@transaction.atomic
def erasure_webhook_update(
    *,
    webhook: ErasureWebhook,
    changes: dict[str, Any],
    actor: AbstractBaseUser | AnonymousUser | None = None,
) -> ErasureWebhook:
    """Change a webhook's name, address, channel, secret or whether it is active.

    The audit entry names the fields changed, never the secret.
    """
    changes = dict(changes)
    unknown = set(changes) - _WEBHOOK_FIELDS
    if unknown:
        raise ValueError(f"Not changeable: {sorted(unknown)}")
    if "url" in changes:
        changes["url"] = changes["url"].strip()
        erasure_webhook_url_validate(url=changes["url"])
    if "channel" in changes:
        changes["channel"] = changes["channel"].strip().lower()
    if "secret" in changes and not changes["secret"]:
        raise ValidationError({"secret": gettext("Enter a signing secret.")}, code="required")
    changed = sorted(name for name, value in changes.items() if getattr(webhook, name) != value)
    if not changed:
        return webhook
    for name in changed:
        setattr(webhook, name, changes[name])
    webhook.save(update_fields=changed)
    audit_record(
        action="erasure_webhook.update", actor=actor, target=webhook, metadata={"fields": changed}
    )
    return webhook


def erasure_notifications_create(
    *,
    team: Team,
    erasure_reference: str,
    erased_at: datetime,
    customer_ids: Iterable[int],
    external_ids: Iterable[tuple[str, str]] = (),
    request_id: int | None = None,
) -> list[ErasureNotification]:
    """Record what each active webhook of ``team`` must be told of one erasure, and send it
    after commit.

    Call it inside the erasure's transaction. Each webhook gets the customer numbers and the
    external ids of its own channel, never an email or phone. Two queries whatever the number
    of webhooks.
    """
    webhooks = list(ErasureWebhook.objects.filter(owner_team=team, is_active=True).order_by("pk"))
    if not webhooks:
        return []
    customers = sorted(customer_ids)
    externals = sorted(set(external_ids))
    notifications = ErasureNotification.objects.bulk_create(
        ErasureNotification(
            webhook=webhook,
            erasure_reference=erasure_reference,
            request_id=request_id,
            payload={
                "event": EVENT,
                "erasure_reference": erasure_reference,
                "team": team.slug,
                "erased_at": erased_at.isoformat(),
                "customer_ids": customers,
                "external_ids": [
                    value
                    for channel, value in externals
                    if webhook.channel and channel == webhook.channel
                ],
            },
        )
        for webhook in webhooks
    )
    _deliver_after_commit(notification.pk for notification in notifications)
    return notifications


def erasure_notification_deliver(*, notification_id: int) -> DeliveryResult:
    """Send one notification once; safe to call again at any time.

    A notification that is gone, delivered or failed, or that another worker is sending right
    now, is left alone (``skipped``). The row stays locked while the request runs (at most
    ``DELIVERY_TIMEOUT_SECONDS``), so two workers never send it at the same time.
    """
    with transaction.atomic():
        notification = (
            ErasureNotification.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("webhook")
            .filter(pk=notification_id, status=NotificationStatus.PENDING)
            .first()
        )
        if notification is None:
            return DeliveryResult(status=SKIPPED)
        webhook = notification.webhook
        try:
            erasure_webhook_url_validate(url=webhook.url)
        except ValidationError:
            # Not transient: retrying cannot help until someone changes the address.
            notification.attempts += 1
            notification.last_error = "refused address"
            return _fail(notification)
        if settings.ERASURE_WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
            refusal, lookup_error = None, None
        else:
            refusal, lookup_error = _host_refusal(url=webhook.url)
        if refusal is not None:
            # Not transient either: the host's name leads somewhere the body must never go.
            notification.attempts += 1
            notification.last_error = refusal
            return _fail(notification)
        if lookup_error is not None:
            response_status, error = None, lookup_error
        else:
            response_status, error = _post(webhook=webhook, payload=notification.payload)
        notification.attempts += 1
        notification.response_status = response_status
        if error is None:
            notification.status = NotificationStatus.DELIVERED
            notification.payload = {}
            notification.delivered_at = timezone.now()
            notification.last_error = ""
            notification.save(
                update_fields=[
                    "status",
                    "payload",
                    "delivered_at",
                    "attempts",
                    "response_status",
                    "last_error",
                ]
            )
            audit_record(
                action="erasure.notification_delivered",
                target=notification,
                metadata={
                    "webhook": webhook.pk,
                    "erasure_reference": notification.erasure_reference,
                    "attempts": notification.attempts,
                    "response_status": response_status,
                },
            )
            return DeliveryResult(
                status=NotificationStatus.DELIVERED, attempts=notification.attempts
            )
        notification.last_error = error
        if notification.attempts >= MAX_ATTEMPTS:
            return _fail(notification)
        notification.save(update_fields=["attempts", "response_status", "last_error"])
        return DeliveryResult(
            status=NotificationStatus.PENDING,
            attempts=notification.attempts,
            retry_in=min(RETRY_BASE_SECONDS * 2 ** (notification.attempts - 1), RETRY_MAX_SECONDS),
        )


@transaction.atomic
def erasure_notifications_retry(
    *,
    notification_ids: Iterable[int],
    actor: AbstractBaseUser | AnonymousUser | None = None,
) -> RetryResult:
    """Send failed notifications again, with a fresh set of attempts.

    Delivered and pending ones are left alone. A failed notification whose body was cleared when
    it failed is refused (counted in ``without_payload``): there is nothing left to send. Callers
    pass ids the actor may change.
    """
    failed = list(
        ErasureNotification.objects.select_for_update()
        .filter(pk__in=list(notification_ids), status=NotificationStatus.FAILED)
        .order_by("pk")
        .values_list("pk", "payload")
    )
    ids = [pk for pk, payload in failed if payload]
    without_payload = len(failed) - len(ids)
    if not ids:
        return RetryResult(retried=0, without_payload=without_payload)
    ErasureNotification.objects.filter(pk__in=ids).update(
        status=NotificationStatus.PENDING, attempts=0, last_error=""
    )
    audit_record(
        action="erasure.notification_retry",
        actor=actor,
        object_type=ErasureNotification._meta.label_lower,
        metadata={"notifications": ids},
    )
    _deliver_after_commit(ids)
    return RetryResult(retried=len(ids), without_payload=without_payload)


# Refused kinds of address, most telling first: 127.0.0.1 is private too, but "loopback" says
# more; "not public" catches the rest (shared address space such as 100.64.0.0/10).
_REFUSED_KINDS = (
    ("unspecified", "is_unspecified"),
    ("loopback", "is_loopback"),
    ("link-local", "is_link_local"),
    ("multicast", "is_multicast"),
    ("reserved", "is_reserved"),
    ("private", "is_private"),
)


def _address_kind(address: str) -> str | None:
    """The kind of a resolved address the body must not go to, or None for a public one."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "unparsable"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind, attribute in _REFUSED_KINDS:
        if getattr(ip, attribute):
            return kind
    return None if ip.is_global else "not public"


def _host_refusal(*, url: str) -> tuple[str | None, str | None]:
    """Resolve the webhook's host: (why it is refused, None), or (None, why it could not be
    looked up), or (None, None) when every address it resolves to is public.

    Every address counts, not just the first: a name that resolves to a public and a private
    address could be connected to either. The reasons name the kind of address and the address,
    never what would be sent.
    """
    hostname = urlsplit(url.strip()).hostname or ""
    try:
        resolved = socket.getaddrinfo(hostname, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        # The name may resolve on the next attempt (a DNS outage): transient.
        return None, "DNS lookup failed"
    for _family, _type, _proto, _canonical, sockaddr in resolved:
        address = str(sockaddr[0])
        kind = _address_kind(address)
        if kind is not None:
            return f"refused address: {kind} ({address})", None
    if not resolved:
        return None, "DNS lookup failed"
    return None, None


def _post(*, webhook: ErasureWebhook, payload: dict[str, Any]) -> tuple[int | None, str | None]:
    """POST the signed body; (status, None) on a 2xx answer, else (status or None, error).

    The error names the status or the exception class only: an answer's body or an exception's
    text may echo what was sent.
    """
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        EVENT_HEADER: EVENT,
        SIGNATURE_HEADER: webhook_signature(secret=webhook.secret, body=body),
    }
    try:
        # No redirects: a 3xx could lead the body to an address nobody checked.
        response = requests.post(
            webhook.url,
            data=body,
            headers=headers,
            timeout=DELIVERY_TIMEOUT_SECONDS,
            allow_redirects=False,
            stream=True,  # the answer's body is never read
        )
    except requests.RequestException as error:
        return None, type(error).__name__
    response.close()
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}"


def _fail(notification: ErasureNotification) -> DeliveryResult:
    # The body names erased people (customer numbers, external ids): a notification that will
    # not be sent must not keep it. The erasure reference stays, to tell the recipient otherwise.
    notification.status = NotificationStatus.FAILED
    notification.payload = {}
    notification.save(
        update_fields=["status", "payload", "attempts", "response_status", "last_error"]
    )
    audit_record(
        action="erasure.notification_failed",
        target=notification,
        metadata={
            "webhook": notification.webhook_id,
            "erasure_reference": notification.erasure_reference,
            "attempts": notification.attempts,
            "last_error": notification.last_error,
            "payload_cleared": True,
        },
    )
    return DeliveryResult(status=NotificationStatus.FAILED, attempts=notification.attempts)


def _deliver_after_commit(notification_ids: Iterable[int]) -> None:
    from privacy.erasure.tasks import erasure_notification_deliver_task

    for notification_id in notification_ids:
        transaction.on_commit(partial(erasure_notification_deliver_task.delay, notification_id))
