"""Periodic work of payments: close online checkouts nobody finished.

An online order waits for the payer at most ``STALE_AFTER`` (WeChat Pay's native orders expire after
two hours; a day leaves room for slow notifications). Closing is a conditional UPDATE
(``pending`` → ``closed``), so it cannot race a callback that settles the order: whichever UPDATE
runs first wins, and a success notification arriving for a closed order is held for review.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from anju.billing.payments.models import ONLINE_METHODS, PaymentOrder
from anju.core.periodic import periodic
from anju.core.tenancy import scopes_disabled

STALE_AFTER = dt.timedelta(hours=24)


@periodic("payments.close_stale_orders", every=dt.timedelta(minutes=10))
def close_stale_orders() -> int:
    cutoff = timezone.now() - STALE_AFTER
    with scopes_disabled():
        return PaymentOrder.objects.filter(
            status=PaymentOrder.Status.PENDING, method__in=ONLINE_METHODS, created_at__lt=cutoff
        ).update(status=PaymentOrder.Status.CLOSED)
