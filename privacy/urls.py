from django.urls import include, path

from privacy.core import views
from privacy.retention import views as views_retention

urlpatterns = [
    path("", views.privacy_home, name="privacy-home"),
    path("audit/", views.audit_list, name="audit-list"),
    path("audit/export/", views.audit_export, name="audit-export"),
    path("retention/", views_retention.retention_list, name="retention-list"),
    path("retention/preview/", views_retention.retention_preview_page, name="retention-preview"),
    path("retention/run/", views_retention.retention_run, name="retention-run"),
    path("retention/<int:pk>/edit/", views_retention.retention_edit, name="retention-edit"),
    path("requests/", include("privacy.requests.urls")),
    path("notices/", include("privacy.consent.urls")),
]
