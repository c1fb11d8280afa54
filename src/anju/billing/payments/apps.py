from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "anju.billing.payments"
    label = "payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        # Periodic jobs, demo steps and navigation links register themselves on import.
        from anju.core.registry import import_app_modules

        import_app_modules(self.name)
        # verify_ledger's checks that every payment and refund is posted.
        from anju.billing.payments import verifiers  # noqa: F401
