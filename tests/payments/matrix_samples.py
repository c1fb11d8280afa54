"""Ids of real payments objects of one estate, for the tenancy matrix: a bill paid at the counter
(payment, receipt), a pending sandbox order (trade number), a requested refund and a statement."""

from __future__ import annotations

import datetime as dt
from typing import Any

from anju.billing.payments.models import PaymentOrder, Statement
from anju.billing.payments.services import accounts, payments, refunds
from anju.core.tenancy import community_scope

from .helpers import issue_bill


def samples(world: Any, estate_name: str) -> dict[str, Any]:
    estate = getattr(world, estate_name)
    manager = world.user("manager_y" if estate_name == "b" else "manager_x")
    home = estate.homes[0]
    with community_scope(estate.community.pk):
        bill = issue_bill(home, 26_550, dt.date(2026, 1, 1))
        issue_bill(home, 10_000, dt.date(2026, 2, 1))
        paid = payments.take_counter_payment(home=home, amount_fen=5_000, method="cash", actor=manager)
        refund = refunds.request_refund(order=paid, amount_fen=1_000, reason="matrix", actor=manager)
        pending = PaymentOrder.objects.create(
            community=estate.community,
            home=home,
            trade_no=f"PMATRIX{estate_name.upper()}{paid.pk}",
            method="sandbox",
            amount_fen=bill.total_fen,
            bill_ids=[bill.pk],
            payer=world.user("resident_a" if estate_name != "b" else "resident_b"),
        )
        statement = Statement.objects.filter(period="quarter", starts_on=dt.date(2026, 1, 1)).first()
        if statement is None:
            statement = accounts.publish_statement(
                community=estate.community, period="quarter", year=2026, number=1, actor=manager
            )
        return {
            "payment_order_id": paid.pk,
            "receipt_id": paid.receipt.pk,
            "refund_id": refund.pk,
            "statement_id": statement.pk,
            "trade_no": pending.trade_no,
            "provider": "sandbox",
        }
