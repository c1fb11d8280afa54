"""Property test: for any sequence of bills, online and counter payments (partial, exact, over),
prepaid use, refunds and ledger reversals, the ledger balances and every home's receivable equals
what it was billed minus what was paid on its bills."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Sum
from hypothesis import given, settings
from hypothesis import strategies as st

from anju.billing import ledger
from anju.billing.models import Account, Bill, LedgerEntry
from anju.billing.payments.models import POSTED_REFUND_STATUSES, Allocation, PaymentOrder
from anju.billing.payments.providers import override_provider
from anju.billing.payments.services import accounts, callbacks, payments, refund_payouts, refunds
from anju.billing.payments.services.allocation import open_bills, prepaid_of
from anju.billing.payments.verifiers import verify_payments_posted
from anju.core.errors import DomainError
from anju.core.tenancy import community_scope

from ..personas import World
from .fakes import WechatPlatform
from .helpers import issue_bill

HOMES = 3
amounts = st.integers(min_value=1, max_value=60_000)
operation = st.one_of(
    st.tuples(st.just("bill"), st.integers(0, HOMES - 1), amounts),
    st.tuples(st.just("counter"), st.integers(0, HOMES - 1), amounts),
    st.tuples(st.just("online"), st.integers(0, HOMES - 1), st.integers(1, 3)),
    st.tuples(st.just("refund"), st.integers(0, 50), amounts),
    st.tuples(st.just("prepaid"), st.integers(0, HOMES - 1), st.just(0)),
    st.tuples(st.just("reversal"), st.integers(0, HOMES - 1), amounts),
)


class Rollback(Exception):
    pass


def _check_invariants(world: World) -> None:
    community_id = world.a.community.pk
    assert ledger.verify_chain(community_id) == []
    # Every refund posted, every paid-out one out of the till once, refunds payable = the rest.
    assert verify_payments_posted(community_id) == []
    for home in world.a.homes[:HOMES]:
        bills = Bill.objects.filter(home=home).aggregate(t=Sum("total_fen"), p=Sum("paid_fen"))
        billed, paid = bills["t"] or 0, bills["p"] or 0
        assert ledger.balance_fen(Account.RECEIVABLE, home_id=home.pk) == billed - paid
        assert prepaid_of(home.pk) >= 0
        orders = PaymentOrder.objects.filter(home=home, status="paid").exclude(method="prepaid")
        prepaid_in = orders.aggregate(s=Sum("prepaid_fen"))["s"] or 0
        prepaid_used = Allocation.objects.filter(order__home=home, from_prepaid=True).aggregate(s=Sum("amount_fen"))
        refunded_prepaid = sum(
            line["amount_fen"]
            for order in orders
            for refund in order.refunds.filter(status__in=POSTED_REFUND_STATUSES)
            for line in refund.lines
            if line["kind"] == "prepaid"
        )
        assert prepaid_of(home.pk) == prepaid_in - (prepaid_used["s"] or 0) - refunded_prepaid
    for bill in Bill.objects.all():
        allocated = Allocation.objects.filter(bill=bill).aggregate(a=Sum("amount_fen"), r=Sum("reversed_fen"))
        assert 0 <= bill.paid_fen <= bill.total_fen
        assert bill.paid_fen == (allocated["a"] or 0) - (allocated["r"] or 0)
        assert bill.status == Bill.status_for(bill.total_fen, bill.paid_fen)
    for order in PaymentOrder.objects.filter(status="paid"):
        assert order.allocated_fen + order.prepaid_fen == order.amount_fen
        assert 0 <= order.refunded_fen <= order.amount_fen


def _apply(world: World, platform: WechatPlatform, op: tuple[str, int, int], day: list[int]) -> None:
    kind, index, amount = op
    home = world.a.homes[index % HOMES]
    clerk, manager = world.user("finance"), world.user("manager_x")
    if kind == "bill":
        day[0] += 1
        issue_bill(home, amount, dt.date(2020, 1, 1) + dt.timedelta(days=day[0]))
    elif kind == "counter":
        payments.take_counter_payment(home=home, amount_fen=amount, method="cash", actor=clerk)
    elif kind == "online":
        bills = open_bills(home.pk)[:amount]
        if bills:
            order = payments.create_online_order(
                home=home, bill_ids=[b.pk for b in bills], method="wechat", payer=world.user("resident_a"), actor=None
            )
            headers, body = platform.callback(order.trade_no, order.amount_fen)
            callbacks.receive_callback("wechat", headers, body)
            callbacks.receive_callback("wechat", headers, body)
    elif kind == "refund":
        orders = list(PaymentOrder.objects.filter(status="paid").exclude(method="prepaid").order_by("id"))
        if orders:
            order = orders[index % len(orders)]
            try:
                refund = refunds.request_refund(
                    order=order, amount_fen=min(amount, max(order.refundable_fen, 1)), reason="test", actor=clerk
                )
                refunds.approve_refund(refund, actor=manager)
                if not order.is_online and amount % 2:
                    refund_payouts.record_counter_payout(refund, method="cash", actor=clerk)
            except DomainError:
                pass  # nothing left to refund, or the prepaid part was spent: refused, nothing written
    elif kind == "prepaid":
        payments.apply_prepaid(home=home, actor=clerk)
    elif kind == "reversal":
        expense = accounts.record_expense(
            community=world.a.community,
            category="repairs",
            amount_fen=amount,
            spent_on=dt.date(2026, 1, 1),
            description="x",
            actor=clerk,
        )
        entry = LedgerEntry.objects.get(key=f"expense:{expense.pk}")
        ledger.reverse_entry(community_id=world.a.community.pk, entry_id=entry.pk, reason="typo", actor=manager)


def test_ledger_balances_and_receivable_is_billed_minus_paid(world: World) -> None:
    platform = WechatPlatform()

    @settings(max_examples=25, deadline=None)
    @given(st.lists(operation, min_size=1, max_size=14))
    def run(ops: list[tuple[str, int, int]]) -> None:
        try:
            with transaction.atomic():
                day = [0]
                for op in ops:
                    try:
                        with transaction.atomic():
                            _apply(world, platform, op, day)
                    except DomainError:
                        pass  # a refusal writes nothing (its savepoint rolled back)
                    _check_invariants(world)
                raise Rollback
        except Rollback:
            pass

    with community_scope(world.a.community.pk), override_provider(platform.provider()):
        run()
