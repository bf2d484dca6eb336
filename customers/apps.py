from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:

        from customers.services.erasure import (
            customers_erase,
            customers_erasure_collect,
        )
        from customers.services.export import (
            customers_export,
            customers_export_collect,
            customers_export_sources,
        )
        from customers.services.merge import register_merge_hook
        from customers.services.reindex import customers_reindex
        from customers.services.requests import CustomerDirectory
        from customers.services.retention import customers_purgers_register
        from privacy.consent.services.merge import consent_merge_hook, consent_merge_undo_hook
        from privacy.core.crypto import register_reindexer
        from privacy.erasure.services.erasure import register_eraser
        from privacy.requests.package.registry import register_exporter
        from privacy.requests.services.directory import register_subject_directory

        register_reindexer("customers.indexes", customers_reindex)
        register_eraser("customers", customers_erase, collect=customers_erasure_collect)
        register_exporter(
            "customers",
            customers_export,
            collect=customers_export_collect,
            sources=customers_export_sources,
        )
        register_merge_hook(consent_merge_hook, consent_merge_undo_hook)
        register_subject_directory(CustomerDirectory())
        customers_purgers_register()
