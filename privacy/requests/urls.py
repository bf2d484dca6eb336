"""URLs of the data-subject request pages, included at /privacy/requests/."""

from django.urls import path

from privacy.requests import views as views_requests

urlpatterns = [
    path("", views_requests.request_list, name="request-list"),
    path("new/", views_requests.request_create_view, name="request-create"),
    path("<int:pk>/", views_requests.request_detail, name="request-detail"),
    path("<int:pk>/progress/", views_requests.request_progress, name="request-progress"),
    path("<int:pk>/verify/", views_requests.request_verify_view, name="request-verify"),
    path("<int:pk>/extend/", views_requests.request_extend_view, name="request-extend"),
    path("<int:pk>/customers/", views_requests.request_subjects_view, name="request-subjects"),
    path("<int:pk>/fulfil/", views_requests.request_fulfil_view, name="request-fulfil"),
    path("<int:pk>/reject/", views_requests.request_reject_view, name="request-reject"),
    path("<int:pk>/lift/", views_requests.request_lift_view, name="request-lift"),
    path("<int:pk>/package.zip", views_requests.request_download, name="request-download"),
]
