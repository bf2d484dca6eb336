from django.urls import path

from privacy.consent.views import notices as views_notices

urlpatterns = [
    path("", views_notices.notice_list, name="notice-list"),
    path("<int:pk>/", views_notices.notice_detail, name="notice-detail"),
]
