"""URLs of the data-subject request pages, included at /privacy/requests/."""

from django.urls import path

from privacy.requests import views

urlpatterns = [
    path("", views.request_list, name="request-list"),
    path("new/", views.request_create_view, name="request-create"),
    path("<int:pk>/", views.request_detail, name="request-detail"),
    path("<int:pk>/progress/", views.request_progress, name="request-progress"),
    path("<int:pk>/verify/", views.request_verify_view, name="request-verify"),
    path("<int:pk>/extend/", views.request_extend_view, name="request-extend"),
    path("<int:pk>/customers/", views.request_subjects_view, name="request-subjects"),
    path("<int:pk>/fulfil/", views.request_fulfil_view, name="request-fulfil"),
    path("<int:pk>/answer/", views.request_answer_view, name="request-answer"),
    path("<int:pk>/reject/", views.request_reject_view, name="request-reject"),
    path("<int:pk>/lift/", views.request_lift_view, name="request-lift"),
    path("<int:pk>/package.zip", views.request_download, name="request-download"),
]
