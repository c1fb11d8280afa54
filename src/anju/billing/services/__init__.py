"""Every write of billing, importable from one place: ``from anju.billing import services``.

Tariffs and settings (:mod:`.tariffs`), meters and readings (:mod:`.readings`), one-off charges,
credits and late fees (:mod:`.charges`), bill runs (:mod:`anju.billing.billruns`), arrears reminders
(:mod:`anju.billing.arrears`); the ledger writer itself is :mod:`anju.billing.ledger`.
"""

from anju.billing.arrears import send_reminders
from anju.billing.billruns import issue_bill_run, parse_period, preview_bill_run, process_bill_run, settings_for
from anju.billing.services.charges import (
    charge_late_fees,
    charge_one_off,
    credit_home,
    decide_discount,
    late_fee_fen,
    request_discount,
)
from anju.billing.services.readings import (
    create_meter,
    import_readings,
    record_device_reading,
    record_reading,
    review_reading,
)
from anju.billing.services.tariffs import (
    create_fee_item,
    end_parking_lease,
    lease_parking_space,
    set_tariff,
    update_billing_settings,
)

__all__ = [
    "charge_late_fees",
    "charge_one_off",
    "create_fee_item",
    "create_meter",
    "credit_home",
    "decide_discount",
    "end_parking_lease",
    "import_readings",
    "issue_bill_run",
    "late_fee_fen",
    "lease_parking_space",
    "parse_period",
    "preview_bill_run",
    "process_bill_run",
    "record_device_reading",
    "record_reading",
    "request_discount",
    "review_reading",
    "send_reminders",
    "set_tariff",
    "settings_for",
    "update_billing_settings",
]
