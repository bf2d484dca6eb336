"""Settings shared by every environment. One ``environ.Env`` reads the environment."""

from datetime import timedelta
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    env.read_env(str(BASE_DIR / ".env"))

DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "guardian",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "django_celery_beat",
    "privacy",
    "customers",
    "segments",
    "campaigns",
    "config",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "privacy.core.security_headers.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "privacy.core.middleware.RequestContextMiddleware",
    "privacy.core.middleware.StaffAccessMiddleware",
    "privacy.core.middleware.RefusalAuditMiddleware",
    "privacy.core.middleware.UserTimezoneMiddleware",
    "privacy.core.null_characters.NullCharacterMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Stores ---------------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CELERY_BROKER_URL = env("CELERY_BROKER_URL")


def _cache_url(broker_url: str) -> str:
    """The cache shares the broker's Redis server, on database 1."""
    if broker_url.startswith(("redis://", "rediss://")):
        return broker_url.rsplit("/", 1)[0] + "/1" if broker_url.count("/") > 2 else broker_url
    return ""


REDIS_URL = env("REDIS_URL", default=_cache_url(CELERY_BROKER_URL))
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# People and access -----------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Idle timeout: every request pushes the expiry forward, so a session ends after this much
# inactivity.
SESSION_COOKIE_AGE = env.int("SESSION_IDLE_TIMEOUT_SECONDS", default=30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Lockout after repeated failed logins: LOGIN_FAILURE_LIMIT per username and address, and, for
# someone rotating addresses, LOGIN_ACCOUNT_FAILURE_LIMIT per username from all addresses
# together, after which the password is refused only from addresses that never completed a
# sign-in to the account, so an attacker cannot lock its owner out (privacy/core/lockout.py).
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = "privacy.core.lockout.lockout_parameters"
LOGIN_ACCOUNT_FAILURE_LIMIT = env.int("LOGIN_ACCOUNT_FAILURE_LIMIT", default=20)
# The address axes counts by is the one the audit log records (TRUSTED_PROXY_COUNT applies).
AXES_CLIENT_IP_CALLABLE = "privacy.core.middleware.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

# Exports of personal data and erasures ask for the password and a TOTP code again when the last
# proof (sign-in or re-authentication) is older than this (privacy/core/reauth.py).
REAUTH_MAX_AGE_SECONDS = env.int("REAUTH_MAX_AGE_SECONDS", default=300)

OTP_TOTP_ISSUER = "Marketbase"
OTP_TOTP_THROTTLE_FACTOR = 1
# The admin never shows a device's secret or its QR code: not even an administrator may copy
# another person's second factor.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

GUARDIAN_ANONYMOUS_USER_NAME = None
ANONYMOUS_USER_NAME = None
GUARDIAN_RAISE_403 = False

# Field encryption (contact details) and the keyed blind index used for exact look-ups.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
BLIND_INDEX_KEY = env("BLIND_INDEX_KEY", default="")

# API ------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "privacy.core.rest.authentication.TokenAuthentication",
        "privacy.core.rest.authentication.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "privacy.core.rest.pagination.CursorPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": ["privacy.core.rest.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api_read": env("API_READ_RATE", default="1200/minute"),
        "api_write": env("API_WRITE_RATE", default="300/minute"),
    },
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PARSER_CLASSES": [
        "privacy.core.rest.parsers.JSONParser",
        "privacy.core.rest.parsers.FormParser",
        "privacy.core.rest.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "privacy.core.rest.schema.AutoSchema",
    "EXCEPTION_HANDLER": "privacy.core.rest.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Marketbase API",
    "DESCRIPTION": "Customers, consent, segments, campaigns and data-protection requests.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # Request bodies are documented as JSON (form encodings cannot carry nested items); an
    # endpoint that takes files names multipart/form-data itself.
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
    "ENUM_NAME_OVERRIDES": {
        "ConsentStatusEnum": "privacy.models.ConsentStatus",
        # Names stay stable when another field of the same name gets other choices.
        "ChannelEnum": "privacy.models.ConsentChannel",
        "KindEnum": "customers.models.ImportKind",
        "RequestKindEnum": "privacy.models.RequestKind",
        "RequestChannelEnum": "privacy.models.RequestChannel",
        "RequestStatusEnum": "privacy.models.RequestStatus",
    },
    # The schema and its docs page describe the API; they hold no data, so they are public.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
}

# Celery ---------------------------------------------------------------------------------------
CELERY_TIMEZONE = "UTC"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
# Work that must not be lost is acknowledged only when done; a lost worker's task is redelivered.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=55 * 60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=60 * 60)
# A task whose worker died unacknowledged is delivered again once the visibility timeout has
# passed (so it must exceed the longest task); the sweep settings say how often that is checked.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int(
        "CELERY_VISIBILITY_TIMEOUT", default=CELERY_TASK_TIME_LIMIT + 15 * 60
    ),
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
    "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=10),
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Internationalisation -------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("zh-hans", _("Simplified Chinese"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Static and uploaded files -------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default="") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / ".data" / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Email ---------------------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Marketbase <noreply@localhost>")

# Security headers that hold in every environment.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "privacy.core.context.RequestIdLogFilter"},
        "no_query_strings": {"()": "privacy.core.context.QueryStringLogFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id", "no_query_strings"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        # The development server's request lines, through the handler that drops query strings
        # (Django's own handler for them would keep them).
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# Customers ------------------------------------------------------------------------------------
# Field survivorship when records of one person meet (import, API upsert, merge):
# "most_recent" (default), "first", or "source_priority" (order of CUSTOMER_SOURCE_PRIORITY).
CUSTOMER_SURVIVORSHIP = {
    "default": env("CUSTOMER_SURVIVORSHIP_DEFAULT", default="most_recent"),
    "fields": env.dict("CUSTOMER_SURVIVORSHIP_FIELDS", default={"signup_date": "first"}),
    "source_priority": env.list(
        "CUSTOMER_SOURCE_PRIORITY",
        default=["crm", "store", "shop", "web", "app", "wechat", "event"],
    ),
}
IMPORT_CHUNK_SIZE = env.int("IMPORT_CHUNK_SIZE", default=2000)
# Purchases from the API refresh their customers' metrics this many seconds later, at most one
# run per team per window (customers.services.metrics).
METRICS_REFRESH_DELAY_SECONDS = env.int("METRICS_REFRESH_DELAY_SECONDS", default=2)

# Erasure ------------------------------------------------------------------------------------
# Keep consent events as legal proof after an erasure (they hold the customer id, a keyed hash of
# the email and the evidence of the change), or delete them with everything else (default).
ERASURE_KEEP_CONSENT_PROOF = env.bool("ERASURE_KEEP_CONSENT_PROOF", default=False)
# Keep an erased customer's purchases for the books, detached from any person (order reference,
# time, amount, currency, items), or delete them with everything else (default).
ERASURE_KEEP_PURCHASES_FOR_ACCOUNTING = env.bool(
    "ERASURE_KEEP_PURCHASES_FOR_ACCOUNTING", default=False
)
# Let erasure webhooks reach private, loopback and link-local addresses (a recipient on the
# internal network, a local test server). Off: such a host is refused at delivery, so a webhook
# cannot be pointed at internal systems or the cloud's metadata service.
ERASURE_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env.bool(
    "ERASURE_WEBHOOK_ALLOW_PRIVATE_ADDRESSES", default=False
)

# Retention ------------------------------------------------------------------------------------
# Rows per transaction of the nightly purge (periods are policies, edited in the staff UI).
RETENTION_BATCH_SIZE = env.int("RETENTION_BATCH_SIZE", default=10_000)

# Data-subject requests -------------------------------------------------------------------------
# How long the download link of an access package works, and how many days before the due date
# data stewards start getting the morning reminder.
PRIVACY_PACKAGE_DAYS = env.int("PRIVACY_PACKAGE_DAYS", default=7)
PRIVACY_ALERT_DAYS_BEFORE = env.int("PRIVACY_ALERT_DAYS_BEFORE", default=3)
# Recipients of customers' personal data outside the company (processors, partners), named in
# every access package (GDPR Art. 15(1)(c)); empty: the package says there are none.
PRIVACY_RECIPIENTS = env.list("PRIVACY_RECIPIENTS", default=[])

# Consent --------------------------------------------------------------------------------------
# Absolute address of this installation for links in emails (preference centre, double opt-in).
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default="")
PREFERENCE_LINK_MAX_AGE_DAYS = env.int("PREFERENCE_LINK_MAX_AGE_DAYS", default=180)
