from django.urls import include, path

urlpatterns = [
    path("", include("customers.views.customer_urls")),
    path("imports/", include("customers.views.import_urls")),
]
