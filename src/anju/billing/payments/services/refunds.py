"""Refunds: requested by one person, approved by another, reversing exactly what they refund.

What a refund of R fen reverses, decided at approval (when the amounts are certain):

1. first the part of the payment that went to the prepaid balance and is still there (money nobody
   has used yet),
2. then the payment's allocations to bills, newest bill first, each at most what is left of it.

Each reversed allocation lowers its bill's ``paid_fen`` by exactly that amount (the bill owes it
again), the prepaid part lowers the balance, and the ledger entry debits receivable and prepaid by
exactly those amounts and credits the money account the payment came in through, so the refund is
the payment's entry run backwards for R fen — except that the credit goes to ``refunds_payable``
(we owe the payer R) rather than to the money account: the money leaves only when it is paid out
(:mod:`~anju.billing.payments.services.refund_payouts`). ``lines`` on the refund records the split.

An online payment's refund gets its stable provider refund number (``out_refund_no``) at approval and
is submitted to the provider once the approval has committed; a counter payment's refund waits for
the clerk to pay it out and record how.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from anju.billing.payments import ledger_bridge
from anju.billing.payments.models import POSTED_REFUND_STATUSES, Allocation, PaymentOrder, Refund
from anju.billing.payments.services import allocation
from anju.core import audit
from anju.core.errors import Conflict, DomainError, PermissionDenied
from anju.core.models import User


class SameApprover(PermissionDenied):
    code = "refund_needs_second_person"
    default_message = gettext_lazy("A refund must be approved by someone other than the person who requested it.")


def _pending_fen(order: PaymentOrder) -> int:
    total = Refund.objects.filter(order=order, status=Refund.Status.REQUESTED).aggregate(s=Sum("amount_fen"))["s"]
    return int(total or 0)


@transaction.atomic
def request_refund(*, order: PaymentOrder, amount_fen: int, reason: str, actor: User) -> Refund:
    if order.status != PaymentOrder.Status.PAID or order.method == "prepaid":
        raise Conflict(_("Only a settled payment can be refunded."))
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise DomainError(_("The amount must be greater than zero."), field="amount_fen")
    reason = reason.strip()
    if not reason:
        raise DomainError(_("Give the reason for the refund."), field="reason")
    PaymentOrder.objects.select_for_update().filter(pk=order.pk).first()
    order.refresh_from_db()
    if amount_fen > order.refundable_fen - _pending_fen(order):
        raise DomainError(
            _("At most %(amount)s can still be refunded on this payment.")
            % {"amount": ledger_bridge.yuan(order.refundable_fen - _pending_fen(order))},
            field="amount_fen",
        )
    refund = Refund.objects.create(
        community_id=order.community_id, order=order, amount_fen=amount_fen, reason=reason[:200], requested_by=actor
    )
    audit.record(actor=actor, action="refund.request", obj=refund, after=audit.snapshot(refund))
    return refund


def _prepaid_refunded(order: PaymentOrder) -> int:
    total = 0
    for refund in Refund.objects.filter(order=order, status__in=POSTED_REFUND_STATUSES):
        total += sum(line["amount_fen"] for line in refund.lines if line["kind"] == "prepaid")
    return total


@transaction.atomic
def approve_refund(refund: Refund, *, actor: User) -> Refund:
    """Approve and post: reverse exactly R fen of the payment (see the module docstring)."""
    if refund.requested_by_id == actor.pk:
        raise SameApprover()
    claimed = Refund.objects.filter(pk=refund.pk, status=Refund.Status.REQUESTED).update(
        status=Refund.Status.APPROVED, decided_by=actor, decided_at=timezone.now()
    )
    if claimed != 1:
        raise Conflict(_("This refund has already been decided."))
    order = refund.order
    raised = PaymentOrder.objects.filter(pk=order.pk, refunded_fen__lte=F("amount_fen") - refund.amount_fen).update(
        refunded_fen=F("refunded_fen") + refund.amount_fen
    )
    if raised != 1:
        raise Conflict(_("The payment has less left to refund than this."))
    remaining = refund.amount_fen
    lines: list[dict[str, int | str]] = []
    ledger_bridge.lock_ledger(order.community_id)
    prepaid_left = min(order.prepaid_fen - _prepaid_refunded(order), allocation.prepaid_of(order.home_id))
    take = min(remaining, max(prepaid_left, 0))
    if take > 0:
        lines.append({"kind": "prepaid", "amount_fen": take})
        remaining -= take
    allocations = Allocation.objects.filter(order=order).order_by("-bill_id", "-id")
    for alloc in allocations:
        if remaining <= 0:
            break
        left = alloc.amount_fen - alloc.reversed_fen
        take = min(left, remaining)
        if take <= 0:
            continue
        changed = Allocation.objects.filter(pk=alloc.pk, reversed_fen=alloc.reversed_fen).update(
            reversed_fen=alloc.reversed_fen + take
        )
        if changed != 1:
            raise Conflict()
        allocation.reverse_on_bill(alloc.bill_id, take)
        lines.append({"kind": "bill", "bill_id": alloc.bill_id, "allocation_id": alloc.pk, "amount_fen": take})
        remaining -= take
    if remaining:
        # The prepaid money was used on later bills since: nothing of this payment is left to reverse.
        raise Conflict(_("The prepaid part of this payment has since been used on other bills; refund less."))
    out_refund_no = f"{order.trade_no}R{refund.pk}" if order.is_online else None
    Refund.objects.filter(pk=refund.pk).update(lines=lines, out_refund_no=out_refund_no)
    refund.refresh_from_db()
    ledger_bridge.post_refund(refund, actor=actor)
    audit.record(
        actor=actor,
        action="refund.approve",
        obj=refund,
        after={"lines": lines, "status": refund.status, "out_refund_no": out_refund_no},
    )
    if order.is_online:
        from anju.billing.payments.services.refund_payouts import submit_after_commit

        submit_after_commit(refund.pk, actor=actor)
    return refund


@transaction.atomic
def reject_refund(refund: Refund, *, reason: str, actor: User) -> Refund:
    if refund.requested_by_id == actor.pk:
        raise SameApprover()
    claimed = Refund.objects.filter(pk=refund.pk, status=Refund.Status.REQUESTED).update(
        status=Refund.Status.REJECTED, decided_by=actor, decided_at=timezone.now()
    )
    if claimed != 1:
        raise Conflict(_("This refund has already been decided."))
    refund.refresh_from_db()
    audit.record(actor=actor, action="refund.reject", obj=refund, after={"status": refund.status, "note": reason[:200]})
    return refund
