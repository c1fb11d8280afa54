"""The pages and API operations, driven as the personas use them."""

from __future__ import annotations

import datetime as dt
import json

from django.test import Client
from django.utils import timezone

from anju.billing.models import Bill
from anju.billing.payments.models import PaymentOrder, RawCallback, Refund, Statement
from anju.billing.payments.providers import override_provider
from anju.core.tenancy import community_scope

from ..personas import World
from .fakes import WechatPlatform
from .helpers import issue_bill


def _client(world: World, persona: str) -> Client:
    client = Client()
    client.force_login(world.user(persona))
    return client


def test_resident_pays_with_the_sandbox_and_gets_a_receipt(world: World) -> None:
    home = world.a.homes[0]
    with community_scope(world.a.community.pk):
        jan, feb = issue_bill(home, 26_550, dt.date(2026, 1, 1)), issue_bill(home, 10_000, dt.date(2026, 2, 1))
    client = _client(world, "resident_a")
    page = client.get("/portal/payments/bills/")
    assert page.status_code == 200 and "265.50" in page.content.decode() and "365.50" in page.content.decode()
    response = client.post("/portal/payments/bills/", {"home": home.pk, "bill": [jan.pk], "method": "sandbox"})
    assert response.status_code == 302 and "/portal/payments/sandbox/" in response["Location"]
    cashier = response["Location"]
    assert client.get(cashier).status_code == 200
    done = client.post(cashier, {"decision": "pay"})
    assert done.status_code == 302
    with community_scope(world.a.community.pk):
        order = PaymentOrder.objects.get()
        assert order.status == "paid" and order.amount_fen == 26_550
        assert RawCallback.objects.get().outcome == "applied"
        assert Bill.objects.get(pk=jan.pk).status == "paid" and Bill.objects.get(pk=feb.pk).status == "unpaid"
    inbox = client.get("/api/v1/notifications").json()
    assert any("265.50" in item["title"] for item in inbox["items"]), inbox
    result = client.get(done["Location"])
    assert 'data-status="paid"' in result.content.decode() and "data-receipt" in result.content.decode()
    # Another resident cannot see or drive this order.
    other = _client(world, "resident_b")
    assert other.get(done["Location"]).status_code == 404
    assert other.post(cashier, {"decision": "pay"}).status_code == 404


def test_paying_nothing_or_a_foreign_bill_is_refused_in_chinese(world: World) -> None:
    with community_scope(world.a.community.pk):
        foreign = issue_bill(world.a.homes[1], 500, dt.date(2026, 1, 1))
    client = _client(world, "resident_a")
    empty = client.post("/portal/payments/bills/", {"home": world.a.homes[0].pk, "method": "sandbox"})
    assert empty.status_code == 400 and "请至少选择一张账单" in empty.content.decode()
    smuggled = client.post(
        "/portal/payments/bills/", {"home": world.a.homes[0].pk, "bill": [foreign.pk], "method": "sandbox"}
    )
    assert smuggled.status_code == 400
    with community_scope(world.a.community.pk):
        assert PaymentOrder.objects.count() == 0


def test_the_http_hook_applies_a_signed_wechat_notification(world: World) -> None:
    platform = WechatPlatform()
    home = world.a.homes[0]
    with community_scope(world.a.community.pk), override_provider(platform.provider()):
        bill = issue_bill(home, 9_900, dt.date(2026, 1, 1))
        from anju.billing.payments.services import payments

        order = payments.create_online_order(
            home=home, bill_ids=[bill.pk], method="wechat", payer=world.user("resident_a"), actor=None
        )
    headers, body = platform.callback(order.trade_no, 9_900)
    meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items() if k != "Content-Type"}
    with override_provider(platform.provider()):
        ok = Client().post("/hooks/payments/wechat/", data=body, content_type="application/json", **meta)
        bad = Client().post("/hooks/payments/wechat/", data=body + b" ", content_type="application/json", **meta)
    assert ok.status_code == 204
    assert bad.status_code == 403 and json.loads(bad.content)["code"] == "FAIL"
    with community_scope(world.a.community.pk):
        order.refresh_from_db()
        assert order.status == "paid"


def test_counter_refund_and_approval_through_the_console(world: World) -> None:
    home = world.a.homes[0]
    cid = world.a.community.pk
    with community_scope(cid):
        issue_bill(home, 10_000, dt.date(2026, 1, 1))
    clerk = _client(world, "finance")
    bad = clerk.post(f"/console/c/{cid}/payments/counter/", {"home": home.label, "amount": "1.005", "method": "cash"})
    assert bad.status_code == 400 and "最多两位小数" in bad.content.decode()
    response = clerk.post(
        f"/console/c/{cid}/payments/counter/", {"home": home.label, "amount": "120.00", "method": "cash"}
    )
    assert response.status_code == 302
    with community_scope(cid):
        order = PaymentOrder.objects.get()
    assert order.allocated_fen == 10_000 and order.prepaid_fen == 2_000
    clerk.post(f"/console/c/{cid}/payments/orders/{order.pk}/", {"amount": "20", "reason": "多交"})
    with community_scope(cid):
        refund = Refund.objects.get()
    # The requester cannot approve (no permission as a clerk; the manager can).
    assert (
        clerk.post(f"/console/c/{cid}/payments/refunds/", {"refund": refund.pk, "decision": "approve"}).status_code
        == 403
    )
    manager = _client(world, "manager_x")
    manager.post(f"/console/c/{cid}/payments/refunds/", {"refund": refund.pk, "decision": "approve"})
    with community_scope(cid):
        refund.refresh_from_db()
        assert refund.status == "approved" and refund.lines == [{"kind": "prepaid", "amount_fen": 2_000}]
    # Publishing and verifying the accounts from the console.
    today = timezone.localdate()
    clerk.post(
        f"/console/c/{cid}/payments/expenses/",
        {
            "action": "expense",
            "category": "cleaning",
            "amount": "50",
            "spent_on": today.isoformat(),
            "description": "保洁",
        },
    )
    published = clerk.post(
        f"/console/c/{cid}/payments/statements/", {"period": "month", "year": today.year, "number": today.month}
    )
    assert published.status_code == 302
    with community_scope(cid):
        statement = Statement.objects.get()
    assert statement.figures["expenses"] == {"cleaning": 5_000}
    verified = clerk.post(published["Location"])
    assert 'data-verified="yes"' in verified.content.decode()
    pdf = clerk.get(published["Location"] + "?format=pdf")
    assert pdf["Content-Type"] == "application/pdf"


def test_resident_sees_and_verifies_the_statement_and_the_home_account(world: World) -> None:
    cid = world.a.community.pk
    home = world.a.homes[0]
    with community_scope(cid):
        issue_bill(home, 10_000, dt.date(2026, 1, 1))
    clerk = _client(world, "finance")
    today = timezone.localdate()
    clerk.post(f"/console/c/{cid}/payments/statements/", {"period": "month", "year": today.year, "number": today.month})
    with community_scope(cid):
        statement = Statement.objects.get()
    resident = _client(world, "resident_a")
    assert str(statement.pk) in resident.get("/portal/payments/statements/").content.decode()
    page = resident.post(f"/portal/payments/statements/{statement.pk}/")
    assert 'data-verified="yes"' in page.content.decode() and "<svg" in page.content.decode()
    assert resident.get(f"/portal/payments/statements/{statement.pk}/pdf/")["Content-Type"] == "application/pdf"
    account = resident.get(f"/portal/payments/homes/{home.pk}/statement/")
    assert "data-owing>¥100.00" in account.content.decode()
    assert _client(world, "resident_b").get(f"/portal/payments/statements/{statement.pk}/").status_code == 404


def test_api_counter_payment_refund_and_statement(world: World) -> None:
    cid = world.a.community.pk
    home = world.a.homes[0]
    with community_scope(cid):
        issue_bill(home, 10_000, dt.date(2026, 1, 1))
    clerk = _client(world, "finance")
    created = clerk.post(
        f"/api/v1/communities/{cid}/payments/counter",
        data={"home_id": home.pk, "amount_fen": 10_500, "method": "pos", "reference": "T1"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    payment = created.json()
    assert payment["allocated_fen"] == 10_000 and payment["prepaid_fen"] == 500 and payment["receipt_number"]
    refund = clerk.post(
        f"/api/v1/communities/{cid}/refunds",
        data={"payment_id": payment["id"], "amount_fen": 500, "reason": "overpaid"},
        content_type="application/json",
    )
    assert refund.status_code == 201
    assert clerk.post(f"/api/v1/communities/{cid}/refunds/{refund.json()['id']}/approve").status_code == 403
    approved = _client(world, "manager_x").post(f"/api/v1/communities/{cid}/refunds/{refund.json()['id']}/approve")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    too_much = clerk.post(
        f"/api/v1/communities/{cid}/refunds",
        data={"payment_id": payment["id"], "amount_fen": 10_001, "reason": "x"},
        content_type="application/json",
    )
    assert too_much.status_code == 400 and too_much.json()["code"] == "invalid"
    today = timezone.localdate()
    statement = clerk.post(
        f"/api/v1/communities/{cid}/statements",
        data={"period": "month", "year": today.year, "number": today.month},
        content_type="application/json",
    )
    assert statement.status_code == 201
    verify = clerk.get(f"/api/v1/communities/{cid}/statements/{statement.json()['id']}/verify")
    assert verify.json()["ok"] is True
    mine = _client(world, "resident_a").get("/api/v1/me/payments")
    assert mine.status_code == 200 and mine.json()["count"] == 1
    checkout = _client(world, "resident_a").post(
        "/api/v1/me/payments",
        data={"home_id": world.a.homes[1].pk, "bill_ids": [1], "method": "sandbox"},
        content_type="application/json",
    )
    assert checkout.status_code == 404


def test_resident_paying_with_wechat_sees_the_qr_code(world: World) -> None:
    import segno  # noqa: F401 - the page renders the code_url as an inline SVG QR code

    platform = WechatPlatform()
    home = world.a.homes[0]
    with community_scope(world.a.community.pk):
        bill = issue_bill(home, 26_550, dt.date(2026, 1, 1))
    client = _client(world, "resident_a")
    with override_provider(platform.provider()):
        response = client.post("/portal/payments/bills/", {"home": home.pk, "bill": [bill.pk], "method": "wechat"})
        assert response.status_code == 302 and "/portal/payments/orders/" in response["Location"]
        page = client.get(response["Location"]).content.decode()
    assert "<svg" in page and 'data-status="pending"' in page
    _method, _url, _headers, sent = platform.requests[0]
    assert json.loads(sent)["amount"]["total"] == 26_550
    assert json.loads(sent)["notify_url"].endswith("/hooks/payments/wechat/")
