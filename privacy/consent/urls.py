"""URLs of the privacy-notice pages, included at /privacy/notices/."""

from django.urls import path

from privacy.consent.views import notices

urlpatterns = [
    path("", notices.notice_list, name="notice-list"),
    path("<int:pk>/", notices.notice_detail, name="notice-detail"),
]
