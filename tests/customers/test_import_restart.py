"""An import whose queueing failed, or that failed, is retried or cancelled by staff; a
cancelled import never runs."""

import socket
import threading
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction

from config.celery import app
from customers.models import Customer, ImportJob, ImportStatus
from customers.services.imports import (
    import_job_cancel,
    import_job_create,
    import_job_fail,
    import_job_run,
)
from customers.tasks import import_job_run_task
from privacy.core import roles
from privacy.models import AuditEntry

PEOPLE = b"email,first_name\nann@example.com,Ann\nbob@example.com,Bob\ncy@example.com,Cy\n"
WAIT_SECONDS = 60


def unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def point_celery_at(url: str | None) -> None:
    """Send tasks to ``url`` (None: the configured broker again). Celery keeps its connection
    and producer pools until a fork; resetting them as a fork does makes the change take."""
    app.conf.broker_write_url = url
    app._after_fork()


@pytest.fixture
def broker():
    """``broker.down()`` points task publishing at a port nothing listens on, as when Redis is
    unreachable; ``broker.up()`` (and the end of the test) points it back."""

    class Broker:
        def down(self) -> None:
            point_celery_at(f"redis://127.0.0.1:{unused_port()}/0")

        def up(self) -> None:
            point_celery_at(None)

    yield Broker()
    point_celery_at(None)


def upload(client, content: bytes = PEOPLE, **extra):
    response = client.post(
        "/api/v1/imports/",
        {"file": SimpleUploadedFile("people.csv", content), **extra},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    return ImportJob.objects.get(pk=response.json()["id"])


def audited(action: str, job: ImportJob) -> list[dict]:
    return list(
        AuditEntry.objects.filter(action=action, object_id=str(job.pk)).values_list(
            "metadata", flat=True
        )
    )


@pytest.mark.worker
def test_an_import_that_could_not_be_queued_waits_with_the_reason_and_runs_once_retried(
    broker, celery_worker_process, make_user, team_a, token_client, verified_client
):
    marketer = make_user(roles.MARKETER, team_a)
    api = token_client(marketer)
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(app.conf.task_default_queue)

    # Given the broker is down when a file is uploaded
    broker.down()
    job = upload(api)

    # Then the upload succeeds, and the job waits with the reason instead of waiting for ever
    job.refresh_from_db()
    assert job.status == ImportStatus.PENDING
    assert job.error.startswith("The import could not be queued: ")
    assert "Connection refused" in job.error
    # And its page says so and offers to retry or cancel it
    page = verified_client(marketer).get(f"/customers/imports/{job.pk}/")
    html = page.content.decode()
    assert "The import could not be queued." in html
    assert f'action="/customers/imports/{job.pk}/retry/"' in html
    assert f'action="/customers/imports/{job.pk}/cancel/"' in html
    assert "hx-trigger" not in html  # nothing to wait for: the page stops polling

    # When it is retried while the broker is still down
    response = api.post(f"/api/v1/imports/{job.pk}/retry/")

    # Then it is still waiting, with the reason again
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == ImportStatus.PENDING
    assert response.json()["error"].startswith("The import could not be queued: ")

    # When it is retried once the broker is back, and a worker runs
    broker.up()
    response = api.post(f"/api/v1/imports/{job.pk}/retry/")
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["error"]) == (ImportStatus.PENDING, "")
    worker = celery_worker_process(app.conf.task_default_queue)
    deadline = time.monotonic() + WAIT_SECONDS
    while ImportJob.objects.get(pk=job.pk).status != ImportStatus.SUCCEEDED:
        assert time.monotonic() < deadline, f"the import never ran:\n{worker.output()}"
        time.sleep(0.2)

    # Then the file is imported once, and each retry is audited
    assert Customer.objects.filter(owner_team=team_a).count() == 3
    assert audited("import.retry", job) == [{"from": "pending"}, {"from": "pending"}]


def test_a_cancelled_import_never_runs(
    make_user, team_a, token_client, django_capture_on_commit_callbacks
):
    # Given an import waiting to start
    marketer = make_user(roles.MARKETER, team_a)
    api = token_client(marketer)
    with django_capture_on_commit_callbacks(execute=False):
        job = upload(api)
    stored_file = job.file.name
    storage = job.file.storage
    assert storage.exists(stored_file)

    # When it is cancelled
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/api/v1/imports/{job.pk}/cancel/")

    # Then it is cancelled, audited, and its file is gone
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == ImportStatus.CANCELLED
    assert audited("import.cancel", job) == [{"from": "pending"}]
    assert not storage.exists(stored_file)

    # And the task, delivered late, leaves it alone
    import_job_run_task.apply(args=[job.pk])
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.error) == (ImportStatus.CANCELLED, 0, "")
    assert not Customer.objects.exists()

    # And it can be neither retried nor cancelled again
    for step in ("retry", "cancel"):
        response = api.post(f"/api/v1/imports/{job.pk}/{step}/")
        assert response.status_code == 400, response.json()
        assert [error["field"] for error in response.json()["errors"]] == ["status"]
    assert ImportJob.objects.get(pk=job.pk).status == ImportStatus.CANCELLED


def test_a_job_cancelled_while_its_task_reads_the_file_does_not_start(
    transactional_db, make_user, team_a
):
    # Given a waiting job, and a cancel that has locked it but not yet committed
    marketer = make_user(roles.MARKETER, team_a)
    job = import_job_create(
        user=marketer, team=team_a, upload=SimpleUploadedFile("people.csv", PEOPLE)
    )
    outcome = {}

    def run_task() -> None:
        try:
            outcome["job"] = import_job_run(job_id=job.pk)
        finally:
            connection.close()

    with transaction.atomic():
        import_job_cancel(user=marketer, job=job)
        # When the task reads the job (still waiting, to it) and tries to start it
        task = threading.Thread(target=run_task)
        task.start()
        deadline = time.monotonic() + WAIT_SECONDS
        while not waits_for_a_lock():
            assert task.is_alive() and time.monotonic() < deadline, "the task never waited"
            time.sleep(0.05)
    # (the cancel commits here)
    task.join(WAIT_SECONDS)

    # Then the task leaves the cancelled job alone
    assert outcome["job"].status == ImportStatus.CANCELLED
    job.refresh_from_db()
    assert (job.status, job.started_at, job.processed_rows) == (ImportStatus.CANCELLED, None, 0)
    assert not Customer.objects.exists()


def waits_for_a_lock() -> bool:
    """Whether another session of this database waits for a row lock."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # not the transaction's cached view
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.parametrize(
    ("keep_file", "status", "field"),
    [
        pytest.param(True, 200, None, id="file-kept"),
        pytest.param(False, 400, "file", id="file-deleted"),
    ],
)
def test_a_failed_import_is_retried_only_with_its_file(
    make_user, team_a, token_client, django_capture_on_commit_callbacks, keep_file, status, field
):
    # Given an import that failed before its first row
    marketer = make_user(roles.MARKETER, team_a)
    api = token_client(marketer)
    with django_capture_on_commit_callbacks(execute=False):
        job = upload(api, **({"keep_file": "true"} if keep_file else {}))
    with django_capture_on_commit_callbacks(execute=True):
        import_job_fail(job_id=job.pk, message="OperationalError: the database went away")

    # When it is retried
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = api.post(f"/api/v1/imports/{job.pk}/retry/")

    # Then a job with its file waits again and runs to the end; one without it is refused
    assert response.status_code == status, response.json()
    job.refresh_from_db()
    if field:
        assert [error["field"] for error in response.json()["errors"]] == [field]
        assert job.status == ImportStatus.FAILED
        assert queued == []
        assert audited("import.retry", job) == []
        return
    assert (job.status, job.error, job.finished_at) == (ImportStatus.PENDING, "", None)
    assert len(queued) == 1
    assert audited("import.retry", job) == [{"from": "failed"}]
    assert import_job_run(job_id=job.pk).status == ImportStatus.SUCCEEDED
    assert Customer.objects.filter(owner_team=team_a).count() == 3


def test_staff_cancel_a_failed_import_from_its_page(
    make_user, team_a, token_client, verified_client, django_capture_on_commit_callbacks
):
    # Given a failed import
    marketer = make_user(roles.MARKETER, team_a)
    with django_capture_on_commit_callbacks(execute=False):
        job = upload(token_client(marketer), keep_file="true")
    import_job_fail(job_id=job.pk, message="boom")
    client = verified_client(marketer)
    assert b"Cancel the import" in client.get(f"/customers/imports/{job.pk}/").content

    # When a marketer cancels it from its page
    response = client.post(f"/customers/imports/{job.pk}/cancel/", follow=True)

    # Then it is cancelled, says so, and offers nothing more to do
    assert response.redirect_chain == [(f"/customers/imports/{job.pk}/", 302)]
    html = response.content.decode()
    assert "The import was cancelled." in html
    assert "no worker will run it" in html
    assert "Cancel the import" not in html and "Retry the import" not in html
    assert ImportJob.objects.get(pk=job.pk).status == ImportStatus.CANCELLED
    assert audited("import.cancel", job) == [{"from": "failed"}]


@pytest.mark.parametrize("step", ["retry", "cancel"])
def test_an_analyst_can_neither_retry_nor_cancel_and_nothing_changes(
    make_user, team_a, token_client, verified_client, django_capture_on_commit_callbacks, step
):
    # Given a failed import of the team, and an analyst of the team
    with django_capture_on_commit_callbacks(execute=False):
        job = upload(token_client(make_user(roles.MARKETER, team_a)), keep_file="true")
    import_job_fail(job_id=job.pk, message="boom")
    analyst = make_user(roles.ANALYST, team_a)

    # When the analyst asks through the API and the staff UI
    api_response = token_client(analyst).post(f"/api/v1/imports/{job.pk}/{step}/")
    page = verified_client(analyst).get(f"/customers/imports/{job.pk}/")
    ui_response = verified_client(analyst).post(f"/customers/imports/{job.pk}/{step}/")

    # Then both refuse, the page offers neither button, and the job is as it was
    assert (api_response.status_code, ui_response.status_code) == (403, 404)
    assert b"Retry the import" not in page.content
    assert ImportJob.objects.get(pk=job.pk).status == ImportStatus.FAILED
    assert not AuditEntry.objects.filter(action__in=["import.retry", "import.cancel"]).exists()
