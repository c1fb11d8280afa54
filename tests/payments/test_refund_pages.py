"""Refund pay-outs on the screens and over the API: finance sees a refused refund with the provider's
reason and retries it, a clerk records a counter pay-out (with Chinese errors), the resident sees
the refund's state on their payment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.test import Client
from django.utils import timezone

from anju.billing.payments.models import Refund
from anju.billing.payments.services import payments, refunds
from anju.core.tenancy import community_scope

from ..personas import World
from .fake_servers import FakeWechatRefunds
from .helpers import issue_bill

JAN = dt.date(2026, 1, 1)


@pytest.fixture
def wechat(settings) -> Iterator[FakeWechatRefunds]:
    server = FakeWechatRefunds()
    with server.running() as base:
        settings.ANJU_PAYMENTS = {"sandbox": {}, "wechat": server.settings(base)}
        yield server


def _client(world: World, persona: str) -> Client:
    client = Client()
    client.force_login(world.user(persona))
    return client


def _refused_wechat_refund(world: World, wechat: FakeWechatRefunds, capture) -> Refund:
    home = world.a.homes[0]
    with community_scope(world.a.community.pk):
        bill = issue_bill(home, 30_000, JAN)
        order = payments.create_online_order(
            home=home, bill_ids=[bill.pk], method="wechat", payer=world.user("resident_a"), actor=None
        )
        payments.settle_order(order, paid_at=timezone.now(), provider_txn_id="T", actor=None)
        refund = refunds.request_refund(order=order, amount_fen=12_000, reason="多收", actor=world.user("finance"))
        wechat.mode = "refuse"
        with capture(execute=True):
            refunds.approve_refund(refund, actor=world.user("manager_x"))
        refund.refresh_from_db()
    assert refund.status == "failed"
    return refund


def test_finance_sees_the_refusal_and_retries_from_the_console(
    world: World, wechat: FakeWechatRefunds, django_capture_on_commit_callbacks
) -> None:
    refund = _refused_wechat_refund(world, wechat, django_capture_on_commit_callbacks)
    cid = world.a.community.pk
    url = f"/console/c/{cid}/payments/refunds/"
    finance = _client(world, "finance")
    page = finance.get(url).content.decode()
    assert 'data-status="failed"' in page and "NOT_ENOUGH: 基本账户余额不足" in page
    assert 'value="retry"' in page
    # The steward may look but not send money anywhere.
    assert _client(world, "steward").post(url, {"refund": refund.pk, "decision": "retry"}).status_code == 403
    wechat.mode = "success"
    assert finance.post(url, {"refund": refund.pk, "decision": "retry"}).status_code == 302
    with community_scope(cid):
        refund.refresh_from_db()
    assert refund.status == "succeeded" and wechat.paid_out[refund.out_refund_no or ""] == 12_000
    # The payer sees it refunded on the payment.
    portal = _client(world, "resident_a").get(f"/portal/payments/orders/{refund.order.trade_no}/").content.decode()
    assert 'data-refund-status="succeeded"' in portal and "120.00" in portal


def test_clerk_records_a_counter_payout_with_chinese_errors(world: World, django_capture_on_commit_callbacks) -> None:
    cid = world.a.community.pk
    home = world.a.homes[0]
    with community_scope(cid):
        issue_bill(home, 10_000, JAN)
        order = payments.take_counter_payment(home=home, amount_fen=10_000, method="cash", actor=world.user("finance"))
        refund = refunds.request_refund(order=order, amount_fen=3_000, reason="多收", actor=world.user("finance"))
        refunds.approve_refund(refund, actor=world.user("manager_x"))
    finance = _client(world, "finance")
    listing = finance.get(f"/console/c/{cid}/payments/refunds/").content.decode()
    assert f"/console/c/{cid}/payments/refunds/{refund.pk}/payout/" in listing
    url = f"/console/c/{cid}/payments/refunds/{refund.pk}/payout/"
    assert finance.get(url).status_code == 200
    missing = finance.post(url, {"method": "transfer", "reference": ""})
    assert missing.status_code == 400 and "请填写转账或刷卡参考号" in missing.content.decode()
    assert finance.post(url, {"method": "transfer", "reference": "ICBC-01"}).status_code == 302
    with community_scope(cid):
        refund.refresh_from_db()
    assert (refund.status, refund.payout_method, refund.payout_reference) == ("succeeded", "transfer", "ICBC-01")
    again = finance.post(url, {"method": "cash"})
    assert again.status_code == 400
    # Someone without the right to take payments cannot record one.
    assert _client(world, "steward").post(url, {"method": "cash"}).status_code == 403


def test_api_lists_retries_and_records_payouts(
    world: World, wechat: FakeWechatRefunds, django_capture_on_commit_callbacks
) -> None:
    refund = _refused_wechat_refund(world, wechat, django_capture_on_commit_callbacks)
    cid = world.a.community.pk
    finance = _client(world, "finance")
    failed = finance.get(f"/api/v1/communities/{cid}/refunds", {"status": "failed"}).json()
    assert [item["id"] for item in failed["items"]] == [refund.pk]
    assert failed["items"][0]["failure_reason"] == "NOT_ENOUGH: 基本账户余额不足"
    # A refused online refund may be paid at the counter instead...
    wrong = finance.post(
        f"/api/v1/communities/{cid}/refunds/{refund.pk}/payout",
        data={"method": "transfer"},
        content_type="application/json",
    )
    assert wrong.status_code == 400 and wrong.json()["code"] == "invalid"
    # ...or retried through WeChat Pay.
    wechat.mode = "success"
    retried = finance.post(f"/api/v1/communities/{cid}/refunds/{refund.pk}/retry")
    assert retried.status_code == 200, retried.content
    body = retried.json()
    assert body["status"] == "succeeded" and body["attempts"] == 2 and body["payout_method"] == "wechat"
    assert finance.post(f"/api/v1/communities/{cid}/refunds/{refund.pk}/retry").status_code == 409
    payout_url = f"/api/v1/communities/{cid}/refunds/{refund.pk}/payout"
    paid_out = finance.post(payout_url, data={"method": "cash"}, content_type="application/json")
    assert paid_out.status_code == 409
    mine = _client(world, "resident_a").get("/api/v1/me/payments").json()
    [payment] = [item for item in mine["items"] if item["id"] == refund.order_id]
    assert [(r["id"], r["status"], r["amount_fen"]) for r in payment["refunds"]] == [(refund.pk, "succeeded", 12_000)]
