"""Payments end to end through the services: online callbacks exactly once, refusals held, counter
payments oldest first, overpayment to prepaid, refunds with two people reversing exactly."""

from __future__ import annotations

import datetime as dt

import pytest

from anju.billing import ledger
from anju.billing.models import Account, Bill
from anju.billing.payments.models import PaymentOrder, RawCallback, Receipt, Refund
from anju.billing.payments.providers import override_provider
from anju.billing.payments.services import callbacks, payments, refund_payouts, refunds
from anju.billing.payments.services.allocation import prepaid_of
from anju.core.errors import Conflict, DomainError, PermissionDenied
from anju.core.tenancy import community_scope

from ..personas import World
from .fakes import AlipayPlatform, WechatPlatform
from .helpers import issue_bill

JAN, FEB, MAR = dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)


@pytest.fixture
def home(world: World):
    return world.a.homes[0]


def _scope(world: World):
    return community_scope(world.a.community.pk)


def _order(world, home, bills, method="wechat"):
    return payments.create_online_order(
        home=home, bill_ids=[b.pk for b in bills], method=method, payer=world.user("resident_a"), actor=None
    )


def _ledger_ok(world):
    assert ledger.verify_ledger(world.a.community.pk) == []


def test_wechat_callback_settles_the_chosen_bills_once(world: World, home) -> None:
    platform = WechatPlatform()
    with _scope(world), override_provider(platform.provider()):
        jan, feb = issue_bill(home, 26_550, JAN), issue_bill(home, 26_550, FEB)
        order = _order(world, home, [jan, feb])
        assert order.amount_fen == 53_100 and order.status == "pending"
        headers, body = platform.callback(order.trade_no, 53_100)
        first = callbacks.receive_callback("wechat", headers, body)
        again = callbacks.receive_callback("wechat", headers, body)
        assert first.status in (200, 204) and again.status in (200, 204)
        order.refresh_from_db()
        assert order.status == "paid" and order.allocated_fen == 53_100 and order.prepaid_fen == 0
        assert [r.outcome for r in RawCallback.objects.order_by("id")] == ["applied", "duplicate"]
        assert {b.status for b in Bill.objects.filter(pk__in=[jan.pk, feb.pk])} == {"paid"}
        assert ledger.balance_fen(Account.RECEIVABLE, home_id=home.pk) == 0
        assert ledger.balance_fen(Account.PROVIDER_CLEARING) == 53_100
        assert Receipt.objects.filter(order=order).count() == 1
        _ledger_ok(world)


def test_alipay_callback_settles(world: World, home) -> None:
    platform = AlipayPlatform()
    with _scope(world), override_provider(platform.provider()):
        bill = issue_bill(home, 12_345, JAN)
        order = _order(world, home, [bill], method="alipay")
        ack = callbacks.receive_callback("alipay", *platform.callback(order.trade_no, 12_345))
        assert ack.body == b"success"
        bill.refresh_from_db()
        assert bill.paid_fen == 12_345


@pytest.mark.parametrize("attack", ["wrong_key", "changed_amount", "unknown_order", "not_paid", "other_provider"])
def test_refused_or_held_callbacks_never_post(world: World, home, attack: str) -> None:
    platform = WechatPlatform()
    with _scope(world), override_provider(platform.provider()), override_provider(AlipayPlatform().provider()):
        bill = issue_bill(home, 26_550, JAN)
        order = _order(world, home, [bill])
        seq_before = _seq(world)
        expected = "held"
        if attack == "wrong_key":
            headers, body = WechatPlatform(platform_key="impostor").callback(order.trade_no, 26_550)
            expected = "refused"
        elif attack == "changed_amount":
            headers, body = platform.callback(order.trade_no, 1)
        elif attack == "unknown_order":
            headers, body = platform.callback("PNOSUCHORDER", 26_550)
        elif attack == "not_paid":
            headers, body = platform.callback(order.trade_no, 26_550, state="CLOSED")
            expected = "ignored"
        else:
            headers, body = AlipayPlatform().callback(order.trade_no, 26_550)
            ack = callbacks.receive_callback("alipay", headers, body)
            assert RawCallback.objects.get().outcome == "held"
            order.refresh_from_db()
            assert order.status == "pending" and _seq(world) == seq_before
            return
        ack = callbacks.receive_callback("wechat", headers, body)
        raw = RawCallback.objects.get()
        assert raw.outcome == expected, raw.reason
        assert bytes(raw.body) == body, "stored exactly as received"
        if expected == "refused":
            assert ack.status >= 400
        order.refresh_from_db()
        bill.refresh_from_db()
        assert order.status == "pending" and bill.paid_fen == 0
        assert _seq(world) == seq_before, "nothing was posted"


def _seq(world) -> int:
    from anju.billing.payments.ledger_bridge import chain_head

    return chain_head(world.a.community.pk)[0]


def test_counter_payment_allocates_oldest_first_and_overpayment_becomes_prepaid(world: World, home) -> None:
    clerk = world.user("finance")
    with _scope(world):
        mar, jan, feb = issue_bill(home, 10_000, MAR), issue_bill(home, 10_000, JAN), issue_bill(home, 10_000, FEB)
        partial = payments.take_counter_payment(home=home, amount_fen=15_000, method="cash", actor=clerk)
        assert [(a.bill_id, a.amount_fen) for a in partial.allocations.order_by("id")] == [
            (jan.pk, 10_000),
            (feb.pk, 5_000),
        ]
        for bill in (jan, feb, mar):
            bill.refresh_from_db()
        assert (jan.status, feb.status, mar.status) == ("paid", "partial", "unpaid")
        over = payments.take_counter_payment(
            home=home, amount_fen=20_000, method="transfer", reference="ICBC 0091", actor=clerk
        )
        assert over.allocated_fen == 15_000 and over.prepaid_fen == 5_000
        assert prepaid_of(home.pk) == 5_000
        assert ledger.balance_fen(Account.RECEIVABLE, home_id=home.pk) == 0
        assert ledger.balance_fen(Account.CASH) == 15_000 and ledger.balance_fen(Account.BANK) == 20_000
        apr = issue_bill(home, 3_000, dt.date(2026, 4, 1))
        assert payments.apply_prepaid(home=home, actor=clerk) == 3_000
        apr.refresh_from_db()
        assert apr.status == "paid" and prepaid_of(home.pk) == 2_000
        _ledger_ok(world)


def test_counter_payment_refusals(world: World, home) -> None:
    clerk = world.user("finance")
    with _scope(world):
        for kwargs, field in [
            ({"amount_fen": 0, "method": "cash"}, "amount_fen"),
            ({"amount_fen": 100, "method": "cheque"}, "method"),
            ({"amount_fen": 100, "method": "transfer"}, "reference"),
            ({"amount_fen": 1.5, "method": "cash"}, "amount_fen"),
        ]:
            with pytest.raises(DomainError) as refused:
                payments.take_counter_payment(home=home, actor=clerk, **kwargs)
            assert refused.value.field == field
        assert PaymentOrder.objects.count() == 0


def test_refund_needs_a_second_person_and_reverses_exactly(world: World, home) -> None:
    clerk, manager = world.user("finance"), world.user("manager_x")
    with _scope(world):
        jan, feb = issue_bill(home, 10_000, JAN), issue_bill(home, 10_000, FEB)
        order = payments.take_counter_payment(home=home, amount_fen=25_000, method="cash", actor=clerk)
        assert order.prepaid_fen == 5_000
        refund = refunds.request_refund(order=order, amount_fen=8_000, reason="paid twice", actor=clerk)
        with pytest.raises(PermissionDenied):
            refunds.approve_refund(refund, actor=clerk)
        with pytest.raises(DomainError):
            refunds.request_refund(order=order, amount_fen=17_001, reason="too much", actor=clerk)
        refunds.approve_refund(refund, actor=manager)
        refund.refresh_from_db()
        assert refund.status == "approved" and refund.decided_by == manager
        # Prepaid first (5,000), then the newest bill (3,000 of February).
        assert refund.lines == [
            {"kind": "prepaid", "amount_fen": 5_000},
            {"kind": "bill", "bill_id": feb.pk, "allocation_id": refund.lines[1]["allocation_id"], "amount_fen": 3_000},
        ]
        jan.refresh_from_db()
        feb.refresh_from_db()
        assert (jan.paid_fen, feb.paid_fen, feb.status) == (10_000, 7_000, "partial")
        assert prepaid_of(home.pk) == 0
        assert ledger.balance_fen(Account.RECEIVABLE, home_id=home.pk) == 3_000
        # Approved, not yet paid out: the cash is still in the drawer and the payer is owed 8,000.
        assert ledger.balance_fen(Account.CASH) == 25_000
        assert ledger.balance_fen(Account.REFUNDS_PAYABLE) == -8_000
        order.refresh_from_db()
        assert order.refunded_fen == 8_000
        with pytest.raises(Conflict):
            refunds.approve_refund(refund, actor=world.user("manager_x"))
        _ledger_ok(world)
        refund_payouts.record_counter_payout(refund, method="cash", actor=clerk)
        assert ledger.balance_fen(Account.CASH) == 17_000
        assert ledger.balance_fen(Account.REFUNDS_PAYABLE) == 0
        _ledger_ok(world)


def test_online_order_refuses_paid_or_foreign_bills(world: World, home) -> None:
    with _scope(world):
        bill = issue_bill(home, 100, JAN)
        other = issue_bill(world.a.homes[1], 100, JAN)
        with pytest.raises(Conflict):
            _order(world, home, [other], method="sandbox")
        payments.take_counter_payment(home=home, amount_fen=100, method="cash", actor=world.user("finance"))
        with pytest.raises(Conflict):
            _order(world, home, [bill], method="sandbox")


def test_refund_rejection_by_another_person(world: World, home) -> None:
    with _scope(world):
        issue_bill(home, 1_000, JAN)
        order = payments.take_counter_payment(home=home, amount_fen=1_000, method="cash", actor=world.user("finance"))
        refund = refunds.request_refund(order=order, amount_fen=1_000, reason="x", actor=world.user("finance"))
        refunds.reject_refund(refund, reason="no", actor=world.user("manager_x"))
        assert Refund.objects.get().status == "rejected"
        order.refresh_from_db()
        assert order.refunded_fen == 0


def test_verify_ledger_checks_that_every_payment_is_posted(world: World, home) -> None:
    with _scope(world):
        issue_bill(home, 1_000, JAN)
        payments.take_counter_payment(home=home, amount_fen=1_500, method="cash", actor=world.user("finance"))
        assert ledger.verify_ledger(world.a.community.pk) == []
        PaymentOrder.objects.create(
            community=world.a.community, home=home, trade_no="PFORGED", method="cash", amount_fen=999, status="paid"
        )
        problems = ledger.verify_ledger(world.a.community.pk)
        assert any("PFORGED" in problem for problem in problems)


def test_stale_checkouts_close_and_a_late_success_is_held(world: World, home) -> None:
    from anju.billing.payments.tasks import STALE_AFTER, close_stale_orders

    platform = WechatPlatform()
    with _scope(world), override_provider(platform.provider()):
        bill = issue_bill(home, 500, JAN)
        order = _order(world, home, [bill])
        fresh = _order(world, world.a.homes[1], [issue_bill(world.a.homes[1], 700, JAN)])
        PaymentOrder.objects.filter(pk=order.pk).update(created_at=order.created_at - STALE_AFTER)
        assert close_stale_orders() == 1
        order.refresh_from_db()
        fresh.refresh_from_db()
        assert (order.status, fresh.status) == ("closed", "pending")
        callbacks.receive_callback("wechat", *platform.callback(order.trade_no, 500))
        raw = RawCallback.objects.get()
        assert (raw.outcome, raw.reason) == ("held", "order_closed")
        bill.refresh_from_db()
        assert bill.paid_fen == 0
