"""Template filters of the customers staff UI."""

from django import template

from customers.forms import rfm_group_label
from customers.normalisation import reason_display

register = template.Library()


@register.filter
def rfm_label(group: str) -> str:
    """The translated name of a stored RFM group, e.g. "Champions"."""
    return rfm_group_label(group or "")


@register.filter
def reason(text: str) -> str:
    """A stored import reason or warning in the page's language (``reason_display``)."""
    return reason_display(text or "")
