from django.urls import path

from privacy import views_notices

urlpatterns = [
    path("", views_notices.notice_list, name="notice-list"),
    path("<int:pk>/", views_notices.notice_detail, name="notice-detail"),
]
