"""A guard walks a patrol round on a phone: opens today's round, checks in at one point by typing
the code under its sticker, at the others by "scanning" (opening the URL the QR code holds), reports
a problem at one of them, and sees the round completed; the problem became a work order."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from anju.core.tenancy import community_scope
from anju.workorders.models import WorkOrder
from anju.workorders.preventive import services
from anju.workorders.preventive.models import Round
from tests.personas import PASSWORD, build_world
from tests.preventive.conftest import make_patrol


@pytest.fixture
def patrol_world(transactional_db):
    world = build_world()
    opens = timezone.localtime() - dt.timedelta(hours=1)
    closes = opens + dt.timedelta(hours=3)
    with community_scope(world.a.community.pk):
        patrol = make_patrol(
            world,
            window=(opens.time().replace(second=0, microsecond=0), closes.time().replace(second=0, microsecond=0)),
            starts_on=opens.date(),
        )
        services.generate_rounds(now=opens - dt.timedelta(minutes=1))
        round_ = Round.objects.get(plan=patrol.plan, day=opens.date())
    return world, patrol, round_


def test_a_guard_walks_a_round_on_the_phone(page, live_server, patrol_world):
    world, patrol, round_ = patrol_world
    cid = world.a.community.pk
    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "guard")
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit], form input[type=submit]").first.click()
    page.wait_for_load_state()

    page.goto(f"{live_server.url}/console/c/{cid}/preventive/")
    page.locator(f"[data-round='{round_.pk}'] a").click()
    page.wait_for_url(f"**/preventive/rounds/{round_.pk}/")

    # The sticker at the gate is dirty: tap the point and type its code.
    gate = patrol.points[0]
    item = page.locator(f"li[data-point='{gate.pk}']")
    item.locator("summary").click()
    item.locator("input[name=token]").fill(gate.code_for_typing.lower())
    item.locator("input[name=result][value=ok]").check()
    item.locator("button[type=submit]").click()
    page.wait_for_url(f"**/preventive/rounds/{round_.pk}/")
    assert "done" in (page.locator(f"li[data-point='{gate.pk}']").get_attribute("class") or "")

    # The other two are scanned: the phone's camera opens the URL the QR code holds.
    for point, problem in ((patrol.points[1], True), (patrol.points[2], False)):
        page.goto(f"{live_server.url}/console/c/{cid}/preventive/scan/{point.token}/")
        assert point.name in page.inner_text("main")
        if problem:
            page.locator("input[name=result][value=problem]").check()
            page.fill("textarea[name=note]", "水泵异响")
        else:
            page.locator("input[name=result][value=ok]").check()
        page.locator("form.checkin-form button[type=submit]").click()
        page.wait_for_url(f"**/preventive/rounds/{round_.pk}/")

    assert page.locator("[data-state]").first.get_attribute("data-state") == "completed"
    assert "已完成" in page.inner_text("main")
    with community_scope(cid):
        order = WorkOrder.objects.get(source_ref=f"inspection:{round_.pk}:{patrol.points[1].pk}")
    assert "水泵异响" in order.description
