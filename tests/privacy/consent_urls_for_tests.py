"""The site's URLs plus the consent routes, for tests until ``config`` includes them (after
that this module only repeats ``config.urls``)."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from config import api_urls
from config import urls as site_urls
from privacy.consent import public_urls as privacy_consent_urls
from privacy.consent.api import ConsentEventViewSet, PrivacyNoticeViewSet

router = DefaultRouter()
for prefix, viewset, basename in api_urls.router.registry:
    router.register(prefix, viewset, basename=basename)
for prefix, viewset, basename in (
    ("consents", ConsentEventViewSet, "consent"),
    ("privacy/notices", PrivacyNoticeViewSet, "notice"),
):
    if not router.is_already_registered(basename):
        router.register(prefix, viewset, basename=basename)

urlpatterns = [
    path("api/v1/", include((router.urls, "api"))),
    path("", include("privacy.consent.public_urls")),
    *(
        pattern
        for pattern in site_urls.urlpatterns
        if str(pattern.pattern) != "api/v1/"
        and getattr(pattern, "urlconf_name", None) is not privacy_consent_urls
    ),
]
