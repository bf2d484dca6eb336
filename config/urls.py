from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config import views
from privacy.core.middleware import public_page

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/", include("privacy.core.account_urls")),
    path("privacy/", include("privacy.urls")),
    path("customers/", include("customers.urls")),
    path("", include("privacy.consent.public_urls")),
    path("segments/", views.section, {"section": "segments"}, name="segments-home"),
    path("campaigns/", views.section, {"section": "campaigns"}, name="campaigns-home"),
    # Django's language switch (django.conf.urls.i18n), open before signing in too.
    path("i18n/setlang/", public_page(set_language), name="set_language"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(("config.api_urls", "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file, for the content security policy.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", template_name="api/swagger_ui.html"
        ),
        name="api-docs",
    ),
    path(
        "favicon.ico",
        public_page(RedirectView.as_view(url="/static/img/favicon.svg", permanent=True)),
    ),
]

# Unrouted addresses under /api/ answer in the API's JSON error shape.
handler404 = "privacy.core.rest.errors.page_not_found"
