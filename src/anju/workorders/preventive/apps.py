from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PreventiveConfig(AppConfig):
    name = "anju.workorders.preventive"
    label = "preventive"
    verbose_name = _("Preventive work")

    def ready(self) -> None:
        # Periodic jobs, demo steps and navigation links register themselves on import.
        from anju.core.registry import import_app_modules

        import_app_modules(self.name)
