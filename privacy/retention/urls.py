"""URLs of the retention pages, included at /privacy/retention/."""

from django.urls import path

from privacy.retention import views

urlpatterns = [
    path("", views.retention_list, name="retention-list"),
    path("preview/", views.retention_preview_page, name="retention-preview"),
    path("run/", views.retention_run, name="retention-run"),
    path("<int:pk>/edit/", views.retention_edit, name="retention-edit"),
]
