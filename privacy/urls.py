"""The privacy section of the staff UI (``/privacy/``): each package's pages, by path."""

from django.urls import include, path

from privacy import views

urlpatterns = [
    path("", views.privacy_home, name="privacy-home"),
    path("", include("privacy.core.urls")),
    path("retention/", include("privacy.retention.urls")),
    path("requests/", include("privacy.requests.urls")),
    path("notices/", include("privacy.consent.urls")),
]
