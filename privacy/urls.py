from django.urls import path

from privacy import views

urlpatterns = [
    path("", views.privacy_home, name="privacy-home"),
    path("audit/", views.audit_list, name="audit-list"),
]
