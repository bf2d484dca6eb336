"""Serializer fields shared by the API's serializers."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class BlankAsNullChoiceField(serializers.ChoiceField):
    """A choice that may be unset: stored as "" (Django's way for text), answered as null, so
    the schema's enum holds only real choices and the field is declared nullable."""

    def to_representation(self, value: Any) -> Any:
        if value in ("", None):
            return None
        return super().to_representation(value)


class BlankChoicesAsNullMixin:
    """For model serializers: every model field with choices that may be blank is a
    ``BlankAsNullChoiceField``."""

    def build_standard_field(self, field_name, model_field):
        field_class, field_kwargs = super().build_standard_field(field_name, model_field)
        if (
            model_field.choices
            and model_field.blank
            and issubclass(field_class, serializers.ChoiceField)
        ):
            field_class = BlankAsNullChoiceField
            field_kwargs.pop("allow_blank", None)
            field_kwargs["allow_null"] = True
        return field_class, field_kwargs
