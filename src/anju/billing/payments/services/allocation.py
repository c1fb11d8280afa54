"""Applying money to bills: oldest first, with conditional UPDATEs, leftovers to the prepaid balance.

A bill's ``paid_fen`` is only ever raised by ``UPDATE … WHERE id = %s AND paid_fen = <value read>``:
if another payment changed the bill in between, the UPDATE touches no row and the bill is read again.
So two payments racing for the same bill can never both fill it (nor overfill it), on SQLite or
PostgreSQL, and no row lock is held while the other bills are worked through.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import F

from anju.billing.models import Bill
from anju.billing.payments import ledger_bridge


@dataclass(frozen=True)
class Applied:
    bill_id: int
    amount_fen: int


def open_bills(home_id: int) -> list[Bill]:
    """The home's bills still owing, oldest first (by period, then issue order)."""
    return list(
        Bill.objects.filter(home_id=home_id, paid_fen__lt=F("total_fen"))
        .filter(**ledger_bridge.payable_bill_filter())
        .order_by(*ledger_bridge.BILL_AGE_ORDER)
    )


def apply_to_bill(bill: Bill, wanted_fen: int) -> int:
    """Raise ``bill.paid_fen`` by up to ``wanted_fen`` (no more than it still owes); return how much."""
    while wanted_fen > 0:
        outstanding = bill.total_fen - bill.paid_fen
        if outstanding <= 0:
            return 0
        amount = min(wanted_fen, outstanding)
        new_paid = bill.paid_fen + amount
        changed = Bill.objects.filter(pk=bill.pk, paid_fen=bill.paid_fen).update(
            paid_fen=new_paid, **ledger_bridge.bill_status_after(bill, new_paid)
        )
        if changed == 1:
            bill.paid_fen = new_paid
            return amount
        bill.refresh_from_db(fields=["paid_fen", "total_fen"])
    return 0


def reverse_on_bill(bill_id: int, amount_fen: int) -> None:
    """Lower a bill's ``paid_fen`` by exactly ``amount_fen`` (a refund of an allocation)."""
    bill = Bill.objects.get(pk=bill_id)
    while True:
        new_paid = bill.paid_fen - amount_fen
        assert new_paid >= 0, "reversing more than was paid on the bill"
        changed = Bill.objects.filter(pk=bill.pk, paid_fen=bill.paid_fen).update(
            paid_fen=new_paid, **ledger_bridge.bill_status_after(bill, new_paid)
        )
        if changed == 1:
            return
        bill.refresh_from_db(fields=["paid_fen", "total_fen"])


def allocate_oldest_first(home_id: int, amount_fen: int, preferred_bill_ids: Iterable[int] = ()) -> list[Applied]:
    """Spread ``amount_fen`` over the home's open bills: the bills the payer chose first (oldest of
    them first), then every other open bill oldest first. Returns what went where; the caller puts
    the remainder (``amount_fen`` − the sum) on the prepaid balance."""
    bills = open_bills(home_id)
    preferred = set(preferred_bill_ids)
    ordered = [b for b in bills if b.pk in preferred] + [b for b in bills if b.pk not in preferred]
    remaining = amount_fen
    applied: list[Applied] = []
    for bill in ordered:
        if remaining <= 0:
            break
        took = apply_to_bill(bill, remaining)
        if took:
            applied.append(Applied(bill.pk, took))
            remaining -= took
    return applied


def prepaid_of(home_id: int) -> int:
    return ledger_bridge.prepaid_fen(home_id)
