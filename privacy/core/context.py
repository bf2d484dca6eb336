"""Who is acting and on behalf of which request, for audit entries and log lines."""

import contextvars
import logging
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


class RequestIdLogFilter(logging.Filter):
    """Adds ``request_id`` to every log record so log lines match audit entries."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current().request_id or "-"
        return True
