"""A technician on a phone watches the live alarm list: a new alarm appears without reloading
(htmx polling), and they acknowledge and take it from the alarm's page."""

from __future__ import annotations

import pytest

from anju.core.tenancy import scopes_disabled
from anju.devices.alarms.models import Alarm
from anju.devices.alarms.pipeline import process
from tests.alarms.helpers import make_device, message
from tests.personas import PASSWORD, build_world


@pytest.fixture
def e2e_world(transactional_db):
    return build_world()


def test_a_new_alarm_appears_live_and_is_handled_on_a_phone(page, live_server, e2e_world):
    lift = make_device(e2e_world.a, "lift", "lift-1", name="1号楼电梯")
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "technician")
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit], form input[type=submit]").first.click()
    page.wait_for_load_state()
    page.goto(f"{live_server.url}/console/c/{e2e_world.a.community.pk}/alarms/")
    assert page.locator("tr[data-alarm]").count() == 0

    process([message(lift, 0, event="lift.fault.02"), message(lift, 1, event="lift.fault.02")])
    with scopes_disabled():
        alarm = Alarm.objects.get(device=lift)
    row = page.locator(f'tr[data-alarm="{alarm.pk}"]')
    row.wait_for(timeout=15_000)  # the table polls every 5 s: no reload
    assert "关门故障" in row.inner_text()

    row.get_by_role("link").first.click()
    page.wait_for_url(f"**/alarms/{alarm.pk}/")
    page.get_by_role("button", name="确认").click()
    page.wait_for_load_state()
    assert page.locator("[data-state]").first.get_attribute("data-state") == "acknowledged"
    page.get_by_role("button", name="我来处理").click()
    page.wait_for_load_state()
    assert page.locator("[data-state]").first.get_attribute("data-state") == "in_progress"
    with scopes_disabled():
        alarm.refresh_from_db()
    assert alarm.assigned_to is not None and alarm.assigned_to.username == "technician"
