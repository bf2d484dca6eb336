"""Typed custom fields: their definitions per team, and the values customers hold for them.

A definition (``CustomField``) names a key, labels in English and Chinese, a type and optional
checks (a range for numbers and years, a pattern for text, the options of a choice). Values
are kept in ``Customer.attributes`` as typed JSON: numbers as JSON numbers, dates as ISO
strings, booleans as JSON booleans, several choices as a list. The values of a field that holds
personal data are never stored there: they are kept together, as one JSON object encrypted like
the contact details, in ``Customer.private_attributes``.

Every door (import mapping, API, staff form, admin) checks values with ``custom_values_clean``;
the import and the staff form read text (``from_text=True``: "1"/"0"/"yes" for yes/no, a decimal
comma, dates in the formats imports read), the API reads JSON values as they are typed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import get_language, gettext_noop

from customers import normalisation
from customers.models import Customer, CustomField, CustomFieldType
from privacy.core.masking import MASK
from privacy.core.services.audit import audit_record
from privacy.models import Team

ATTRIBUTE_PREFIX = "attributes."
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
MAX_TEXT_LENGTH = 1000
MAX_PATTERN_LENGTH = 200
MAX_OPTIONS = 200
# A quantified group that is itself quantified, as in (a+)+ or (\w*)*: the shape of patterns
# whose matching time explodes on some inputs. Refused, with patterns longer than the limit.
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*}]\)\s*[+*{]")
_BACK_REFERENCE = re.compile(r"\\[1-9]|\(\?P=")
NUMERIC_TYPES = frozenset({CustomFieldType.INTEGER, CustomFieldType.DECIMAL, CustomFieldType.YEAR})
_CHOICE_SEPARATORS = re.compile(r"[;,|\uff0c\u3001\uff1b]")

# Reasons a value is refused (the import report and the API name the column or field).
NOT_TEXT = gettext_noop("not a text")
TEXT_TOO_LONG = gettext_noop("longer than 1,000 characters")
NO_PATTERN_MATCH = gettext_noop("does not match the field's pattern")
NOT_WHOLE_NUMBER = gettext_noop("not a whole number")
NOT_NUMBER = gettext_noop("not a number")
NOT_YEAR = gettext_noop("not a year")
NOT_DATE = gettext_noop("not a date (YYYY-MM-DD)")
NOT_BOOLEAN = gettext_noop("not a yes/no value")
NOT_AN_OPTION = gettext_noop("not one of the field's options")
NOT_A_LIST = gettext_noop("not a list of the field's options")
BELOW_MINIMUM = gettext_noop("below the field's minimum")
ABOVE_MAXIMUM = gettext_noop("above the field's maximum")
UNKNOWN_FIELD = gettext_noop("no custom field of this team has this key")


class CustomValueError(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- Values ------------------------------------------------------------------------------------


def _number_from_text(text: str) -> Decimal:
    """A number written with a decimal point or a decimal comma, with or without thousands
    separators: "1234.5", "1234,5", "1,234.50", "1.234,50", "1 234"."""
    compact = "".join(text.split()).replace("\u00a0", "")
    if "," in compact and "." in compact:
        decimal_mark = "," if compact.rfind(",") > compact.rfind(".") else "."
        thousands = "." if decimal_mark == "," else ","
        compact = compact.replace(thousands, "").replace(decimal_mark, ".")
    elif compact.count(",") == 1:
        compact = compact.replace(",", ".")
    elif compact.count(",") > 1:
        compact = compact.replace(",", "")
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)", compact):
        raise CustomValueError(NOT_NUMBER)
    return Decimal(compact)


def _number(definition: CustomField, value: Any, *, from_text: bool) -> int | float:
    if isinstance(value, bool):
        raise CustomValueError(NOT_NUMBER)
    if from_text and isinstance(value, str):
        number = _number_from_text(value)
    elif isinstance(value, int | float):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise CustomValueError(NOT_NUMBER) from None
        if not number.is_finite():
            raise CustomValueError(NOT_NUMBER)
    else:
        raise CustomValueError(NOT_NUMBER)
    if definition.type != CustomFieldType.DECIMAL and number != number.to_integral_value():
        raise CustomValueError(
            NOT_YEAR if definition.type == CustomFieldType.YEAR else NOT_WHOLE_NUMBER
        )
    if definition.type == CustomFieldType.YEAR and not 1000 <= number <= 9999:
        raise CustomValueError(NOT_YEAR)
    if definition.min_value is not None and number < definition.min_value:
        raise CustomValueError(BELOW_MINIMUM)
    if definition.max_value is not None and number > definition.max_value:
        raise CustomValueError(ABOVE_MAXIMUM)
    return int(number) if number == number.to_integral_value() else float(number)


def _option(definition: CustomField, value: Any) -> str:
    if not isinstance(value, str):
        raise CustomValueError(NOT_AN_OPTION)
    wanted = normalisation.normalise_text(value).casefold()
    for option in definition.options:
        if option.casefold() == wanted:
            return option
    raise CustomValueError(NOT_AN_OPTION)


def custom_value_clean(definition: CustomField, value: Any, *, from_text: bool) -> Any:
    """``value`` as the typed JSON value ``definition`` stores, or ``None`` for no value.

    Raises ``CustomValueError`` with the reason when the value does not fit the definition.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    kind = definition.type
    if kind in NUMERIC_TYPES:
        return _number(definition, value, from_text=from_text)
    if kind == CustomFieldType.BOOLEAN:
        if isinstance(value, bool):
            return value
        if not from_text or not isinstance(value, str):
            raise CustomValueError(NOT_BOOLEAN)
        try:
            return normalisation.normalise_bool(value)
        except normalisation.NormalisationError:
            raise CustomValueError(NOT_BOOLEAN) from None
    if kind == CustomFieldType.DATE:
        if not isinstance(value, str):
            raise CustomValueError(NOT_DATE)
        try:
            parsed = normalisation.parse_date(value)
        except normalisation.NormalisationError:
            raise CustomValueError(NOT_DATE) from None
        return parsed.value.isoformat()
    if kind == CustomFieldType.CHOICE:
        return _option(definition, value)
    if kind == CustomFieldType.MULTI_CHOICE:
        if from_text and isinstance(value, str):
            value = [part for part in _CHOICE_SEPARATORS.split(value) if part.strip()]
        if not isinstance(value, list):
            raise CustomValueError(NOT_A_LIST)
        chosen = [_option(definition, item) for item in value]
        return [option for option in definition.options if option in chosen] or None
    if not isinstance(value, str):
        raise CustomValueError(NOT_TEXT)
    text = normalisation.normalise_text(value)
    if len(text) > MAX_TEXT_LENGTH:
        raise CustomValueError(TEXT_TOO_LONG)
    if normalisation.contains_card_number(text):
        raise CustomValueError(normalisation.card_number_reason(definition.key))
    if definition.pattern and not re.fullmatch(definition.pattern, text):
        raise CustomValueError(NO_PATTERN_MATCH)
    return text or None


@dataclass
class CustomValues:
    """Checked values by key, split into plain and personal ones; ``None`` clears a value."""

    plain: dict[str, Any] = field(default_factory=dict)
    personal: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # key -> reason

    def __bool__(self) -> bool:
        return bool(self.plain or self.personal)


def custom_values_clean(
    *, definitions: dict[str, CustomField], values: dict[str, Any], from_text: bool
) -> CustomValues:
    """Check ``values`` (key → value) against the team's ``definitions``; unknown keys and
    values of the wrong type are in ``errors``, the rest in ``plain`` or ``personal``."""
    result = CustomValues()
    for key, value in values.items():
        definition = definitions.get(key)
        if definition is None:
            result.errors[key] = UNKNOWN_FIELD
            continue
        try:
            cleaned = custom_value_clean(definition, value, from_text=from_text)
        except CustomValueError as error:
            result.errors[key] = error.reason
            continue
        (result.personal if definition.is_personal_data else result.plain)[key] = cleaned
    return result


def custom_fields_by_key(team_id: int) -> dict[str, CustomField]:
    """The team's custom field definitions by key (one query)."""
    return {field.key: field for field in CustomField.objects.filter(owner_team_id=team_id)}


def custom_field_names(team_id: int) -> dict[str, str]:
    """The team's custom fields as mapping targets by the names a column may have: the key and
    both labels (``suggest_mapping``)."""
    names: dict[str, str] = {}
    for key, definition in custom_fields_by_key(team_id).items():
        for name in (definition.label_zh, definition.label_en, key):
            if name:
                names[name] = f"{ATTRIBUTE_PREFIX}{key}"
    return names


def private_attributes_of(customer: Customer) -> dict[str, Any]:
    """The customer's personal custom values, decrypted."""
    return json.loads(customer.private_attributes) if customer.private_attributes else {}


def _updated(current: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    updated = dict(current)
    for key, value in changes.items():
        if value is None:
            updated.pop(key, None)
        else:
            updated[key] = value
    return updated


def custom_values_apply(customer: Customer, values: CustomValues) -> list[str]:
    """Set checked values on ``customer`` (not saved); the keys whose value changed."""
    changed = [
        key
        for key, value in values.plain.items()
        if customer.attributes.get(key) != value
        and (value is not None or key in customer.attributes)
    ]
    if changed:
        customer.attributes = _updated(customer.attributes, values.plain)
    if values.personal:
        private = private_attributes_of(customer)
        personal_changed = [
            key
            for key, value in values.personal.items()
            if private.get(key) != value and (value is not None or key in private)
        ]
        if personal_changed:
            updated = _updated(private, values.personal)
            customer.private_attributes = (
                json.dumps(updated, ensure_ascii=False) if updated else None
            )
            changed += personal_changed
    return changed


def private_attributes_merged(survivor: Customer, merged: Customer) -> str | None:
    """The personal custom values of two profiles becoming one; the survivor's win."""
    values = {**private_attributes_of(merged), **private_attributes_of(survivor)}
    return json.dumps(values, ensure_ascii=False) if values else None


def custom_field_label(definition: CustomField) -> str:
    """The label in the user's language: Chinese when it is Chinese and there is one."""
    if definition.label_zh and (get_language() or "").lower().startswith("zh"):
        return definition.label_zh
    return definition.label_en


@dataclass(frozen=True)
class ShownValue:
    key: str
    label: str
    value: Any  # typed; a list for several choices; MASK when masked
    type: str
    is_masked: bool = False


def customer_custom_values(customer: Customer, *, can_view_personal_data: bool) -> list[ShownValue]:
    """The customer's custom values as a user may see them, labelled in the user's language,
    in the order of the keys; personal ones masked without "view personal data". Values kept
    under a key no definition has any more are shown by their key."""
    definitions = custom_fields_by_key(customer.owner_team_id)
    values = {**customer.attributes, **private_attributes_of(customer)}
    shown = []
    for key, value in sorted(values.items()):
        definition = definitions.get(key)
        if definition is None:
            shown.append(ShownValue(key, key, value, ""))
        elif definition.is_personal_data and not can_view_personal_data:
            shown.append(
                ShownValue(key, custom_field_label(definition), MASK, definition.type, True)
            )
        else:
            shown.append(ShownValue(key, custom_field_label(definition), value, definition.type))
    return shown


# --- Definitions -------------------------------------------------------------------------------

DEFINITION_FIELDS = (
    "key",
    "label_en",
    "label_zh",
    "type",
    "options",
    "min_value",
    "max_value",
    "pattern",
    "is_personal_data",
)
# What would make stored values wrong: define a new field instead.
FIXED_FIELDS = frozenset({"key", "type", "is_personal_data"})


def pattern_problem(pattern: str) -> str:
    """Why ``pattern`` cannot check values, or "": too long, not a regular expression, or of a
    shape whose matching time can explode (nested quantifiers, back-references)."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        return gettext_noop("A pattern is at most 200 characters.")
    if _NESTED_QUANTIFIER.search(pattern) or _BACK_REFERENCE.search(pattern):
        return gettext_noop(
            "Repeated groups that are repeated again, and back-references, are not allowed: "
            "matching them can take forever."
        )
    try:
        re.compile(pattern)
    except re.error as error:
        return f"Not a regular expression: {error}."
    return ""


def _definition_errors(definition: CustomField) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not KEY_PATTERN.fullmatch(definition.key or ""):
        errors["key"] = gettext_noop(
            "Lower-case letters, digits and underscores, starting with a letter (at most 63)."
        )
    if definition.type not in CustomFieldType.values:
        errors["type"] = f"Choose one of: {', '.join(CustomFieldType.values)}."
    if not (definition.label_en or "").strip():
        errors["label_en"] = gettext_noop("An English label is needed.")
    is_choice = definition.type in {CustomFieldType.CHOICE, CustomFieldType.MULTI_CHOICE}
    options = definition.options or []
    if is_choice and not options:
        errors["options"] = gettext_noop("A choice needs its options.")
    elif not is_choice and options:
        errors["options"] = gettext_noop("Only choices have options.")
    elif len(options) > MAX_OPTIONS or len({option.casefold() for option in options}) != len(
        options
    ):
        errors["options"] = gettext_noop("At most 200 options, each once.")
    has_range = definition.min_value is not None or definition.max_value is not None
    if has_range and definition.type not in NUMERIC_TYPES:
        errors["min_value"] = gettext_noop("Only numbers and years have a range.")
    elif (
        has_range
        and None not in (definition.min_value, definition.max_value)
        and definition.min_value > definition.max_value
    ):
        errors["min_value"] = gettext_noop("The minimum is above the maximum.")
    if definition.pattern:
        if definition.type != CustomFieldType.TEXT:
            errors["pattern"] = gettext_noop("Only text has a pattern.")
        elif problem := pattern_problem(definition.pattern):
            errors["pattern"] = problem
    return errors


def custom_field_check(definition: CustomField) -> dict[str, str]:
    """What is wrong with an (unsaved or changed) definition, by field; normalises its text."""
    definition.key = (definition.key or "").strip()
    definition.label_en = normalisation.normalise_text(definition.label_en)
    definition.label_zh = normalisation.normalise_text(definition.label_zh)
    definition.options = [
        text for text in (normalisation.normalise_text(o) for o in definition.options or []) if text
    ]
    errors = _definition_errors(definition)
    taken = CustomField.objects.filter(owner_team_id=definition.owner_team_id, key=definition.key)
    if "key" not in errors and taken.exclude(pk=definition.pk).exists():
        errors["key"] = gettext_noop("The team already has a custom field with this key.")
    return errors


def _clean_definition(definition: CustomField) -> None:
    if errors := custom_field_check(definition):
        raise ValidationError(errors)


@transaction.atomic
def custom_field_create(
    *, actor: AbstractBaseUser | None, team: Team, values: dict[str, Any]
) -> CustomField:
    """Define a custom field of ``team``'s customers. Raises ``ValidationError`` by field."""
    unknown = sorted(set(values) - set(DEFINITION_FIELDS))
    if unknown:
        raise ValidationError(dict.fromkeys(unknown, "No such property of a custom field."))
    definition = CustomField(owner_team=team, **values)
    _clean_definition(definition)
    definition.save()
    audit_record(
        action="custom_field.create",
        actor=actor,
        target=definition,
        metadata={"key": definition.key, "type": definition.type},
    )
    return definition


@transaction.atomic
def custom_field_update(
    *, actor: AbstractBaseUser | None, definition: CustomField, changes: dict[str, Any]
) -> CustomField:
    """Change labels, options or checks of a definition (new checks apply to new values).
    Its key, type and personal-data flag stay: define another field for those."""
    locked = CustomField.objects.select_for_update().get(pk=definition.pk)
    errors = {
        name: gettext_noop("This cannot change; define another custom field instead.")
        for name, value in changes.items()
        if name in FIXED_FIELDS and value != getattr(locked, name)
    }
    errors.update(dict.fromkeys(sorted(set(changes) - set(DEFINITION_FIELDS)), "No such property."))
    if errors:
        raise ValidationError(errors)
    changed = sorted(name for name, value in changes.items() if getattr(locked, name) != value)
    for name in changed:
        setattr(locked, name, changes[name])
    if changed:
        _clean_definition(locked)
        locked.save()
        audit_record(
            action="custom_field.update", actor=actor, target=locked, metadata={"fields": changed}
        )
    return locked


@transaction.atomic
def custom_field_delete(*, actor: AbstractBaseUser | None, definition: CustomField) -> int:
    """Delete a definition and clear its values from every customer of its team (audited with
    how many customers held one). Returns that number.

    Plain values go in one UPDATE. Personal values are encrypted as one object per customer,
    so the customers holding any are read and written back in batches, as key rotation does.
    """
    key, team_id = definition.key, definition.owner_team_id
    locked = CustomField.objects.select_for_update().get(pk=definition.pk)
    cleared = 0
    if locked.is_personal_data:
        holders = Customer.objects.filter(owner_team_id=team_id, private_attributes__isnull=False)
        changed: list[Customer] = []
        for customer in holders.only("pk", "private_attributes").iterator(chunk_size=500):
            values = private_attributes_of(customer)
            if key in values:
                del values[key]
                customer.private_attributes = (
                    json.dumps(values, ensure_ascii=False) if values else None
                )
                changed.append(customer)
        Customer.objects.bulk_update(changed, ["private_attributes"], batch_size=500)
        cleared = len(changed)
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE customers_customer SET attributes = attributes - %s "
                "WHERE owner_team_id = %s AND attributes ? %s",
                [key, team_id, key],
            )
            cleared = cursor.rowcount
    audit_record(
        action="custom_field.delete",
        actor=actor,
        target=locked,
        metadata={"key": key, "values_cleared": cleared},
    )
    locked.delete()
    return cleared
