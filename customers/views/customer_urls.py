from django.urls import path

from config.views import section

urlpatterns = [
    path("", section, {"section": "customers"}, name="customers-home"),
]
