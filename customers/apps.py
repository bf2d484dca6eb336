from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from customers.registrations import customers_register

        # The customers app's part in the registries of the privacy app (docs/registries.md).
        customers_register()
