from django.urls import include, path

from config.urls import urlpatterns as project_urlpatterns
from tests.access_app.api import router

urlpatterns = [path("api/test/", include(router.urls)), *project_urlpatterns]
