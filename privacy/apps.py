from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    """The core every other app builds on: teams and roles, access, audit log, consent."""

    name = "privacy"
    verbose_name = _("Privacy and access")

    def ready(self) -> None:
        from axes.signals import user_locked_out

        from privacy.core import refusals, roles
        from privacy.erasure.services.erasure import register_eraser
        from privacy.requests.services.eraser import requests_erase
        from privacy.retention.services import privacy_purgers_register

        # Permissions are created by post_migrate; roles pick up the ones later apps add.
        post_migrate.connect(roles.roles_sync_after_migrate, dispatch_uid="privacy_roles_sync")
        # django-axes announces lockouts only by this signal; the receiver just audits them.
        user_locked_out.connect(refusals.locked_out_record, dispatch_uid="privacy_locked_out")
        privacy_purgers_register()
        # Requests about an erased person forget their contact details and access packages.
        register_eraser("privacy.requests", requests_erase)
