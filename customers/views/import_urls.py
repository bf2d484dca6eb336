"""URLs of the import wizard, included at /customers/imports/."""

from django.urls import path

from customers.views import imports

urlpatterns = [
    path("", imports.import_list, name="import-list"),
    path("new/", imports.import_start, name="import-start"),
    path("new/mapping/", imports.import_mapping, name="import-mapping"),
    path("new/preview/", imports.import_preview, name="import-preview"),
    path("new/cancel/", imports.import_cancel, name="import-cancel"),
    path("<int:pk>/", imports.import_detail, name="import-detail"),
    path("<int:pk>/progress/", imports.import_progress, name="import-progress"),
    path("<int:pk>/retry/", imports.import_retry, name="import-retry"),
    path("<int:pk>/cancel/", imports.import_job_cancel_view, name="import-job-cancel"),
    path("<int:pk>/report.csv", imports.import_report, name="import-report"),
]
