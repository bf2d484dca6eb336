"""The words staff read for the codes the product stores: one registry of display names.

Audit actions (``auth.mfa_ok``), object types (``privacy.datasubjectrequest``), event types,
channels, consent purposes and sources, retention tables, merge reasons, RFM groups, age bands
and the fields of a record are stored as codes. Each app registers the display name of its
codes from its ``registrations.py`` (``labels_register(kind, {code: gettext_lazy(...)})``), and
every page shows them with ``label(kind, code)`` or the template filter
``{{ code|label:"audit_action" }}``, so English and Chinese pages both read words, never codes.

A code nobody registered (an event type an integration made up, an action of an older release)
is shown in a readable form of itself (``newsletter_signup`` → "Newsletter signup"), never as
an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from django.db import models
from django.utils import translation
from django.utils.functional import Promise
from django.utils.text import capfirst

from privacy.core.registry import Registry

AUDIT_ACTION = "audit_action"
OBJECT_TYPE = "object_type"
EVENT_TYPE = "event_type"
CHANNEL = "channel"
CONSENT_PURPOSE = "consent_purpose"
CONSENT_SOURCE = "consent_source"
RETENTION_TABLE = "retention_table"
MERGE_REASON = "merge_reason"
RFM_GROUP = "rfm_group"
AGE_BAND = "age_band"
FIELD = "field"

KINDS = (
    AUDIT_ACTION,
    OBJECT_TYPE,
    EVENT_TYPE,
    CHANNEL,
    CONSENT_PURPOSE,
    CONSENT_SOURCE,
    RETENTION_TABLE,
    MERGE_REASON,
    RFM_GROUP,
    AGE_BAND,
    FIELD,
)

_labels: Registry[Promise | str] = Registry("labels")


def _key(kind: str, code: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"Unknown kind of code: {kind!r}")
    return f"{kind}:{code}"


def labels_register(kind: str, names: Mapping[str, Promise | str]) -> None:
    """Register the display name of each code of ``kind``: ``{code: gettext_lazy("Name")}``."""
    for code, name in names.items():
        _labels.register(_key(kind, code), name)


def object_types_register(
    model_classes: Iterable[type[models.Model]],
    names: Mapping[type[models.Model], Promise | str] | None = None,
) -> None:
    """Register the name of each model's object type (its label): ``names[model]`` when given,
    else its ``verbose_name``."""
    names = names or {}
    labels_register(
        OBJECT_TYPE,
        {
            model._meta.label_lower: names.get(model, model._meta.verbose_name)
            for model in model_classes
        },
    )


def labels(kind: str) -> dict[str, Promise | str]:
    """The registered codes of ``kind`` with their display names, in order of registration."""
    prefix = _key(kind, "")
    return {key[len(prefix) :]: name for key, name in _labels.items() if key.startswith(prefix)}


def readable(code: str) -> str:
    """A code nobody registered, made readable: ``newsletter_signup`` → "Newsletter signup"."""
    words = " ".join(str(code).replace(".", " ").replace("_", " ").replace("-", " ").split())
    return capfirst(words)


def label(kind: str, code: object) -> str:
    """The display name of ``code`` (a ``kind`` of code), in the active language."""
    if code is None or code == "":
        return ""
    name = _labels.get(_key(kind, str(code)))
    return capfirst(str(name)) if name is not None else readable(str(code))


def label_or_name(kind: str, code: str, name: str) -> str:
    """The registered label of ``code`` while the object still bears the name the product gave
    it (its English label); once staff renamed it (a consent purpose), the name they chose."""
    registered = _labels.get(_key(kind, code))
    if registered is None:
        return name or readable(code)
    with translation.override("en"):
        english = str(registered)
    return capfirst(str(registered)) if name in ("", english) else name


def reference_label(kind: str, reference: str) -> str:
    """A reference made of a registered code and an id (``import:2`` → "Import #2"); a
    reference whose code nobody registered is shown as stored (it may be someone's own words)."""
    if not reference:
        return ""
    whole = _labels.get(_key(kind, reference))
    if whole is not None:
        return capfirst(str(whole))
    code, separator, rest = reference.partition(":")
    name = _labels.get(_key(kind, code)) if separator else None
    if name is None:
        return reference
    return f"{capfirst(str(name))} #{rest}" if rest.isdigit() else capfirst(str(name))
