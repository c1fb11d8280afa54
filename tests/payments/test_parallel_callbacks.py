"""Identical notifications arriving at once post exactly once (PostgreSQL, real threads): 100 payment
callbacks, and 40 refund notifications."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from anju.billing.models import Bill, LedgerEntry
from anju.billing.payments.models import Allocation, PaymentOrder, RawCallback, Receipt
from anju.billing.payments.providers import override_provider
from anju.billing.payments.services import callbacks, payments, refund_callbacks, refunds
from anju.billing.payments.verifiers import verify_payments_posted
from anju.core.tenancy import community_scope

from ..personas import World
from .fake_servers import FakeWechatRefunds
from .fakes import WechatPlatform
from .helpers import issue_bill

CALLBACKS = 100
CONNECTIONS = 16  # PostgreSQL allows 100 connections; other test runs share the server


@pytest.mark.django_db(transaction=True)
def test_one_hundred_identical_callbacks_in_parallel_post_once(world: World) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locking; the CI's PostgreSQL pass runs it")
    platform = WechatPlatform()
    home = world.a.homes[0]
    with community_scope(world.a.community.pk), override_provider(platform.provider()):
        jan, feb = issue_bill(home, 26_550, dt.date(2026, 1, 1)), issue_bill(home, 26_550, dt.date(2026, 2, 1))
        order = payments.create_online_order(
            home=home, bill_ids=[jan.pk, feb.pk], method="wechat", payer=world.user("resident_a"), actor=None
        )
    headers, body = platform.callback(order.trade_no, order.amount_fen)
    start = threading.Barrier(CALLBACKS)
    gate = threading.Semaphore(CONNECTIONS)
    answers: list[int] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            start.wait()
            with gate:
                try:
                    answers.append(callbacks.receive_callback("wechat", headers, body).status)
                finally:
                    connections.close_all()
        except BaseException as exc:  # reported below
            errors.append(exc)

    with override_provider(platform.provider()):
        threads = [threading.Thread(target=deliver) for _ in range(CALLBACKS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert not errors, errors[:3]
    assert len(answers) == CALLBACKS and set(answers) <= {200, 204}
    with community_scope(world.a.community.pk):
        outcomes = list(RawCallback.objects.values_list("outcome", flat=True))
        assert outcomes.count("applied") == 1 and outcomes.count("duplicate") == CALLBACKS - 1
        order.refresh_from_db()
        assert order.status == "paid" and order.allocated_fen == 53_100 and order.prepaid_fen == 0
        assert LedgerEntry.objects.filter(source_type="payment").count() == 1
        assert Allocation.objects.count() == 2 and Receipt.objects.count() == 1
        assert sorted(Bill.objects.values_list("paid_fen", flat=True)) == [26_550, 26_550]
        assert PaymentOrder.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_identical_refund_notifications_in_parallel_pay_out_once(world: World, settings) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locking; the CI's PostgreSQL pass runs it")
    server = FakeWechatRefunds()
    with server.running() as base:
        settings.ANJU_PAYMENTS = {"wechat": server.settings(base)}
        server.mode = "processing"
        home = world.a.homes[0]
        with community_scope(world.a.community.pk):
            bill = issue_bill(home, 30_000, dt.date(2026, 1, 1))
            order = payments.create_online_order(
                home=home, bill_ids=[bill.pk], method="wechat", payer=world.user("resident_a"), actor=None
            )
            payments.settle_order(order, paid_at=timezone.now(), provider_txn_id="T", actor=None)
            refund = refunds.request_refund(order=order, amount_fen=12_000, reason="x", actor=world.user("finance"))
            refunds.approve_refund(refund, actor=world.user("manager_x"))  # submitted after this commit
            refund.refresh_from_db()
            assert refund.status == "submitted"
        headers, body = server.notification(refund.out_refund_no or "", order.trade_no, 12_000)
    notices = 40
    start = threading.Barrier(notices)
    gate = threading.Semaphore(CONNECTIONS)
    answers: list[int] = []
    errors: list[BaseException] = []

    def deliver() -> None:
        try:
            start.wait()
            with gate:
                try:
                    answers.append(refund_callbacks.receive_refund_callback("wechat", headers, body).status)
                finally:
                    connections.close_all()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=deliver) for _ in range(notices)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors[:3]
    assert answers == [204] * notices
    outcomes = list(RawCallback.objects.filter(kind="refund").values_list("outcome", flat=True))
    assert outcomes.count("applied") == 1 and outcomes.count("duplicate") == notices - 1
    with community_scope(world.a.community.pk):
        refund.refresh_from_db()
        assert refund.status == "succeeded"
        assert LedgerEntry.objects.filter(key=f"refund-paid:{refund.pk}").count() == 1
        assert verify_payments_posted(world.a.community.pk) == []
