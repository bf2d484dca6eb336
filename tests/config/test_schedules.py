"""Every beat schedule the migrations create names a task the worker knows."""

import importlib

import pytest
from django.apps import apps as django_apps
from django_celery_beat.models import PeriodicTask

from config.celery import app

# (migration module, function that creates schedules)
SCHEDULING_MIGRATIONS = [
    ("privacy.migrations.0002_audit_append_only_roles_schedules", "schedule_nightly_jobs"),
    ("privacy.migrations.0005_retention_defaults", "schedule_nightly_purge"),
    ("privacy.migrations.0006_request_overdue_schedule", "schedule"),
    ("customers.migrations.0002_schedule_enrichment_and_duplicates", "schedule_nightly_jobs"),
    ("customers.migrations.0009_data_quality_snapshot", "schedule_snapshot"),
]


@pytest.fixture
def scheduled(db):
    # A transactional test earlier in the run may have flushed what the migrations created;
    # the functions are idempotent (get_or_create), so running them again restores it.
    for module, function in SCHEDULING_MIGRATIONS:
        getattr(importlib.import_module(module), function)(django_apps, None)
    return set(PeriodicTask.objects.values_list("task", flat=True))


def test_every_scheduled_task_is_registered(scheduled):
    app.loader.import_default_modules()

    assert {
        "privacy.sessions_purge_expired_task",
        "privacy.requests_overdue_alert_task",
        "privacy.retention_purge_task",
        "customers.customers_enrich_task",
        "customers.data_quality_snapshot_task",
    } <= scheduled
    assert scheduled - set(app.tasks) == set()
