"""``{{ code|label:"audit_action" }}``: the words for a stored code, in the page's language
(``privacy.core.labels``); ``{{ reference|reference_label:"consent_source" }}`` for a code
followed by an id (``import:2``)."""

from django import template

from privacy.core import labels

register = template.Library()


@register.filter
def label(code, kind: str) -> str:
    return labels.label(kind, code)


@register.filter
def reference_label(reference, kind: str) -> str:
    return labels.reference_label(kind, str(reference or ""))
