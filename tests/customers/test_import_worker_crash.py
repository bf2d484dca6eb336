"""A worker killed in the middle of an import: the job resumes and ends as if it had not."""

import time
import uuid

import pytest
from django.core.files.base import ContentFile

from customers.models import Customer, ImportJob, ImportRow, ImportStatus
from customers.services.csv_files import suggest_mapping
from customers.tasks import import_job_run_task
from privacy.core import roles

pytestmark = pytest.mark.worker

WAIT_SECONDS = 120
# Small chunks make the import last long enough to be killed in the middle; a short visibility
# timeout makes the broker hand the unacknowledged task to the next worker quickly.
WORKER_ENVIRONMENT = {
    "IMPORT_CHUNK_SIZE": "40",
    "CELERY_VISIBILITY_TIMEOUT": "3",
    "CELERY_UNACKED_RESTORE_INTERVAL": "1",
    "CELERY_UNACKED_RESTORE_THROTTLE": "1",
}


def wait_for(condition, worker, message: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"{message}; worker output:\n{worker.output()}"
        time.sleep(0.1)


def test_killed_worker_resumes_without_duplicating_or_dropping_rows(
    celery_worker_process, make_user, team_a, messy_csv, messy_truth
):
    # Given an import job of the messy file, queued on a private queue
    user = make_user(roles.MARKETER, team_a)
    header = messy_csv.decode("utf-8-sig").splitlines()[0].split(",")
    job = ImportJob.objects.create(
        owner_team=team_a,
        created_by=user,
        file=ContentFile(messy_csv, name="messy.csv"),
        mapping=suggest_mapping(header),
    )
    queue = f"test-import-{uuid.uuid4().hex}"
    import_job_run_task.apply_async(args=[job.pk], queue=queue)

    # When the first worker is killed (SIGKILL) once some chunks are committed
    first = celery_worker_process(queue, **WORKER_ENVIRONMENT)
    wait_for(
        lambda: ImportJob.objects.get(pk=job.pk).processed_rows >= 200,
        first,
        "the first worker never committed a chunk",
    )
    first.kill()
    interrupted = ImportJob.objects.get(pk=job.pk)
    assert interrupted.status == ImportStatus.RUNNING
    assert 200 <= interrupted.processed_rows < 2095

    # And a second worker takes the redelivered task
    second = celery_worker_process(queue, **WORKER_ENVIRONMENT)
    wait_for(
        lambda: ImportJob.objects.get(pk=job.pk).status == ImportStatus.SUCCEEDED,
        second,
        "the import did not finish after the restart",
    )

    # Then the result is the one an uninterrupted import gives: every line once, no duplicates
    finished = ImportJob.objects.get(pk=job.pk)
    lines = list(ImportRow.objects.filter(job=finished).values_list("line_number", flat=True))
    assert len(lines) == len(set(lines)) == finished.processed_rows == 2095
    assert Customer.objects.active().count() == messy_truth["distinct_persons"]
    # 15 rows with a value left empty and 172 with a birth date that could be read both ways
    warned = ImportRow.objects.filter(job=finished).exclude(warnings=[]).count()
    assert (finished.rejected_count, finished.warning_count, warned) == (15, 187, 187)
    assert (
        finished.created_count
        + finished.merged_count
        + finished.updated_count
        + finished.unchanged_count
        + finished.rejected_count
    ) == 2095
