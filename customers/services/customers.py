"""Customer writes outside imports: API and staff upserts, edits (rectification)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from customers import normalisation
from customers.models import Customer, Identity, IdentityKind, LifecycleStatus, RowOutcome
from customers.normalisation import normalise_customer_row
from customers.search_tokens import customer_search_prefixes
from customers.services.custom_fields import (
    ATTRIBUTE_PREFIX,
    CustomValues,
    custom_fields_by_key,
    custom_values_apply,
    custom_values_clean,
)
from customers.services.suppression import SUPPRESSED, identities_suppressed
from customers.services.upsert import customers_upsert
from privacy.core.crypto import blind_index, name_index
from privacy.core.services.audit import audit_record
from privacy.models import Team

MAX_BATCH = 1000


@dataclass
class ItemResult:
    index: int
    status: str
    customer_id: int | None = None
    errors: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)


def raw_from_item(item: dict[str, Any]) -> dict[str, str]:
    """Turn an API item into the raw strings the normalisation service reads."""
    raw = {key: "" if value is None else value for key, value in item.items()}
    for key in ("tags",):
        if isinstance(raw.get(key), list):
            raw[key] = ";".join(str(tag) for tag in raw[key])
    return {
        key: value if isinstance(value, str | list) else str(value)
        for key, value in raw.items()
        if key not in {"external_ids", "attributes"}
    }


def _custom_values_errors(values: CustomValues) -> dict[str, str]:
    return {f"{ATTRIBUTE_PREFIX}{key}": reason for key, reason in values.errors.items()}


def customers_upsert_items(
    *,
    actor: AbstractBaseUser,
    team: Team,
    items: list[dict[str, Any]],
    source: str = "api",
) -> list[ItemResult]:
    """Validate each item on its own and upsert the valid ones together; partial success.

    Custom field values (``attributes``) are checked first, for every item: an unknown key or
    a value of the wrong type raises ``InvalidChanges`` ({index: {"attributes.<key>": reason}})
    and nothing is written.
    """
    if len(items) > MAX_BATCH:
        raise ValueError(f"At most {MAX_BATCH} items per request.")
    definitions = custom_fields_by_key(team.pk)
    custom: list[CustomValues] = []
    schema_errors: dict[int, dict[str, str]] = {}
    for index, item in enumerate(items):
        checked = custom_values_clean(
            definitions=definitions, values=item.get("attributes") or {}, from_text=False
        )
        custom.append(checked)
        if checked.errors:
            schema_errors[index] = _custom_values_errors(checked)
    if schema_errors:
        raise InvalidChanges(schema_errors)
    results: list[ItemResult] = []
    accepted: list[tuple[int, Any, str]] = []
    for index, item in enumerate(items):
        raw = raw_from_item(item)
        item_source = str(item.get("source") or source)[:32].lower()
        externals = [
            (str(external["channel"]).strip().lower(), str(external["id"]).strip())
            for external in item.get("external_ids") or []
        ]
        if externals and not raw.get("external_id"):
            # The first external id identifies the record for the normalisation policy.
            raw["source"], raw["external_id"] = externals[0]
        record = normalise_customer_row(raw)
        record.attributes = custom[index].plain
        record.private_attributes = custom[index].personal
        for external in externals:
            if external not in record.external_ids:
                record.external_ids.append(external)
        warnings = [{"field": name, "message": reason} for name, reason in record.warnings]
        if record.rejection:
            results.append(
                ItemResult(
                    index, RowOutcome.REJECTED, errors=[{"field": "", "message": record.rejection}]
                )
            )
            continue
        results.append(ItemResult(index, "", warnings=warnings))
        accepted.append((index, record, item_source))
    with transaction.atomic():
        if accepted:
            resolutions = customers_upsert(
                team=team,
                records=[record for _index, record, _source in accepted],
                sources=[item_source for _index, _record, item_source in accepted],
                actor=actor,
                reason=source,
            )
            for (index, _record, _source), resolution in zip(accepted, resolutions, strict=True):
                results[index].status = resolution.outcome
                results[index].customer_id = resolution.customer_id
                if resolution.reason:
                    results[index].errors = [{"field": "", "message": resolution.reason}]
        counts: dict[str, int] = {}
        for result in results:
            counts[result.status] = counts.get(result.status, 0) + 1
        audit_record(
            action="customer.upsert", actor=actor, target=team, metadata={"results": counts}
        )
    return results


EDITABLE_FIELDS = (
    "email",
    "phone",
    "given_name",
    "family_name",
    "postal_address",
    "postal_code",
    "country",
    "city",
    "birth_date",
    "birth_year",
    "gender",
    "language",
    "company",
    "industry",
    "job_title",
    "tags",
    "lifecycle_status",
)
_NULLABLE = {"email", "phone", "given_name", "family_name", "postal_address", "birth_date"}


class InvalidChanges(ValueError):
    """Field name to message, for every change that cannot be applied."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def _normalise_change(name: str, value: Any, *, country: str) -> Any:
    text = "" if value is None else value
    if name == "email":
        return normalisation.normalise_email(text)
    if name == "phone":
        return normalisation.normalise_phone(text, region=country or None)
    if name == "country":
        return normalisation.normalise_country(text) or ""
    if name == "birth_date":
        return normalisation.normalise_date(str(text), country=country or None)
    if name == "birth_year":
        return normalisation.normalise_birth_year(text)
    if name == "gender":
        return normalisation.normalise_gender(text) or ""
    if name == "language":
        return normalisation.normalise_language(text)
    if name == "tags":
        return normalisation.normalise_tags(text)
    if name == "lifecycle_status":
        if text not in LifecycleStatus.values:
            raise normalisation.NormalisationError(
                f"Choose one of: {', '.join(LifecycleStatus.values)}."
            )
        return text
    cleaned = normalisation.normalise_text(str(text), multiline=name == "postal_address")
    if normalisation.contains_card_number(cleaned):
        raise normalisation.NormalisationError(normalisation.card_number_reason(name))
    return cleaned or (None if name in _NULLABLE else "")


@transaction.atomic
def customer_update(
    *, actor: AbstractBaseUser, customer: Customer, changes: dict[str, Any]
) -> Customer:
    """Staff or API correction of a profile (rectification), normalised and audited.

    Only ``EDITABLE_FIELDS`` can change, and custom field values (``attributes``: key →
    typed value, ``None`` clears it; errors are named ``attributes.<key>``). A new email or
    phone becomes an identity of the customer; one that already identifies another customer is
    refused (merge them instead). A birth date sets the birth year too. The audit entry names
    the changed fields, never their values.
    """
    changes = dict(changes)
    attribute_changes = changes.pop("attributes", None)
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    errors = {name: "This field cannot be changed here." for name in unknown}
    custom = CustomValues()
    if isinstance(attribute_changes, dict):
        custom = custom_values_clean(
            definitions=custom_fields_by_key(customer.owner_team_id),
            values=attribute_changes,
            from_text=False,
        )
        errors.update(_custom_values_errors(custom))
    elif attribute_changes is not None:
        errors["attributes"] = "Give an object of custom field key to value."
    country = changes.get("country") or customer.country
    normalised: dict[str, Any] = {}
    for name, value in changes.items():
        if name in unknown:
            continue
        try:
            normalised[name] = _normalise_change(name, value, country=country)
        except normalisation.NormalisationError as error:
            errors[name] = error.reason
    new_keys = {
        kind: blind_index(normalised[kind], purpose=kind)
        for kind in (IdentityKind.EMAIL, IdentityKind.PHONE)
        if normalised.get(kind)
    }
    # An erased person's email or phone is not collected again, not even onto another profile.
    suppressed = identities_suppressed(
        team=customer.owner_team,
        identities={kind: [(kind, "", key)] for kind, key in new_keys.items()},
    )
    for kind, key in new_keys.items():
        if kind in suppressed:
            errors[kind] = SUPPRESSED
            continue
        value = normalised[kind]
        holder = Identity.objects.filter(
            owner_team_id=customer.owner_team_id, kind=kind, channel="", lookup_key=key
        ).first()
        if holder and holder.customer_id != customer.pk:
            errors[kind] = "Another customer already has this value; merge the two instead."
        elif holder is None:
            Identity.objects.create(
                owner_team_id=customer.owner_team_id,
                customer=customer,
                kind=kind,
                lookup_key=key,
                value=value,
                source="staff",
            )
    if errors:
        raise InvalidChanges(errors)
    if normalised.get("birth_date"):
        normalised["birth_year"] = normalised["birth_date"].year
    changed = [name for name, value in normalised.items() if getattr(customer, name) != value]
    changed_keys = custom_values_apply(customer, custom)
    stamp = timezone.now().isoformat()
    for name in changed:
        setattr(customer, name, normalised[name])
        customer.provenance[name] = ["staff", stamp]
    changed += [f"{ATTRIBUTE_PREFIX}{key}" for key in changed_keys]
    if changed:
        customer.email_domain = customer.email.rsplit("@", 1)[-1] if customer.email else ""
        customer.name_index = name_index(customer.given_name or "", customer.family_name or "")
        customer.search_prefixes = customer_search_prefixes(customer)
        customer.save()
        audit_record(
            action="customer.update", actor=actor, target=customer, metadata={"fields": changed}
        )
    return customer
