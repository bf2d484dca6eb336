"""Template filters of the customers staff UI."""

from django import template

from customers.forms import rfm_group_label

register = template.Library()


@register.filter
def rfm_label(group: str) -> str:
    """The translated name of a stored RFM group, e.g. "Champions"."""
    return rfm_group_label(group or "")
