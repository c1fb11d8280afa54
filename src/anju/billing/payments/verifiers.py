"""Checks ``anju verify_ledger`` runs for payments: every settled payment and approved refund is
posted, for exactly its amount, and every payment's split matches its allocations."""

from __future__ import annotations

from django.db.models import Sum

from anju.billing import ledger
from anju.billing.models import LedgerEntry
from anju.billing.payments.models import Allocation, PaymentOrder, Refund


def verify_payments_posted(community_id: int) -> list[str]:
    problems: list[str] = []
    posted = dict(
        LedgerEntry.objects.filter(source_type__in=["payment", "refund", "prepaid_use"]).values_list("key", "total_fen")
    )
    for order in PaymentOrder.objects.filter(status=PaymentOrder.Status.PAID):
        key = f"prepaid-use:{order.trade_no}" if order.method == "prepaid" else f"payment:{order.trade_no}"
        if posted.get(key) != order.amount_fen:
            problems.append(f"payment {order.trade_no} is not posted for its amount")
        allocated = Allocation.objects.filter(order=order).aggregate(s=Sum("amount_fen"))["s"] or 0
        if allocated != order.allocated_fen or order.allocated_fen + order.prepaid_fen != order.amount_fen:
            problems.append(f"payment {order.trade_no}: allocations do not add up")
    for refund in Refund.objects.filter(status=Refund.Status.APPROVED):
        if posted.get(f"refund:{refund.pk}") != refund.amount_fen:
            problems.append(f"refund {refund.pk} is not posted for its amount")
    return problems


ledger.register_verifier(verify_payments_posted)
