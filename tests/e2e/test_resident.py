"""A resident logs in on a phone-sized screen with their mobile number and sees their home."""

from __future__ import annotations

import pytest

from tests.personas import PASSWORD, build_world


@pytest.fixture
def e2e_world(transactional_db):
    return build_world()


def test_resident_logs_in_with_mobile_and_sees_home_and_household(page, live_server, e2e_world):
    home = e2e_world.a.homes[0]
    other_home = e2e_world.b.homes[0]
    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url
    page.fill("input[name=username]", "139 0000 0001")
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit], form input[type=submit]").first.click()
    page.wait_for_url("**/portal/**")
    body = page.inner_text("main")
    assert home.label in body
    assert other_home.community.name not in body

    page.get_by_role("link", name=home.label).first.click()
    page.wait_for_url(f"**/portal/homes/{home.pk}/**")
    household = page.inner_text("main")
    assert "139****0001" in household
    assert "13900000001" not in page.content()

    # Another community's home is not reachable by guessing its number.
    response = page.goto(f"{live_server.url}/portal/homes/{other_home.pk}/")
    assert response is not None and response.status == 404


def test_wrong_password_keeps_the_resident_on_the_login_page(page, live_server, e2e_world):
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "13900000001")
    page.fill("input[name=password]", "not-the-password")
    page.locator("form button[type=submit], form input[type=submit]").first.click()
    page.wait_for_load_state()
    assert "/login/" in page.url
    assert page.locator(".errorlist, .error, [role=alert]").count() >= 1
