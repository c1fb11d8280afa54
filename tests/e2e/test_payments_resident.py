"""A resident on a phone sees a bill, pays it with the sandbox provider, downloads the receipt, then
opens the published accounts and verifies them against the ledger."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from anju.billing.payments.services import accounts
from anju.core.tenancy import community_scope
from tests.payments.helpers import issue_bill
from tests.personas import PASSWORD, build_world


@pytest.fixture
def e2e_world(transactional_db):
    world = build_world()
    with community_scope(world.a.community.pk):
        issue_bill(world.a.homes[0], 26_550, dt.date(2026, 10, 1))
    return world


def _log_in(page, live_server) -> None:
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "13900000001")
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit], form input[type=submit]").first.click()
    page.wait_for_url("**/portal/**")


def test_resident_pays_a_bill_and_downloads_the_receipt(page, live_server, e2e_world):
    _log_in(page, live_server)
    page.get_by_role("link", name="缴费").first.click()
    page.wait_for_url("**/portal/payments/bills/")
    assert "265.50" in page.inner_text("main")
    page.get_by_role("button", name="立即缴费").click()
    page.wait_for_url("**/portal/payments/sandbox/**")
    assert "265.50" in page.inner_text("main")
    page.get_by_role("button", name="确认支付").click()
    page.wait_for_url("**/portal/payments/orders/**")
    assert page.locator("[data-status=paid]").count() == 1
    with page.expect_download() as download_info:
        page.locator("[data-receipt]").click()
    download = download_info.value
    path = download.path()
    assert download.suggested_filename.endswith(".pdf")
    with open(path, "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    page.goto(f"{live_server.url}/portal/payments/bills/")
    assert "没有待缴费用" in page.inner_text("main")


def test_resident_opens_the_published_statement_and_verifies_it(page, live_server, e2e_world):
    today = timezone.localdate()
    with community_scope(e2e_world.a.community.pk):
        statement = accounts.publish_statement(
            community=e2e_world.a.community,
            period="month",
            year=today.year,
            number=today.month,
            actor=e2e_world.user("finance"),
        )
    _log_in(page, live_server)
    page.get_by_role("link", name="账目公示").first.click()
    page.wait_for_url("**/portal/payments/statements/")
    page.locator(f"[data-statement='{statement.pk}']").click()
    page.wait_for_url(f"**/portal/payments/statements/{statement.pk}/")
    assert statement.ledger_hash in page.inner_text("main")
    assert page.locator("svg.chart").count() == 2
    page.get_by_role("button", name="与账本核验").click()
    page.wait_for_load_state()
    assert page.locator("[data-verified=yes]").count() == 1
