"""Refunds paid back through the payment provider, end to end: the signed requests a local fake
WeChat Pay / Alipay server checks, success, refusal, no answer and retry (never refunding twice),
refund notifications stored, verified and applied once, counter pay-outs, and the ledger through it
all (refunds payable holds what is owed until the money has really left)."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterator
from urllib.parse import parse_qsl

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from anju.billing import ledger
from anju.billing.models import Account, LedgerEntry
from anju.billing.payments.models import PaymentOrder, RawCallback, Refund
from anju.billing.payments.providers import RefundOutcome, RefundRequest, get_provider
from anju.billing.payments.providers.wechat import request_message, rsa_verify
from anju.billing.payments.services import payments, refund_payouts, refunds
from anju.billing.payments.verifiers import verify_payments_posted
from anju.core.errors import Conflict, DomainError
from anju.core.tenancy import community_scope

from ..personas import World
from .fake_servers import FakeAlipayRefunds, FakeWechatRefunds
from .fakes import WechatPlatform, rsa_key
from .helpers import issue_bill

JAN = dt.date(2026, 1, 1)
NOTIFY_URL = "https://wuye.example.cn/hooks/payments/wechat/refunds/"
HOOK = "/hooks/payments/wechat/refunds/"


@pytest.fixture
def wechat(settings) -> Iterator[FakeWechatRefunds]:
    server = FakeWechatRefunds()
    with server.running() as base:
        settings.ANJU_PAYMENTS = {"sandbox": {}, "wechat": server.settings(base, refund_notify_url=NOTIFY_URL)}
        yield server


@pytest.fixture
def alipay(settings) -> Iterator[FakeAlipayRefunds]:
    server = FakeAlipayRefunds()
    with server.running() as base:
        settings.ANJU_PAYMENTS = {"sandbox": {}, "alipay": server.settings(base)}
        yield server


@pytest.fixture
def scope(world: World) -> Iterator[None]:
    with community_scope(world.a.community.pk):
        yield


def _paid_online(world: World, method: str, amount: int = 30_000) -> PaymentOrder:
    home = world.a.homes[0]
    bill = issue_bill(home, amount, JAN)
    order = payments.create_online_order(
        home=home, bill_ids=[bill.pk], method=method, payer=world.user("resident_a"), actor=None
    )
    payments.settle_order(order, paid_at=timezone.now(), provider_txn_id="4200000000TXN", actor=None)
    order.refresh_from_db()
    return order


def _approve(world: World, order: PaymentOrder, amount: int, capture) -> Refund:
    """Request and approve; the submission runs after commit, as it does in production."""
    refund = refunds.request_refund(order=order, amount_fen=amount, reason="多收", actor=world.user("finance"))
    with capture(execute=True):
        refunds.approve_refund(refund, actor=world.user("manager_x"))
    refund.refresh_from_db()
    return refund


def _balance(account: str) -> int:
    return ledger.balance_fen(account)


def _payouts(refund: Refund) -> int:
    return LedgerEntry.objects.filter(key=f"refund-paid:{refund.pk}").count()


def _ledger_ok(world: World) -> None:
    assert verify_payments_posted(world.a.community.pk) == []
    assert ledger.verify_ledger(world.a.community.pk) == []


# --- WeChat Pay ------------------------------------------------------------------------------------


def test_wechat_refund_request_is_signed_and_paid_back(
    world: World, scope: None, wechat: FakeWechatRefunds, django_capture_on_commit_callbacks
) -> None:
    order = _paid_online(world, "wechat")
    refund = _approve(world, order, 12_000, django_capture_on_commit_callbacks)
    assert refund.status == "succeeded" and refund.out_refund_no == f"{order.trade_no}R{refund.pk}"
    assert refund.payout_method == "wechat" and refund.payout_reference.startswith("50300")
    # The request as it went over the wire: exact body, signed like every WeChat Pay v3 request.
    [sent] = wechat.requests
    assert sent["path"] == "/v3/refund/domestic/refunds"
    assert json.loads(sent["body"]) == {
        "out_trade_no": order.trade_no,
        "out_refund_no": refund.out_refund_no,
        "amount": {"refund": 12_000, "total": 30_000, "currency": "CNY"},
        "reason": "多收",
        "notify_url": NOTIFY_URL,
    }
    assert sent["headers"]["Content-Type"] == "application/json"
    scheme, params = sent["headers"]["Authorization"].split(" ", 1)
    fields = {k: v.strip('"') for k, v in (p.split("=", 1) for p in params.split(","))}
    assert scheme == "WECHATPAY2-SHA256-RSA2048" and fields["mchid"] == WechatPlatform.MCHID
    assert fields["serial_no"] == WechatPlatform.MERCHANT_SERIAL
    signed = request_message("POST", sent["path"], fields["timestamp"], fields["nonce_str"], sent["body"].decode())
    assert rsa_verify(rsa_key("wechat-merchant").public_key(), signed, fields["signature"])
    assert wechat.paid_out[refund.out_refund_no] == 12_000
    # The money left provider clearing; nothing is owed any more.
    assert _balance(Account.PROVIDER_CLEARING) == 30_000 - 12_000
    assert _balance(Account.REFUNDS_PAYABLE) == 0
    assert _payouts(refund) == 1
    _ledger_ok(world)


def test_refused_refund_keeps_the_money_owed_and_a_retry_pays_it_once(
    world: World, scope: None, wechat: FakeWechatRefunds, django_capture_on_commit_callbacks
) -> None:
    order = _paid_online(world, "wechat")
    wechat.mode = "refuse"
    refund = _approve(world, order, 12_000, django_capture_on_commit_callbacks)
    assert refund.status == "failed" and refund.failure_reason == "NOT_ENOUGH: 基本账户余额不足"
    # Approved (the bill owes again) but not paid: the money is still in clearing, the debt on payable.
    assert _balance(Account.PROVIDER_CLEARING) == 30_000
    assert _balance(Account.REFUNDS_PAYABLE) == -12_000
    _ledger_ok(world)
    wechat.mode = "success"
    refund = refund_payouts.submit_refund(refund, actor=world.user("finance"))
    assert refund.status == "succeeded" and refund.attempts == 2
    assert {json.loads(r["body"])["out_refund_no"] for r in wechat.requests} == {refund.out_refund_no}
    assert wechat.paid_out[refund.out_refund_no] == 12_000
    assert _balance(Account.PROVIDER_CLEARING) == 18_000 and _balance(Account.REFUNDS_PAYABLE) == 0
    with pytest.raises(Conflict):
        refund_payouts.submit_refund(refund, actor=world.user("finance"))
    _ledger_ok(world)


def test_a_retry_after_a_timeout_does_not_refund_twice(
    world: World, scope: None, wechat: FakeWechatRefunds, settings, django_capture_on_commit_callbacks
) -> None:
    settings.ANJU_PAYMENTS["wechat"]["timeout_seconds"] = 0.5
    order = _paid_online(world, "wechat")
    wechat.delay = 1.5  # WeChat makes the refund, but its answer never reaches us in time
    refund = _approve(world, order, 12_000, django_capture_on_commit_callbacks)
    assert refund.status == "submitted" and refund.failure_reason.startswith("no answer")
    assert wechat.paid_out[refund.out_refund_no] == 12_000  # the money did move
    assert _payouts(refund) == 0 and _balance(Account.REFUNDS_PAYABLE) == -12_000
    # A counter pay-out now could pay the payer twice: refused while the provider may have paid.
    with pytest.raises(Conflict):
        refund_payouts.record_counter_payout(refund, method="cash", actor=world.user("finance"))
    wechat.delay = 0
    refund = refund_payouts.submit_refund(refund, actor=world.user("finance"))
    assert refund.status == "succeeded"
    assert len(wechat.requests) == 2
    assert wechat.paid_out[refund.out_refund_no] == 12_000  # asked twice, refunded once
    assert _payouts(refund) == 1 and _balance(Account.PROVIDER_CLEARING) == 18_000
    _ledger_ok(world)


def test_busy_provider_leaves_the_refund_submitted(
    world: World, scope: None, wechat: FakeWechatRefunds, django_capture_on_commit_callbacks
) -> None:
    order = _paid_online(world, "wechat")
    wechat.mode = "busy"
    refund = _approve(world, order, 5_000, django_capture_on_commit_callbacks)
    assert refund.status == "submitted" and "500" in refund.failure_reason
    _ledger_ok(world)


def _processing(world: World, wechat: FakeWechatRefunds, capture, amount: int = 12_000) -> tuple[PaymentOrder, Refund]:
    order = _paid_online(world, "wechat")
    wechat.mode = "processing"
    refund = _approve(world, order, amount, capture)
    assert refund.status == "submitted" and refund.failure_reason == ""
    return order, refund


def test_refund_notification_is_stored_verified_and_applied_once(
    world: World, wechat: FakeWechatRefunds, django_capture_on_commit_callbacks
) -> None:
    with community_scope(world.a.community.pk):
        order, refund = _processing(world, wechat, django_capture_on_commit_callbacks)
    headers, body = wechat.notification(refund.out_refund_no or "", order.trade_no, 12_000)
    client = Client()
    first = client.post(HOOK, body, content_type="application/json", **_meta(headers))
    again = client.post(HOOK, body, content_type="application/json", **_meta(headers))
    assert (first.status_code, again.status_code) == (204, 204)
    outcomes = list(RawCallback.objects.filter(kind="refund").order_by("id").values_list("outcome", flat=True))
    assert outcomes == ["applied", "duplicate"]
    with community_scope(world.a.community.pk):
        refund.refresh_from_db()
        assert refund.status == "succeeded" and _payouts(refund) == 1
        assert _balance(Account.PROVIDER_CLEARING) == 18_000
        _ledger_ok(world)


def _meta(headers: dict[str, str]) -> dict[str, str]:
    return {"HTTP_" + key.upper().replace("-", "_"): value for key, value in headers.items() if key != "Content-Type"}


def test_refund_notifications_that_do_not_verify_or_match_are_refused_or_held(
    world: World, wechat: FakeWechatRefunds, django_capture_on_commit_callbacks
) -> None:
    with community_scope(world.a.community.pk):
        order, refund = _processing(world, wechat, django_capture_on_commit_callbacks)
    number = refund.out_refund_no or ""
    client = Client()
    wrong_key = wechat.notification(number, order.trade_no, 12_000, api_v3_key=b"X" * 32)
    forged = FakeWechatRefunds(WechatPlatform(platform_key="someone-else"))
    forged_signature = forged.notification(number, order.trade_no, 12_000)
    changed_amount = wechat.notification(number, order.trade_no, 12_001)
    unknown = wechat.notification(order.trade_no + "R999999", order.trade_no, 12_000)
    answers = [
        client.post(HOOK, body, content_type="application/json", **_meta(headers)).status_code
        for headers, body in (wrong_key, forged_signature, changed_amount, unknown)
    ]
    assert answers == [403, 403, 204, 204]
    rows = list(RawCallback.objects.filter(kind="refund").order_by("id").values_list("outcome", "reason"))
    assert rows == [
        ("refused", "decryption_failed"),
        ("refused", "bad_signature"),
        ("held", "amount_mismatch"),
        ("held", "unknown_refund"),
    ]
    held = RawCallback.objects.get(reason="amount_mismatch")
    assert held.refund_id == refund.pk and held.community_id == world.a.community.pk
    with community_scope(world.a.community.pk):
        refund.refresh_from_db()
        assert refund.status == "submitted" and _payouts(refund) == 0
        _ledger_ok(world)


def test_abnormal_refund_fails_is_paid_at_the_counter_and_a_late_success_is_held(
    world: World, wechat: FakeWechatRefunds, django_capture_on_commit_callbacks
) -> None:
    with community_scope(world.a.community.pk):
        order, refund = _processing(world, wechat, django_capture_on_commit_callbacks)
    number = refund.out_refund_no or ""
    client = Client()
    headers, body = wechat.notification(number, order.trade_no, 12_000, status="ABNORMAL")
    assert client.post(HOOK, body, content_type="application/json", **_meta(headers)).status_code == 204
    with community_scope(world.a.community.pk):
        refund.refresh_from_db()
        assert refund.status == "failed" and refund.failure_reason == "ABNORMAL"
        with pytest.raises(DomainError) as missing:
            refund_payouts.record_counter_payout(refund, method="transfer", actor=world.user("finance"))
        assert missing.value.field == "reference"
        refund_payouts.record_counter_payout(
            refund, method="transfer", reference="ICBC-20261124-01", actor=world.user("finance")
        )
        refund.refresh_from_db()
        assert refund.status == "succeeded" and refund.payout_method == "transfer"
        assert refund.paid_out_by == world.user("finance")
        assert _balance(Account.BANK) == -12_000 and _balance(Account.PROVIDER_CLEARING) == 30_000
        _ledger_ok(world)
    headers, body = wechat.notification(number, order.trade_no, 12_000)
    assert client.post(HOOK, body, content_type="application/json", **_meta(headers)).status_code == 204
    late = RawCallback.objects.filter(kind="refund").latest("id")
    assert (late.outcome, late.reason) == ("held", "already_paid_out")
    with community_scope(world.a.community.pk):
        assert _payouts(refund) == 1
        _ledger_ok(world)


# --- Alipay ----------------------------------------------------------------------------------------


def test_alipay_refund_is_signed_verified_and_idempotent(
    world: World, scope: None, alipay: FakeAlipayRefunds, django_capture_on_commit_callbacks
) -> None:
    order = _paid_online(world, "alipay")
    refund = _approve(world, order, 12_030, django_capture_on_commit_callbacks)
    assert refund.status == "succeeded" and refund.payout_method == "alipay"
    [sent] = alipay.requests
    assert sent["headers"]["Content-Type"].startswith("application/x-www-form-urlencoded")
    params = dict(parse_qsl(sent["body"].decode()))
    assert params["method"] == "alipay.trade.refund" and params["sign_type"] == "RSA2"
    assert json.loads(params["biz_content"]) == {
        "out_trade_no": order.trade_no,
        "refund_amount": "120.30",
        "out_request_no": refund.out_refund_no,
        "refund_reason": "多收",
    }
    assert alipay.paid_out[refund.out_refund_no or ""] == 12_030
    # Asking Alipay again with the same out_request_no answers the same refund: no money moves.
    provider = get_provider("alipay")
    assert provider is not None
    again = provider.refund(
        RefundRequest(
            trade_no=order.trade_no, out_refund_no=refund.out_refund_no or "", amount_fen=12_030, total_fen=30_000
        )
    )
    assert again.outcome == RefundOutcome.SUCCEEDED and again.raw["fund_change"] == "N"
    assert alipay.paid_out[refund.out_refund_no or ""] == 12_030
    assert _balance(Account.PROVIDER_CLEARING) == 30_000 - 12_030
    _ledger_ok(world)


def test_alipay_refusal_and_unverifiable_answer_then_retry(
    world: World, scope: None, alipay: FakeAlipayRefunds, django_capture_on_commit_callbacks
) -> None:
    order = _paid_online(world, "alipay")
    alipay.mode = "refuse"
    refund = _approve(world, order, 5_000, django_capture_on_commit_callbacks)
    assert refund.status == "failed" and refund.failure_reason == "ACQ.SELLER_BALANCE_NOT_ENOUGH: 卖家余额不足"
    alipay.mode = "success"
    alipay.sign_answers_with = rsa_key("not-alipay")  # an answer we cannot trust: outcome unknown
    refund = refund_payouts.submit_refund(refund, actor=world.user("finance"))
    assert refund.status == "submitted" and "did not verify" in refund.failure_reason
    assert _payouts(refund) == 0
    alipay.sign_answers_with = alipay.platform.alipay_key
    refund = refund_payouts.submit_refund(refund, actor=world.user("finance"))
    assert refund.status == "succeeded" and alipay.paid_out[refund.out_refund_no or ""] == 5_000
    assert _payouts(refund) == 1
    _ledger_ok(world)


# --- sandbox and counter ---------------------------------------------------------------------------


def test_sandbox_refund_succeeds_at_once(world: World, scope: None, django_capture_on_commit_callbacks) -> None:
    order = _paid_online(world, "sandbox")
    refund = _approve(world, order, 30_000, django_capture_on_commit_callbacks)
    assert refund.status == "succeeded" and refund.payout_reference.startswith("SBXR")
    assert _balance(Account.PROVIDER_CLEARING) == 0 and _balance(Account.REFUNDS_PAYABLE) == 0
    _ledger_ok(world)


def test_counter_refund_is_paid_out_by_the_clerk(world: World, scope: None, django_capture_on_commit_callbacks) -> None:
    home = world.a.homes[0]
    issue_bill(home, 10_000, JAN)
    order = payments.take_counter_payment(home=home, amount_fen=10_000, method="cash", actor=world.user("finance"))
    refund = _approve(world, order, 4_000, django_capture_on_commit_callbacks)
    assert refund.status == "approved" and refund.out_refund_no is None
    with pytest.raises(Conflict):
        refund_payouts.submit_refund(refund, actor=world.user("finance"))
    with pytest.raises(DomainError):
        refund_payouts.record_counter_payout(refund, method="wechat", actor=world.user("finance"))
    assert _balance(Account.CASH) == 10_000
    refund_payouts.record_counter_payout(refund, method="cash", actor=world.user("finance"))
    assert _balance(Account.CASH) == 6_000 and _balance(Account.REFUNDS_PAYABLE) == 0
    with pytest.raises(Conflict):
        refund_payouts.record_counter_payout(refund, method="cash", actor=world.user("finance"))
    _ledger_ok(world)
    # The command exits non-zero (CommandError) on any problem.
    call_command("verify_ledger", "--community", world.a.community.code, stdout=io.StringIO())


def test_verify_ledger_notices_a_refund_marked_paid_without_its_payout(
    world: World, scope: None, django_capture_on_commit_callbacks
) -> None:
    home = world.a.homes[0]
    issue_bill(home, 10_000, JAN)
    order = payments.take_counter_payment(home=home, amount_fen=10_000, method="cash", actor=world.user("finance"))
    refund = _approve(world, order, 4_000, django_capture_on_commit_callbacks)
    assert verify_payments_posted(world.a.community.pk) == []
    Refund.objects.filter(pk=refund.pk).update(status="succeeded")  # as a bad hand-edit would
    problems = verify_payments_posted(world.a.community.pk)
    assert any(f"refund {refund.pk} (succeeded) took 0 fen" in p for p in problems)
    assert any("refunds payable is 4000 fen" in p for p in problems)


def test_unsent_approved_refunds_are_submitted_by_the_periodic_job(world: World, scope: None) -> None:
    from anju.billing.payments.tasks import submit_unsent_refunds

    order = _paid_online(world, "sandbox")
    refund = refunds.request_refund(order=order, amount_fen=1_000, reason="x", actor=world.user("finance"))
    refunds.approve_refund(refund, actor=world.user("manager_x"))  # after-commit submission never ran
    Refund.objects.filter(pk=refund.pk).update(decided_at=timezone.now() - dt.timedelta(minutes=6))
    assert submit_unsent_refunds() == 1
    refund.refresh_from_db()
    assert refund.status == "succeeded"
    assert submit_unsent_refunds() == 0
    _ledger_ok(world)
