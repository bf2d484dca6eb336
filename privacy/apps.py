from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    """The core every other app builds on: teams and roles, access, audit log, consent."""

    name = "privacy"
    verbose_name = _("Privacy and access")

    def ready(self) -> None:
        from axes.signals import user_locked_out

        from privacy.consent.registrations import consent_register
        from privacy.core import refusals, roles
        from privacy.core.registrations import core_register
        from privacy.erasure.registrations import erasure_register
        from privacy.requests.registrations import requests_register
        from privacy.retention.registrations import retention_register

        # Permissions are created by post_migrate; roles pick up the ones later apps add.
        post_migrate.connect(roles.roles_sync_after_migrate, dispatch_uid="privacy_roles_sync")
        # django-axes announces lockouts only by this signal; the receiver just audits them.
        user_locked_out.connect(refusals.locked_out_record, dispatch_uid="privacy_locked_out")
        # Each package's part in the core's registries (docs/registries.md).
        core_register()
        consent_register()
        erasure_register()
        requests_register()
        retention_register()
