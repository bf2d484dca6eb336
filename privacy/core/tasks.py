"""Jobs of the privacy core."""

from celery import shared_task

from privacy.core.services.sign_in import sessions_purge_expired


@shared_task(name="privacy.sessions_purge_expired_task")
def sessions_purge_expired_task() -> int:
    """Nightly: remove expired staff sessions. Idempotent: a second run finds nothing to do."""
    return sessions_purge_expired()
