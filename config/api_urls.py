"""The REST API under /api/v1/: one router for every app's viewsets."""

from rest_framework.routers import DefaultRouter

from customers.api.custom_fields import CustomFieldViewSet
from customers.api.customers import CustomerViewSet
from customers.api.imports import ImportJobViewSet
from customers.api.ingestion import EventViewSet, PurchaseViewSet
from privacy.consent.api import ConsentEventViewSet, PrivacyNoticeViewSet
from privacy.core.api.accounts import AccountViewSet, ApiTokenViewSet
from privacy.core.api.audit import AuditEntryViewSet
from privacy.requests.api import DataSubjectRequestViewSet

router = DefaultRouter()
# JSON only: no "customers.json" suffix routes (custom actions answered them with a 500).
router.include_format_suffixes = False
router.register("customers", CustomerViewSet, basename="customer")
router.register("imports", ImportJobViewSet, basename="import")
router.register("custom-fields", CustomFieldViewSet, basename="custom-field")
router.register("events", EventViewSet, basename="event")
router.register("purchases", PurchaseViewSet, basename="purchase")
router.register("audit-log", AuditEntryViewSet, basename="audit-log")
router.register("consents", ConsentEventViewSet, basename="consent")
router.register("privacy/notices", PrivacyNoticeViewSet, basename="notice")
router.register("privacy/requests", DataSubjectRequestViewSet, basename="privacy-request")
router.register("users", AccountViewSet, basename="user")
router.register("api-tokens", ApiTokenViewSet, basename="api-token")

urlpatterns = router.urls
