from django.apps import AppConfig


class ConfigConfig(AppConfig):
    """The project itself: cross-app management commands such as ``seed_demo``."""

    name = "config"
    verbose_name = "Marketbase"
