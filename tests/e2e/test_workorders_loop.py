"""The whole loop in the browser, as four people on their own screens: the resident reports a leak
on a phone, the manager dispatches it at a desk, the technician resolves it on a phone with a result
photo, and the resident confirms and rates it."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from anju.core.models import Notification
from anju.core.tenancy import community_scope
from anju.workorders.models import State, WorkOrder
from tests.personas import PASSWORD, build_world


@pytest.fixture
def e2e_world(transactional_db):
    return build_world()


def _log_in(page, live_server, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit], form input[type=submit]").first.click()
    page.wait_for_load_state()


def _photo(tmp_path, name: str) -> str:  # type: ignore[no-untyped-def]
    path = tmp_path / name
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "steelblue").save(buffer, format="JPEG")
    path.write_bytes(buffer.getvalue())
    return str(path)


def test_resident_reports_manager_dispatches_technician_resolves_resident_rates(
    page, browser, live_server, e2e_world, tmp_path, settings
):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }
    community = e2e_world.a.community
    home = e2e_world.a.homes[0]

    # 1. The resident, on a phone: Repairs tab, report, one photo, send.
    _log_in(page, live_server, "13900000001")
    page.goto(f"{live_server.url}/portal/workorders/requests/")
    page.get_by_role("link", name="我要报修").click()
    page.select_option("select[name=location]", f"home:{home.pk}")
    page.select_option("select[name=category]", "water")
    page.fill("textarea[name=description]", "厨房水管漏水，地上有积水")
    page.fill("input[name=preferred_time]", "今天晚上")
    page.set_input_files("input[name=photos]", _photo(tmp_path, "leak.jpg"))
    page.get_by_role("button", name="提交").click()
    page.wait_for_url("**/portal/workorders/requests/*/")
    assert "待受理" in page.inner_text("main")
    with community_scope(community.pk):
        order = WorkOrder.objects.get()
        assert order.photos.count() == 1

    # 2. The manager, at a desk: the board shows it; dispatch to the technician.
    desk = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    manager = desk.new_page()
    manager.set_default_timeout(15_000)
    _log_in(manager, live_server, "manager_x")
    manager.goto(f"{live_server.url}/console/c/{community.pk}/workorders/")
    manager.locator(f'[data-order="{order.pk}"] a').click()
    manager.wait_for_url(f"**/workorders/{order.pk}/")
    manager.select_option("select[name=assign-assignee]", str(e2e_world.user("technician").pk))
    manager.get_by_role("button", name="派给这位维修工").click()
    manager.wait_for_load_state()
    assert "已派单" in manager.inner_text("main")
    desk.close()

    # 3. The technician, on a phone: my jobs, start, finish with a result photo.
    phone = browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    tech = phone.new_page()
    tech.set_default_timeout(15_000)
    _log_in(tech, live_server, "technician")
    assert Notification.objects.filter(recipient=e2e_world.user("technician"), kind="workorders.assigned").exists()
    tech.goto(f"{live_server.url}/console/c/{community.pk}/workorders/mine/")
    tech.locator(f'[data-order="{order.pk}"] a').click()
    tech.get_by_role("button", name="开始处理（已到场）").click()
    tech.wait_for_load_state()
    tech.fill("textarea[name=resolve-note]", "更换了老化的水管接头，已试水无渗漏")
    tech.set_input_files("input[name=resolve-photos]", _photo(tmp_path, "fixed.jpg"))
    tech.get_by_role("button", name="标记为完工").click()
    tech.wait_for_load_state()
    assert "已完工" in tech.inner_text("main")
    phone.close()

    # 4. The resident again: the order is done; four stars and a comment.
    page.goto(f"{live_server.url}/portal/workorders/requests/{order.pk}/")
    assert "更换了老化的水管接头" in page.inner_text("main")
    page.locator("input[name=rate-rating][value='4']").check()
    page.fill("textarea[name=rate-comment]", "师傅很快，谢谢")
    page.get_by_role("button", name="提交评价").click()
    page.wait_for_load_state()
    assert "已关闭" in page.inner_text("main")

    with community_scope(community.pk):
        order = WorkOrder.objects.get(pk=order.pk)
        kinds = list(order.events.values_list("kind", flat=True))
        result_photos = order.photos.filter(stage="result").count()
    assert order.state == State.CLOSED and order.rating == 4 and order.rating_comment == "师傅很快，谢谢"
    assert result_photos == 1
    assert kinds == ["created", "accepted", "assigned", "started", "resolved", "photo", "confirmed", "rated"]
