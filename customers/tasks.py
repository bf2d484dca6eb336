from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from customers.services.imports import import_job_fail, import_job_run


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
