"""Settings for a developer's machine (``make run``)."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
SECRET_KEY = env(
    "SECRET_KEY", default="local-development-only-5f1c0d3a9b7e4e2b8c6a1d0f9e8b7a6c5d4e3f2a1b0"
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

# Development keys: fixed so a restarted local server can still read its own data.
FIELD_ENCRYPTION_KEYS = env.list(
    "FIELD_ENCRYPTION_KEYS", default=["bG9jYWwtZGV2ZWxvcG1lbnQta2V5LTMyLWJ5dGVzISE="]
)
BLIND_INDEX_KEY = env("BLIND_INDEX_KEY", default="local-development-blind-index-key")

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
