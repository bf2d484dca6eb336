"""``{% page_url 'name' arg… as url %}``: a view's address for the signed-in user, or ``""``
when the view would refuse them (``privacy.core.pages``); ``{% admin_url as url %}``: the
admin's index when the admin lets the user in and has something to show them."""

from django import template
from django.contrib import admin
from django.urls import reverse

from privacy.core.pages import page_url as _page_url

register = template.Library()


@register.simple_tag(takes_context=True)
def page_url(context, name: str, *args) -> str:
    return _page_url(context["request"].user, name, *args)


@register.simple_tag(takes_context=True)
def admin_url(context) -> str:
    request = context["request"]
    # The admin's own checks: the index refuses without has_permission, and shows nothing
    # without an app the user may use.
    if admin.site.has_permission(request) and admin.site.get_app_list(request):
        return reverse("admin:index", current_app=admin.site.name)
    return ""
