"""Text PostgreSQL cannot store, refused at the door with a 400 that names where it is.

PostgreSQL refuses a NUL character in text and JSON, and a lone surrogate (``"\\ud800"``, valid
JSON) cannot even be encoded as UTF-8. A parameter holding either fails in the database, a 500,
wherever it reaches a query without a form or serializer that checks it first (the admin's list
filters, for one). So the request pipeline checks every parameter once:

- ``NullCharacterMiddleware``: the address, its query string (names and values) and the fields
  of a posted form (not the contents of uploaded files) of every staff page and the admin.
  Query strings and forms are decoded by Django with replacement characters, so they can hold
  a NUL but no surrogate.
- the API: its query parameters (``privacy.core.rest.viewsets.ScopedViewSetMixin``) and its request
  bodies, JSON included (``privacy.core.rest.parsers``), through ``unstorable_strings``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from django.core.validators import ProhibitNullCharactersValidator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from rest_framework.validators import ProhibitSurrogateCharactersValidator

NUL = "\x00"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def refusal(character: str) -> tuple[str, str]:
    """The message and code of a refused character, as Django's and DRF's fields say them."""
    if character == NUL:
        validator = ProhibitNullCharactersValidator
        return str(validator.message), validator.code
    message = ProhibitSurrogateCharactersValidator.message.format(code_point=ord(character))
    return message, ProhibitSurrogateCharactersValidator.code


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return "\\x00" if code == 0 else f"\\u{code:04x}"


def _shown(name: str) -> str:
    """``name`` with its unstorable characters written as escapes, so it can be shown."""
    return _UNSTORABLE.sub(_escape, name)


def unstorable_strings(data: object) -> list[tuple[str, str]]:
    """``(path, character)`` of each string of ``data`` holding a NUL or a lone surrogate.

    ``data`` is parsed JSON or a ``QueryDict``. Paths join keys and list indexes with dots, as
    the API's errors do (``items.3.properties.note``); a key holding one is named itself, with
    the character escaped; the values of a ``QueryDict`` key are all named by the key. Document
    order, and no recursion: nesting depth costs nothing.
    """
    found: list[tuple[str, str]] = []
    pending: list[tuple[str, object]] = [("", data)]
    while pending:
        path, value = pending.pop()
        children: Iterator[tuple[str, object]]
        if isinstance(value, str):
            match = _UNSTORABLE.search(value)
            if match:
                found.append((path, match.group()))
            continue
        if isinstance(value, MultiValueDict):
            children = ((key, item) for key, items in value.lists() for item in items)
        elif isinstance(value, dict):
            children = iter(value.items())
        elif isinstance(value, list | tuple):
            children = ((str(index), item) for index, item in enumerate(value))
        else:
            continue
        later = []
        for key, item in children:
            name = str(key)
            child_path = f"{path}.{_shown(name)}" if path else _shown(name)
            match = _UNSTORABLE.search(name)
            if match:
                found.append((child_path, match.group()))
            else:
                later.append((child_path, item))
        pending.extend(reversed(later))
    return found


class NullCharacterMiddleware:
    """Answers 400 to a staff or admin request whose address, query string or form fields hold
    a NUL, with a page naming the parameter.

    API views check their own parameters, after authentication (``ScopedViewSetMixin``), and
    their bodies in the parsers, which read them only when the view asks (an oversized upload
    is refused before it is read).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        # Imported here: DRF's views read the API settings, which name our parsers.
        from rest_framework.views import APIView

        view_class = getattr(view_func, "cls", None)
        if isinstance(view_class, type) and issubclass(view_class, APIView):
            return None
        found = [("path", NUL)] if NUL in request.path_info else []
        found += unstorable_strings(request.GET)
        if request.method == "POST" and request.content_type in _FORM_TYPES:
            found += unstorable_strings(request.POST)
        if not found:
            return None
        reason = _(
            "“%(name)s” holds a NUL character, which no value may contain. Check the address "
            "or what was typed into the form, and try again."
        ) % {"name": found[0][0]}
        return render(request, "bad_request.html", {"reason": reason}, status=400)
