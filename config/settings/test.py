"""Settings for the test suite: the same stores as production, faster hashing, captured mail."""

import uuid

from .base import *  # noqa: F403
from .base import CACHES, env

DEBUG = False
SECRET_KEY = "test-only-secret-key-3c9f1e7a5b2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f"  # noqa: S105
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]

FIELD_ENCRYPTION_KEYS = ["dGVzdC1vbmx5LWtleS0zMi1ieXRlcy1sb25nLTEyMzQ="]
BLIND_INDEX_KEY = "test-only-blind-index-key"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# Each test run keeps its own cache keys, so throttles and locks never leak between runs.
CACHES["default"]["KEY_PREFIX"] = f"test-{uuid.uuid4().hex[:8]}"

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = env.path("TEST_MEDIA_ROOT", default="/tmp/marketbase-test-media")  # noqa: S108

# A small team-owned model that exercises the access layer and the API base in tests.
INSTALLED_APPS = [*INSTALLED_APPS, "tests.access_app"]  # noqa: F405

# Static files straight from their source folders; no collectstatic in tests.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
