"""Who is acting and on behalf of which request, for audit entries and log lines."""

import contextvars
import logging
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    request_id: str = ""
    ip_address: str | None = None


_EMPTY = RequestContext()
_current: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "marketbase_request_context", default=None
)


def current() -> RequestContext:
    return _current.get() or _EMPTY


def activate(context: RequestContext) -> contextvars.Token:
    return _current.set(context)


def deactivate(token: contextvars.Token) -> None:
    _current.reset(token)


class QueryStringLogFilter(logging.Filter):
    """Drops the query string of every address in a log line (``GET /customers/?q=ann`` becomes
    ``GET /customers/``): a query string may hold personal data, which logs must not keep.

    Installed on the handlers of ``LOGGING``, so Django's request and development-server lines
    and anything else logged pass through it.
    """

    _ADDRESS_QUERY = re.compile(r"(?P<path>/[^\s?\"']*)\?[^\s\"']*")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "?" in message:
            record.msg = self._ADDRESS_QUERY.sub(r"\g<path>", message)
            record.args = ()
        return True


class RequestIdLogFilter(logging.Filter):
    """Adds ``request_id`` to every log record so log lines match audit entries."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current().request_id or "-"
        return True
