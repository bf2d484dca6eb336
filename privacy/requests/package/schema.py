"""The JSON Schema (draft 2020-12) of an access package's ``data.json``, from its categories."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from privacy.requests.package.registry import FORMAT, VERSION, ExportCategory, ExportColumn

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


# --- The JSON Schema of data.json ---------------------------------------------------------------


def package_schema(categories: Sequence[ExportCategory]) -> dict[str, Any]:
    """A JSON Schema (draft 2020-12) of ``data.json`` for these categories."""
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "$id": f"urn:marketbase:{FORMAT}:{VERSION}",
        "title": "Personal data held about you",
        "description": "A copy of the personal data one company holds about you in Marketbase, "
        "by category. Each category is a list of rows; each row an object whose keys are the "
        "category's columns. The same rows are in the CSV file named after the category.",
        "type": "object",
        "additionalProperties": False,
        "required": ["format", "version", "generated_at", "team", "categories"],
        "properties": {
            "format": {"const": FORMAT, "description": "Names this file format."},
            "version": {"const": VERSION, "description": "Version of the file format."},
            "generated_at": {
                "type": "string",
                "format": "date-time",
                "description": "When the package was made.",
            },
            "team": {"type": "string", "description": "The team holding the data."},
            "request_reference": {
                "type": ["string", "null"],
                "description": "Reference of the request this package answers.",
            },
            "categories": {
                "type": "object",
                "description": "The categories of personal data.",
                "additionalProperties": False,
                "required": [category.name for category in categories],
                "properties": {
                    category.name: _category_schema(category) for category in categories
                },
            },
        },
    }


def _category_schema(category: ExportCategory) -> dict[str, Any]:
    return {
        "title": category.title,
        "description": category.description,
        "type": "array",
        "items": {
            "type": "object",
            "additionalProperties": False,
            "required": [column.name for column in category.columns],
            "properties": {column.name: _column_schema(column) for column in category.columns},
        },
    }


def _column_schema(column: ExportColumn) -> dict[str, Any]:
    schema: dict[str, Any] = {"description": column.description}
    if column.type is not None:
        schema["type"] = [column.type, "null"] if column.nullable else column.type
    if column.format:
        schema["format"] = column.format
    if column.items:
        schema["items"] = {"type": column.items}
    return schema
