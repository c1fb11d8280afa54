"""Checks ``anju verify_ledger`` runs for payments: every settled payment and every approved refund is
posted for exactly its amount, every paid-out refund took exactly its amount out of a money account
(and no other refund took anything), refunds payable holds exactly the approved refunds not yet paid
out, and every payment's split matches its allocations."""

from __future__ import annotations

from django.db.models import Sum

from anju.billing import ledger
from anju.billing.models import LedgerEntry
from anju.billing.payments import ledger_bridge
from anju.billing.payments.models import (
    OUTSTANDING_REFUND_STATUSES,
    POSTED_REFUND_STATUSES,
    Allocation,
    PaymentOrder,
    Refund,
)


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
    outstanding = 0
    for refund in Refund.objects.filter(status__in=POSTED_REFUND_STATUSES):
        if posted.get(f"refund:{refund.pk}") != refund.amount_fen:
            problems.append(f"refund {refund.pk} is not posted for its amount")
        money_out = ledger_bridge.refund_money_out_fen(refund.pk)
        paid_out = refund.status == Refund.Status.SUCCEEDED
        if money_out != (refund.amount_fen if paid_out else 0):
            problems.append(f"refund {refund.pk} ({refund.status}) took {money_out} fen out of money accounts")
        if refund.status in OUTSTANDING_REFUND_STATUSES:
            outstanding += refund.amount_fen
    payable = ledger_bridge.refunds_payable_fen(community_id)
    if payable != outstanding:
        problems.append(f"refunds payable is {payable} fen but approved refunds awaiting pay-out total {outstanding}")
    return problems


ledger.register_verifier(verify_payments_posted)
