from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CommunityConfig(AppConfig):
    name = "anju.community"
    label = "community"
    verbose_name = _("Community life")

    def ready(self) -> None:
        # Periodic jobs, demo steps and navigation links register themselves on import.
        from anju.core.registry import import_app_modules

        import_app_modules(self.name)
