"""A customer's personal data as a user may see it: masked, field by field, as the record of
processing says (``privacy.core.processing.masked_fields``), for the staff UI, the admin, the
API, the import preview and the CSV export alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from customers.models import Customer, Identity, IdentityKind
from privacy.core.masking import MASKS, Mask, field_mask, masks_for
from privacy.core.processing import masked_fields

# Properties written from masked fields: masked when any of their fields is.
_DERIVED = {"display_name": ("given_name", "family_name")}


def customer_masks() -> dict[str, Mask]:
    """Each masked field of a customer (and property written from them), with its masking
    function: what staff without "view personal data" see instead of the value."""
    masks = masks_for(Customer)
    for name, sources in _DERIVED.items():
        if masks.keys() & set(sources):
            masks[name] = field_mask(name)
    return masks


def masked_values(values: dict[str, Any], masks: dict[str, Mask]) -> dict[str, Any]:
    """``values`` (field name → value) with the masked ones masked."""
    return {name: masks[name](value) if name in masks else value for name, value in values.items()}


@dataclass(frozen=True)
class Contact:
    """A customer's contact details as this user may see them."""

    display_name: str
    given_name: str
    family_name: str
    email: str
    phone: str
    postal_address: str
    birth_date: Any
    notes: str
    is_masked: bool


_CONTACT_TEXT = (
    "display_name",
    "given_name",
    "family_name",
    "email",
    "phone",
    "postal_address",
    "notes",
)


def contact_for(customer: Customer, *, can_view_personal_data: bool) -> Contact:
    masks = {} if can_view_personal_data else customer_masks()
    values: dict[str, Any] = {name: getattr(customer, name) or "" for name in _CONTACT_TEXT}
    values["birth_date"] = customer.birth_date
    shown = masked_values(values, masks)
    if "birth_date" in masks:
        # The pages say "•••" for a birth date that is there, "—" for none.
        shown["birth_date"] = None
    return Contact(**shown, is_masked=not can_view_personal_data)


def identity_value(identity: Identity, *, can_view_personal_data: bool) -> str:
    """An identity's value as this user may see it; an external id is shown as it is."""
    if identity.kind == IdentityKind.EXTERNAL:
        return identity.lookup_key
    if can_view_personal_data or "value" not in masked_fields(Identity):
        return identity.value or ""
    # Its kind says what the value is: an email or a phone number.
    return MASKS[identity.kind](identity.value)
