"""Log lines never hold a query string: it may carry personal data (a search, a link).

gunicorn's access log is checked on a running gunicorn in test_production_build.py; here,
Django's own logging as the settings configure it.
"""

import io
import logging

import pytest


@pytest.fixture
def console():
    """What the configured console handler writes, captured."""
    handler = next(
        handler
        for handler in logging.getLogger("django.server").handlers
        if isinstance(handler, logging.StreamHandler)
    )
    captured = io.StringIO()
    previous = handler.setStream(captured)
    yield captured
    handler.setStream(previous)


def test_the_development_servers_request_lines_drop_the_query_string(console):
    # When the development server logs a request as it does (django.core.servers.basehttp)
    logging.getLogger("django.server").info(
        '"%s" %s %s', "GET /customers/export/?q=ann%40example.com&page=2 HTTP/1.1", "200", "12"
    )

    # Then the line names the path, without the query string
    line = console.getvalue()
    assert '"GET /customers/export/ HTTP/1.1" 200 12' in line
    assert "ann" not in line and "page=2" not in line


def test_every_line_passes_the_filter(console):
    logging.getLogger("customers").warning("Import of %s failed", "/imports/7/?email=x@example.org")

    assert console.getvalue().rstrip().endswith("Import of /imports/7/ failed")
