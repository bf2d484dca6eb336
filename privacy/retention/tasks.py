"""Jobs of retention: the purge."""

from celery import shared_task


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
