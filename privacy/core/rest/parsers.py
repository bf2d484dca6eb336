"""The API's parsers: request bodies whose strings PostgreSQL can store, or a 400 naming where.

A NUL character or a lone surrogate anywhere in a body (a key or a value, however deep) would
fail in the database or be stored inside an encrypted field; see ``privacy.core.null_characters``.
The error names the path of the string, like a serializer's errors: ``items.3.properties.note``.
"""

from __future__ import annotations

from rest_framework import exceptions, parsers
from rest_framework.exceptions import ErrorDetail

from privacy.core.null_characters import refusal, unstorable_strings


def storable_text_check(data: object) -> None:
    """Raise the API's 400 naming each string of ``data`` that holds a NUL or a lone surrogate."""
    found = unstorable_strings(data)
    if found:
        errors = {}
        for path, character in found:
            message, code = refusal(character)
            errors.setdefault(path, []).append(ErrorDetail(message, code=code))
        raise exceptions.ValidationError(errors)


class _StorableText:
    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        storable_text_check(parsed.data if isinstance(parsed, parsers.DataAndFiles) else parsed)
        return parsed


class JSONParser(_StorableText, parsers.JSONParser):
    pass


class FormParser(_StorableText, parsers.FormParser):
    pass


class MultiPartParser(_StorableText, parsers.MultiPartParser):
    """Form fields are checked; the contents of uploaded files are the importer's to read."""
