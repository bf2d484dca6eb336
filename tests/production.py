"""The environment of a process started under production settings from the test suite."""

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
COMMAND_SECONDS = 300

# What production settings require, in the order they name the missing ones.
REQUIRED_VARIABLES = (
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "FIELD_ENCRYPTION_KEYS",
    "BLIND_INDEX_KEY",
    "EMAIL_URL",
)


def production_values() -> dict[str, str]:
    """A complete, valid production environment. Its stores and mail server are never
    connected to; a test that starts processes points them at the test stores."""
    return {
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "marketbase.example.com",
        "DATABASE_URL": "postgres://marketbase:unused@db.invalid:5432/marketbase",
        "CELERY_BROKER_URL": "redis://broker.invalid:6379/0",
        # As .env.example says: base64 of 32 random bytes.
        "FIELD_ENCRYPTION_KEYS": base64.b64encode(secrets.token_bytes(32)).decode(),
        "BLIND_INDEX_KEY": secrets.token_urlsafe(32),
        "EMAIL_URL": "smtp+tls://marketbase:unused@smtp.invalid:587",
    }


def production_environment(missing: tuple[str, ...] = (), **values: str) -> dict[str, str]:
    """The test process's environment under production settings: the required variables
    except ``missing``, then ``values`` on top."""
    # Test-only switches (the browser tests' async-safety escape) are not production's.
    ignored = {*REQUIRED_VARIABLES, "DJANGO_ALLOW_ASYNC_UNSAFE", "REDIS_URL"}
    environment = {name: value for name, value in os.environ.items() if name not in ignored}
    environment.update(
        {name: value for name, value in production_values().items() if name not in missing}
    )
    environment.update(values)
    environment["DJANGO_SETTINGS_MODULE"] = "config.settings.production"
    return environment


def python_run(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess:
    """``python ARGUMENTS`` in the project folder with ``environment``, output captured."""
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=COMMAND_SECONDS,
        check=False,
    )
