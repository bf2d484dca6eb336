"""Admin autodiscovery finds this module: it imports the admin module of every package of the
privacy app, which register their models on the admin site."""

from privacy.core.admin import audit, site, staff  # noqa: F401
from privacy.erasure import admin as erasure_admin  # noqa: F401
from privacy.requests import admin as requests_admin  # noqa: F401
from privacy.retention import admin as retention_admin  # noqa: F401
