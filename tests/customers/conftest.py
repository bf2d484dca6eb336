import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from customers.services.imports import import_job_create, import_job_run
from tests.shared_data import shared_file


@pytest.fixture(scope="session")
def messy_csv() -> bytes:
    return shared_file("customers_messy.csv").read_bytes()


@pytest.fixture(scope="session")
def messy_truth() -> dict:
    return json.loads(shared_file("customers_messy.truth.json").read_text(encoding="utf-8"))


@pytest.fixture
def run_import(django_capture_on_commit_callbacks):
    """Create an import job from bytes and run it in this process, as the worker would."""

    def run(user, team, content: bytes, *, name="customers.csv", chunk_size=None, **options):
        with django_capture_on_commit_callbacks(execute=False):
            job = import_job_create(
                user=user, team=team, upload=SimpleUploadedFile(name, content), **options
            )
        return import_job_run(job_id=job.pk, chunk_size=chunk_size)

    return run
