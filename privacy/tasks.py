from celery import shared_task

from privacy.core.services.audit import sessions_purge_expired
from privacy.erasure.services.webhooks import MAX_ATTEMPTS, erasure_notification_deliver


@shared_task(name="privacy.sessions_purge_expired_task")
def sessions_purge_expired_task() -> int:
    """Nightly: remove expired staff sessions. Idempotent: a second run finds nothing to do."""
    return sessions_purge_expired()


@shared_task(name="privacy.request_package_build_task", bind=True)
def request_package_build_task(self, request_id: int) -> None:
    """Build an access request's package. Safe to run twice: a request whose package is already
    built, or that is gone, is left alone."""
    from privacy.requests.services.lifecycle import request_package_build, request_package_fail

    try:
        request_package_build(request_id=request_id)
    except self.autoretry_for:
        raise
    except Exception as error:
        # Not transient: give the request back to staff rather than leave it "processing".
        request_package_fail(request_id=request_id, error=type(error).__name__)
        raise


@shared_task(name="privacy.requests_overdue_alert_task")
def requests_overdue_alert_task() -> int:
    """Every morning: tell data stewards about requests overdue or due soon (once a day)."""
    from privacy.requests.services.lifecycle import requests_overdue_alert

    return requests_overdue_alert().requests


@shared_task(
    name="privacy.erasure_notification_deliver_task",
    bind=True,
    # The service counts attempts and marks the notification failed after MAX_ATTEMPTS; the
    # margin leaves room for retries of transient database or broker errors.
    max_retries=2 * MAX_ATTEMPTS,
)
def erasure_notification_deliver_task(self, notification_id: int) -> None:
    """Tell one recipient of one erasure; retried with backoff while the recipient fails.

    Idempotent: a notification that is delivered, failed or gone is not sent again.
    """
    result = erasure_notification_deliver(notification_id=notification_id)
    if result.retry_in is not None:
        raise self.retry(countdown=result.retry_in)


@shared_task(name="privacy.retention_purge_task")
def retention_purge_task(category: str | None = None, actor_id: int | None = None) -> dict:
    """Nightly (every active policy) and on "Run now" (one category or all): remove data past
    its retention period, in batches. Idempotent: a second run finds nothing older than the
    cut-off, and a run cut short is finished by the next one."""
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from privacy.retention.services import retention_purge

    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    return retention_purge(category=category, batch_size=settings.RETENTION_BATCH_SIZE, actor=actor)
