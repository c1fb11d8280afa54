"""A resident on a phone signs up for an activity, checks in with the door poster's QR link,
earns the check-in points and redeems them for a reward."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from anju.community import services
from anju.community.models import Redemption, Signup
from anju.community.services.points import balance_of
from anju.core.tenancy import community_scope
from tests.personas import PASSWORD, build_world


@pytest.fixture
def e2e_world(transactional_db):
    return build_world()


def test_resident_signs_up_checks_in_earns_points_and_redeems(page, live_server, e2e_world):
    world = e2e_world
    community = world.a.community
    starts = (timezone.now() + dt.timedelta(minutes=20)).replace(second=0, microsecond=0)
    with community_scope(community.pk):
        activity = services.create_activity(
            community=community,
            title="垃圾分类宣传",
            place="东门广场",
            starts_at=starts,
            ends_at=starts + dt.timedelta(hours=1),
            capacity=10,
            actor=None,
        )
        reward = services.create_reward(community=community, name="环保购物袋", cost=5, stock=3, actor=None)
    person = world.a.people[0]

    page.goto(f"{live_server.url}/login/")
    page.fill("input[name=username]", "13900000001")
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit], form input[type=submit]").first.click()
    page.wait_for_url("**/portal/**")

    page.goto(f"{live_server.url}/portal/community/activities/")
    page.get_by_role("link", name="垃圾分类宣传").first.click()
    page.get_by_role("button", name="报名").click()
    page.wait_for_load_state()
    assert page.locator("[data-status=confirmed]").count() == 1
    assert page.locator(".qr svg").count() == 1  # my personal check-in code

    # At the door: the poster's QR code opens the check-in page with the activity's token.
    page.goto(f"{live_server.url}/portal/community/activities/{activity.pk}/check-in/?t={activity.checkin_token}")
    page.get_by_role("button", name="确认签到").click()
    page.wait_for_url(f"**/portal/community/activities/{activity.pk}/")
    assert page.locator("[data-checked-in]").count() == 1

    page.goto(f"{live_server.url}/portal/community/points/")
    assert page.inner_text("[data-balance]") == "5"
    page.locator(f"[data-reward='{reward.pk}']").get_by_role("button", name="兑换").click()
    page.wait_for_load_state()
    assert "环保购物袋" in page.inner_text("main")
    assert page.inner_text("[data-balance]") == "0"

    with community_scope(community.pk):
        assert Signup.objects.get(activity=activity, person=person).checked_in_at is not None
        redemption = Redemption.objects.get(person=person)
        assert redemption.reward_id == reward.pk and redemption.status == "pending"
    assert balance_of(person) == 0
