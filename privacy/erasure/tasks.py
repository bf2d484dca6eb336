"""Jobs of erasure: telling downstream recipients."""

from celery import shared_task

from privacy.erasure.services.webhooks import MAX_ATTEMPTS, erasure_notification_deliver


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
