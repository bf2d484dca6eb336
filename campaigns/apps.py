from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self) -> None:
        from privacy.core.roles import (
            ADMINISTRATOR,
            ANALYST,
            DATA_STEWARD,
            MARKETER,
            role_permissions_register,
        )

        # What each role gets of this app's permissions (docs/registries.md).
        role_permissions_register(
            "campaigns",
            {ADMINISTRATOR: [""], DATA_STEWARD: ["view_"], MARKETER: [""], ANALYST: ["view_"]},
        )
