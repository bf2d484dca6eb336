"""Pages open before signing in are marked by their view (``public_page``), not by their path."""

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import include, path, reverse
from django.views import View
from django.views.i18n import set_language

from privacy.core.middleware import public_page

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


def staff_only(request):
    return HttpResponse("staff")


@public_page
def open_to_all(request):
    return HttpResponse("public")


@public_page
class OpenClassView(View):
    def get(self, request):
        return HttpResponse("public class")


urlpatterns = [
    path("accounts/", include("privacy.core.account_urls")),
    # Paths that no prefix of the middleware names.
    path("preferences/staff/", staff_only, name="staff-only"),
    path("anywhere/open/", open_to_all, name="open-to-all"),
    path("anywhere/open-class/", OpenClassView.as_view(), name="open-class"),
]


def test_a_marked_view_is_served_to_an_anonymous_visitor_wherever_it_is_mounted():
    client = Client()

    function_view = client.get("/anywhere/open/")
    class_view = client.get("/anywhere/open-class/")

    assert (function_view.status_code, function_view.content) == (200, b"public")
    assert (class_view.status_code, class_view.content) == (200, b"public class")


@pytest.mark.parametrize("address", ["/preferences/staff/", "/no/such/page/"])
def test_an_unmarked_view_or_no_view_sends_an_anonymous_visitor_to_sign_in(address):
    response = Client().get(address)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={address.replace('/', '%2F')}"


def test_marking_a_view_of_another_package_leaves_that_view_unmarked():
    marked = public_page(set_language)

    assert (marked.public_page, getattr(set_language, "public_page", False)) == (True, False)
    assert marked.__wrapped__ is set_language
