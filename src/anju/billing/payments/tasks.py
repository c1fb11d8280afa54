"""Periodic work of payments: close online checkouts nobody finished; send approved refunds whose
submission after approval did not happen (the process stopped between commit and the call).

An online order waits for the payer at most ``STALE_AFTER`` (WeChat Pay's native orders expire after
two hours; a day leaves room for slow notifications). Closing is a conditional UPDATE
(``pending`` → ``closed``), so it cannot race a callback that settles the order: whichever UPDATE
runs first wins, and a success notification arriving for a closed order is held for review.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

from anju.billing.payments.models import ONLINE_METHODS, PaymentOrder, Refund

# Imported here, where the app loads its tasks, so that a Celery worker knows the refund
# submission queued with ``after_commit`` (``refund_payouts.submit_approved_refund``).
from anju.billing.payments.services.refund_payouts import submit_refund
from anju.core.periodic import periodic
from anju.core.tenancy import scopes_disabled

logger = logging.getLogger(__name__)
STALE_AFTER = dt.timedelta(hours=24)


@periodic("payments.close_stale_orders", every=dt.timedelta(minutes=10))
def close_stale_orders() -> int:
    cutoff = timezone.now() - STALE_AFTER
    with scopes_disabled():
        return PaymentOrder.objects.filter(
            status=PaymentOrder.Status.PENDING, method__in=ONLINE_METHODS, created_at__lt=cutoff
        ).update(status=PaymentOrder.Status.CLOSED)


UNSENT_AFTER = dt.timedelta(minutes=5)


@periodic("payments.submit_unsent_refunds", every=dt.timedelta(minutes=10))
def submit_unsent_refunds() -> int:
    """Approved online refunds still ``approved`` a while after approval: submit them. Only
    ``approved`` ones — a ``submitted`` or ``failed`` refund waits for its notification or finance."""
    cutoff = timezone.now() - UNSENT_AFTER
    with scopes_disabled():
        unsent = list(
            Refund.objects.filter(
                status=Refund.Status.APPROVED, order__method__in=ONLINE_METHODS, decided_at__lt=cutoff
            ).select_related("order")[:100]
        )
    sent = 0
    for refund in unsent:
        try:
            submit_refund(refund, actor=None)
            sent += 1
        except Exception:  # one refund's trouble must not stop the others
            logger.exception("submitting refund %s failed", refund.pk)
    return sent
