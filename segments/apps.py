from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SegmentsConfig(AppConfig):
    name = "segments"
    verbose_name = _("Segments")

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
            "segments",
            {ADMINISTRATOR: [""], DATA_STEWARD: ["view_"], MARKETER: [""], ANALYST: ["view_"]},
        )
