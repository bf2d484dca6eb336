"""Jobs of data-subject requests: building access packages, daily overdue reminders."""

from celery import shared_task


@shared_task(name="privacy.request_package_build_task", bind=True)
def request_package_build_task(self, request_id: int) -> None:
    """Build an access request's package. Safe to run twice: a request whose package is already
    built, or that is gone, is left alone."""
    from privacy.requests.services.package import request_package_build, request_package_fail

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
    from privacy.requests.services.alerts import requests_overdue_alert

    return requests_overdue_alert().requests
