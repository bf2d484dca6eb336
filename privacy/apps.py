from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    """The core every other app builds on: teams and roles, access, audit log, consent."""

    name = "privacy"
    verbose_name = _("Privacy and access")

    def ready(self) -> None:
        from privacy import roles

        # Permissions are created by post_migrate; roles pick up the ones later apps add.
        post_migrate.connect(roles.roles_sync_after_migrate, dispatch_uid="privacy_roles_sync")
