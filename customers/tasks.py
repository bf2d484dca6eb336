from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from customers.quality.services import data_quality_snapshot_take
from customers.services.duplicates import duplicates_find
from customers.services.enrichment import customers_enrich
from customers.services.imports import import_job_fail, import_job_run
from customers.services.metrics import customer_metrics_refresh


@shared_task(name="customers.import_job_run_task", bind=True)
def import_job_run_task(self, job_id: int) -> None:
    """Run or resume one import. Safe to run twice: finished chunks are skipped."""
    try:
        import_job_run(job_id=job_id)
    except SoftTimeLimitExceeded:
        # The job keeps its resume point; a new delivery continues from there.
        raise
    except self.autoretry_for:
        raise
    except Exception as error:
        import_job_fail(job_id=job_id, message=f"{type(error).__name__}: {error}")
        raise


@shared_task(name="customers.customers_enrich_task")
def customers_enrich_task(team_id: int | None = None, customer_ids: list[int] | None = None) -> int:
    """Nightly (all teams) and after each import (its team): recompute derived metrics.

    Idempotent: a second run over the same data writes nothing. A team or customer that is
    gone simply matches no rows.
    """
    return customers_enrich(team_id=team_id, customer_ids=customer_ids)


@shared_task(name="customers.customer_metrics_refresh_task")
def customer_metrics_refresh_task(team_id: int) -> int:
    """Seconds after purchases of a few customers changed: enrich the ones the team queued.

    Debounced per team (one task per window, see ``customers.services.metrics``). Idempotent:
    a second delivery finds nothing queued, or re-enriches the same customers to the same
    values.
    """
    return customer_metrics_refresh(team_id=team_id)


@shared_task(name="customers.duplicates_find_task")
def duplicates_find_task(team_id: int | None = None) -> int:
    """Nightly (all teams) and after each import (its team): suggest possible duplicates.

    Idempotent: pairs suggested before, whatever their status, are never added again.
    """
    return duplicates_find(team_id=team_id)


@shared_task(name="customers.data_quality_snapshot_task")
def data_quality_snapshot_task() -> int:
    """Nightly: keep the day's data-quality figures of every team (aggregates only).

    Idempotent: a second run the same day replaces that day's figures.
    """
    return data_quality_snapshot_take()
