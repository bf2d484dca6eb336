from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from customers.services.reindex import customers_reindex
        from privacy.crypto import register_reindexer

        register_reindexer("customers.indexes", customers_reindex)
