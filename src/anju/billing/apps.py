from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "anju.billing"
    label = "billing"
    verbose_name = _("Billing")

    def ready(self) -> None:
        # Periodic jobs, demo steps and navigation links register themselves on import.
        from anju.core.registry import import_app_modules

        import_app_modules(self.name)
        from anju.billing import map_layer  # noqa: F401  (registers the property map's "arrears" layer)
