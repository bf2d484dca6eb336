"""Production settings refuse to start without their secrets or with mail that reaches no mail
server, and pass Django's deploy checks."""

import os
import re
import subprocess

import pytest

from tests.production import REQUIRED_VARIABLES, production_environment, python_run

MISSING_MESSAGE = re.compile(
    r"^django\.core\.exceptions\.ImproperlyConfigured: "
    r"Production settings need these environment variables: (?P<names>.+)$",
    re.MULTILINE,
)
NO_MAIL_SERVER_MESSAGE = re.compile(
    r"^django\.core\.exceptions\.ImproperlyConfigured: Production settings need EMAIL_URL to "
    r"name a mail server \(smtp://, smtp\+tls:// or smtp\+ssl://\), not (?P<scheme>[a-z+]+)://: ",
    re.MULTILINE,
)


def django_setup(environment: dict[str, str], code: str = "") -> subprocess.CompletedProcess:
    """Start Django in a new process with ``environment``, then run ``code`` there."""
    return python_run(environment, "-c", f"import django; django.setup(); {code}")


@pytest.mark.parametrize(
    "missing",
    [REQUIRED_VARIABLES, ("BLIND_INDEX_KEY",), ("EMAIL_URL",)],
    ids=["all-missing", "only-blind-index-key-missing", "only-email-url-missing"],
)
def test_production_settings_name_every_missing_variable(missing):
    # Given a production environment without some of the required variables
    environment = production_environment(missing)

    # When Django starts with the production settings
    result = django_setup(environment)

    # Then it refuses to start and names exactly the missing variables, in order
    assert result.returncode != 0, result.stdout + result.stderr
    match = MISSING_MESSAGE.search(result.stderr)
    assert match is not None, result.stderr
    assert match["names"].split(", ") == list(missing)
    for present in set(REQUIRED_VARIABLES) - set(missing):
        assert present not in match["names"]


def test_deploy_check_passes_with_every_variable_set():
    # Given a complete production environment with a strong random secret key
    environment = production_environment()

    # When Django's deployment checks run, failing on warnings too
    result = python_run(environment, "manage.py", "check", "--deploy", "--fail-level", "WARNING")

    # Then no check reports anything
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output


@pytest.mark.parametrize(
    "email_url",
    ["consolemail://", "filemail:///srv/marketbase/mails", "memorymail://", "dummymail://"],
)
def test_production_settings_refuse_mail_that_reaches_no_mail_server(email_url):
    # Given a complete production environment whose EMAIL_URL names no mail server
    environment = production_environment(EMAIL_URL=email_url)

    # When Django starts with the production settings
    result = django_setup(environment)

    # Then it refuses to start and says which backend it refused
    assert result.returncode != 0, result.stdout + result.stderr
    match = NO_MAIL_SERVER_MESSAGE.search(result.stderr)
    assert match is not None, result.stderr
    assert match["scheme"] == email_url.split(":", 1)[0]


def test_local_settings_print_mail_on_the_console_without_email_url():
    # Given a developer's environment without EMAIL_URL
    environment = {name: value for name, value in os.environ.items() if name != "EMAIL_URL"}
    environment["DJANGO_SETTINGS_MODULE"] = "config.settings.local"

    # When Django starts with the local settings (make run)
    result = django_setup(
        environment, "from django.conf import settings; print(settings.EMAIL_BACKEND)"
    )

    # Then mail goes to the console
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["django.core.mail.backends.console.EmailBackend"]
