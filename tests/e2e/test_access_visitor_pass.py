"""A resident invites a visitor on a phone; the QR on the page decodes to a pass the guard desk accepts."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from anju.access.passes import verify_at_desk
from anju.access.tokens import decode
from anju.core.tenancy import community_scope
from tests.personas import PASSWORD, build_world


@pytest.fixture
def e2e_world(transactional_db):
    return build_world()


def _log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit], form input[type=submit]").first.click()
    page.wait_for_load_state()


def test_resident_invites_and_the_qr_decodes_to_a_pass_the_guard_desk_accepts(page, browser, live_server, e2e_world):
    community = e2e_world.a.community
    _log_in(page, live_server, "13900000001")
    page.goto(f"{live_server.url}/portal/access/visitors/")
    page.fill("input[name=visitor_name]", "王阿姨")
    page.fill("input[name=max_uses]", "2")
    page.locator("#invite-form button[type=submit]").click()
    page.wait_for_url("**/portal/access/visitors/*/")
    assert "王阿姨" in page.inner_text("main")

    # Decode the QR exactly as a scanner would: from the pixels on the screen.
    png = page.locator("[data-qr]").screenshot()
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1, "the QR code on the page could not be read"
    token = results[0].text
    claims, _body, _signature = decode(token)
    assert claims.community_id == community.pk and claims.max_uses == 2

    # The guard-desk verifier (signature with the community's published keys, window, uses) accepts it.
    with community_scope(community.pk):
        verdict = verify_at_desk(community.pk, token)
    assert verdict.allowed, verdict.reason
    assert verdict.visitor_pass is not None and verdict.visitor_pass.visitor_name == "王阿姨"

    # And so does the guard desk page, with the scanned text typed in; the guard lets the visitor in.
    guard_context = browser.new_context(locale="zh-CN", viewport={"width": 1024, "height": 768})
    guard = guard_context.new_page()
    try:
        _log_in(guard, live_server, "guard")
        guard.goto(f"{live_server.url}/console/c/{community.pk}/access/guard/")
        guard.fill("input[name=text]", token)
        guard.locator("#verify-form button[type=submit]").click()
        guard.wait_for_load_state()
        assert guard.locator("[data-verdict=ok]").count() == 1
        assert "王阿姨" in guard.inner_text("[data-verdict=ok]")
        guard.get_by_role("button", name="放行并记录").click()
        guard.wait_for_load_state()
        assert "已记录" in guard.inner_text("main")
    finally:
        guard_context.close()

    # The resident's page now shows one entry used.
    page.reload()
    assert "1 / 2" in page.inner_text("main")
