"""Every beat schedule created by the migrations names a task the worker knows."""

from django_celery_beat.models import PeriodicTask

from config.celery import app


def test_every_scheduled_task_is_registered(db):
    app.loader.import_default_modules()
    scheduled = set(PeriodicTask.objects.values_list("task", flat=True))

    assert {
        "privacy.sessions_purge_expired_task",
        "privacy.requests_overdue_alert_task",
        "privacy.retention_purge_task",
    } <= scheduled
    assert scheduled - set(app.tasks) == set()
