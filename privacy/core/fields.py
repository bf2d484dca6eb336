"""Model fields that keep personal data encrypted in the database."""

from __future__ import annotations

from django import forms
from django.core.exceptions import FieldError
from django.db import models

from privacy.core import crypto


class EncryptedTextField(models.BinaryField):
    """Text encrypted with AES-GCM under the current key; the model attribute is plain text.

    The column holds only ciphertext, so the field cannot be filtered or ordered on; look-ups
    go through a blind index column beside it.
    """

    description = "Encrypted text"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("editable", True)
        super().__init__(*args, **kwargs)

    def contribute_to_class(self, cls, name, private_only=False):
        super().contribute_to_class(cls, name, private_only)
        self.encryption_context = f"{cls._meta.label_lower}.{name}"

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("editable", None)
        return name, path, args, kwargs

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return crypto.decrypt(bytes(value), context=self.encryption_context)

    def to_python(self, value):
        if value is None or isinstance(value, str):
            return value
        return crypto.decrypt(bytes(value), context=self.encryption_context)

    def get_db_prep_value(self, value, connection, prepared=False):
        if value is None or value == "":
            return None
        if isinstance(value, bytes | memoryview):
            return connection.Database.Binary(bytes(value))
        return connection.Database.Binary(
            crypto.encrypt(str(value), context=self.encryption_context)
        )

    def get_lookup(self, lookup_name):
        if lookup_name != "isnull":
            raise FieldError(
                f"{self.model.__name__}.{self.name} is encrypted; filter on its blind index."
            )
        return super().get_lookup(lookup_name)

    def value_to_string(self, obj):
        return self.value_from_object(obj) or ""

    def formfield(self, **kwargs):
        defaults = {"form_class": forms.CharField, "required": not self.blank}
        defaults.update(kwargs)
        return models.Field.formfield(self, **defaults)
