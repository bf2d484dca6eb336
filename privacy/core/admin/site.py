"""The admin site: it demands a verified second factor, like the staff UI, and signs in through
it; accounts, groups and API tokens are registered on it, scoped and saved through the audited
account services."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from privacy.core.admin import accounts
from privacy.core.admin.base import MarketbaseAdminSite

admin.site.__class__ = MarketbaseAdminSite
admin.site.site_header = _("Marketbase administration")
admin.site.site_title = _("Marketbase")
accounts.register(admin.site)
