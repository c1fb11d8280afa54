from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccessConfig(AppConfig):
    name = "anju.access"
    label = "access"
    verbose_name = _("Access control")

    def ready(self) -> None:
        # Periodic jobs, demo steps and navigation links register themselves on import.
        from anju.core.registry import import_app_modules

        import_app_modules(self.name)
