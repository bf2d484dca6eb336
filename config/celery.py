"""The Celery application: JSON only, late acknowledgement, capped retries of transient errors."""

import os

from celery import Celery, Task
from django.db import InterfaceError, OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")


class MarketbaseTask(Task):
    """Base task: retries only transient store errors, with exponential backoff and a cap.

    Tasks are acknowledged late and rejected when their worker is lost, so a killed worker's
    task is delivered again; every task must therefore be idempotent.
    """

    acks_late = True
    reject_on_worker_lost = True
    autoretry_for = (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError)
    max_retries = 5
    retry_backoff = 2
    retry_backoff_max = 300
    retry_jitter = True


app = Celery("marketbase", task_cls=MarketbaseTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The privacy app keeps its jobs in the tasks module of each of its packages.
app.autodiscover_tasks(
    ["privacy.core", "privacy.consent", "privacy.requests", "privacy.erasure", "privacy.retention"]
)
