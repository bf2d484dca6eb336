"""URLs of the audit log pages, included at /privacy/."""

from django.urls import path

from privacy.core import views

urlpatterns = [
    path("audit/", views.audit_list, name="audit-list"),
    path("audit/export/", views.audit_export, name="audit-export"),
]
