"""Production settings refuse to start without their secrets and pass Django's deploy checks."""

import base64
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
REQUIRED_VARIABLES = (
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "FIELD_ENCRYPTION_KEYS",
    "BLIND_INDEX_KEY",
)
MISSING_MESSAGE = re.compile(
    r"^django\.core\.exceptions\.ImproperlyConfigured: "
    r"Production settings need these environment variables: (?P<names>.+)$",
    re.MULTILINE,
)


def production_values() -> dict[str, str]:
    """A complete, valid production environment. Nothing here is ever connected to."""
    return {
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "marketbase.example.com",
        "DATABASE_URL": "postgres://marketbase:unused@db.invalid:5432/marketbase",
        "CELERY_BROKER_URL": "redis://broker.invalid:6379/0",
        "FIELD_ENCRYPTION_KEYS": base64.b64encode(secrets.token_bytes(32)).decode(),
        "BLIND_INDEX_KEY": secrets.token_urlsafe(32),
    }


def production_environment(missing: tuple[str, ...]) -> dict[str, str]:
    """The test process's environment under production settings, with ``missing`` removed."""
    # Test-only switches (the browser tests' async-safety escape) are not production's.
    ignored = {*REQUIRED_VARIABLES, "DJANGO_ALLOW_ASYNC_UNSAFE", "REDIS_URL"}
    environment = {name: value for name, value in os.environ.items() if name not in ignored}
    environment.update(
        {name: value for name, value in production_values().items() if name not in missing}
    )
    environment["DJANGO_SETTINGS_MODULE"] = "config.settings.production"
    return environment


@pytest.mark.parametrize(
    "missing",
    [REQUIRED_VARIABLES, ("BLIND_INDEX_KEY",)],
    ids=["all-missing", "only-blind-index-key-missing"],
)
def test_production_settings_name_every_missing_variable(missing):
    # Given a production environment without some of the required variables
    environment = production_environment(missing)

    # When Django starts with the production settings
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    # Then it refuses to start and names exactly the missing variables, in order
    assert result.returncode != 0, result.stdout + result.stderr
    match = MISSING_MESSAGE.search(result.stderr)
    assert match is not None, result.stderr
    assert match["names"].split(", ") == list(missing)
    for present in set(REQUIRED_VARIABLES) - set(missing):
        assert present not in match["names"]


def test_deploy_check_passes_with_every_variable_set():
    # Given a complete production environment with a strong random secret key
    environment = production_environment(missing=())

    # When Django's deployment checks run, failing on warnings too
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    # Then no check reports anything
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output
