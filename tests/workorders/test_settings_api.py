"""The work-order settings over the API: the same changes as the console's settings page, through
the same services, taking effect in the SLA computation; bad input is a 4xx ``{code, message}`` that
changes nothing; only those who manage work orders read or change them."""

from __future__ import annotations

import pytest

from anju.core.models import AuditEntry
from anju.core.tenancy import community_scope
from anju.workorders.models import Category, SlaPolicy, TechnicianProfile, WorkingCalendar, WorkOrderSettings
from anju.workorders.sla import add_working_minutes
from tests.api.conftest import Api, assert_error

from .helpers import resident_report

pytestmark = pytest.mark.django_db


def _url(world, rest: str = "") -> str:  # type: ignore[no-untyped-def]
    return f"/communities/{world.a.community.pk}/workorders/settings{rest}"


def _category(world, code: str) -> Category:  # type: ignore[no-untyped-def]
    with community_scope(world.a.community.pk):
        return Category.objects.get(code=code)


def test_manager_reads_and_changes_settings_and_deadlines_follow(world) -> None:  # type: ignore[no-untyped-def]
    manager = Api(world, "manager_x")
    response = manager.get(_url(world))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["rules"] == {
        "auto_confirm_days": 3,
        "dispute_days": 7,
        "low_rating_max": 3,
        "follow_up_sample_percent": 10,
    }
    codes = {c["code"]: c for c in body["categories"]}
    assert codes["greenery"]["calendar_id"] == body["calendars"][0]["id"]
    assert body["calendars"][0]["weekdays"] == [0, 1, 2, 3, 4]
    defaults = {p["priority"]: p for p in body["sla_policies"] if p["category_id"] is None and p["in_force"]}
    assert (defaults["urgent"]["response_minutes"], defaults["urgent"]["resolution_minutes"]) == (30, 240)
    assert world.user("technician").pk in {t["user_id"] for t in body["technicians"]}

    noise = codes["noise"]
    changed = manager.patch(
        _url(world, f"/categories/{noise['id']}"), {"default_priority": "high", "dispatch_mode": "grab"}
    )
    assert changed.status_code == 200, changed.content
    assert (changed.json()["default_priority"], changed.json()["dispatch_mode"]) == ("high", "grab")
    policy = manager.post(
        _url(world, "/sla-policies"),
        {"category_id": noise["id"], "priority": "high", "response_minutes": 15, "resolution_minutes": 90},
    )
    assert policy.status_code == 201, policy.content
    assert policy.json()["category_code"] == "noise" and policy.json()["in_force"]

    order = resident_report(world, category="noise", description="楼上装修噪音")
    assert order.priority == "high"
    assert (order.response_due_at - order.created_at).total_seconds() == 15 * 60
    assert (order.resolution_due_at - order.created_at).total_seconds() == 90 * 60
    # The policy list now shows the noise rule in force, next to the catch-all rule it overrides.
    listed = manager.get(_url(world)).json()["sla_policies"]
    in_force = {(p["category_code"], p["priority"]) for p in listed if p["in_force"]}
    assert ("noise", "high") in in_force and (None, "high") in in_force

    # Office hours: deadlines count working minutes only; null puts the category back on the clock.
    office = body["calendars"][0]["id"]
    assert manager.patch(_url(world, f"/categories/{noise['id']}"), {"calendar_id": office}).status_code == 200
    timed = resident_report(world, category="noise", description="晚上施工")
    with community_scope(world.a.community.pk):
        calendar = WorkingCalendar.objects.get(pk=office)
    assert timed.response_due_at == add_working_minutes(timed.created_at, 15, calendar)
    cleared = manager.patch(_url(world, f"/categories/{noise['id']}"), {"calendar_id": None})
    assert cleared.status_code == 200 and cleared.json()["calendar_id"] is None
    assert _category(world, "noise").calendar_id is None

    rules = manager.patch(_url(world), {"auto_confirm_days": 5, "follow_up_sample_percent": 20})
    assert rules.status_code == 200, rules.content
    assert rules.json() == {
        "auto_confirm_days": 5,
        "dispute_days": 7,
        "low_rating_max": 3,
        "follow_up_sample_percent": 20,
    }
    with community_scope(world.a.community.pk):
        stored = WorkOrderSettings.objects.get(community_id=world.a.community.pk)
    assert (stored.auto_confirm_days, stored.follow_up_sample_percent) == (5, 20)

    technician = manager.call(
        "put",
        _url(world, "/technicians"),
        {
            "user_id": world.user("technician").pk,
            "skills": ["plumbing", "locks"],
            "building_ids": [world.a.buildings[0].pk],
        },
    )
    assert technician.status_code == 200, technician.content
    assert technician.json()["has_profile"] and technician.json()["skills"] == ["locks", "plumbing"]
    with community_scope(world.a.community.pk):
        profile = TechnicianProfile.objects.get(user=world.user("technician"))
    assert profile.building_ids == [world.a.buildings[0].pk]
    assert (
        AuditEntry.objects.filter(action="workorders.add_sla_policy", actor_id=world.user("manager_x").pk).count() == 1
    )


def test_bad_input_is_a_4xx_and_changes_nothing(world) -> None:  # type: ignore[no-untyped-def]
    manager = Api(world, "manager_x")
    assert manager.get(_url(world)).status_code == 200  # the community's defaults exist from here on
    Api(world, "manager_y").get(f"/communities/{world.b.community.pk}/workorders/settings")
    noise = _category(world, "noise")
    with community_scope(world.b.community.pk):
        foreign_category = Category.objects.get(code="noise")
        foreign_calendar = WorkingCalendar.objects.first()
    audit = AuditEntry.objects.count()
    with community_scope(world.a.community.pk):
        policies = SlaPolicy.objects.count()

    assert_error(manager.patch(_url(world), {"auto_confirm_days": 0}), 422)
    assert_error(manager.patch(_url(world), {"auto_confirm_days": None}), 422)
    assert_error(manager.patch(_url(world), {"auto_confirm_day": 5}), 422)
    category_url = _url(world, f"/categories/{noise.pk}")
    assert_error(manager.patch(category_url, {"dispatch_mode": "telepathy"}), 422)
    assert_error(manager.patch(category_url, {"skill": "水 管"}), 422)
    assert_error(manager.patch(category_url, {"active": None}), 422)
    assert (
        assert_error(manager.patch(category_url, {"calendar_id": foreign_calendar.pk}), 404).get("field")
        == "calendar_id"
    )
    assert_error(manager.patch(_url(world, f"/categories/{foreign_category.pk}"), {"active": False}), 404)
    backwards = assert_error(
        manager.post(
            _url(world, "/sla-policies"), {"priority": "high", "response_minutes": 60, "resolution_minutes": 30}
        ),
        400,
    )
    assert "不能早于" in backwards["message"] and backwards["field"] == "resolution_minutes"
    assert_error(
        manager.post(
            _url(world, "/sla-policies"),
            {"category_id": foreign_category.pk, "priority": "high", "response_minutes": 5, "resolution_minutes": 30},
        ),
        404,
    )
    assert_error(
        manager.post(
            _url(world, "/sla-policies"), {"priority": "someday", "response_minutes": 5, "resolution_minutes": 9}
        ),
        422,
    )
    assert_error(manager.call("put", _url(world, "/technicians"), {"user_id": world.user("steward").pk}), 404)
    assert_error(
        manager.call(
            "put",
            _url(world, "/technicians"),
            {"user_id": world.user("technician").pk, "building_ids": [world.b.buildings[0].pk]},
        ),
        404,
    )

    assert AuditEntry.objects.count() == audit
    with community_scope(world.a.community.pk):
        assert SlaPolicy.objects.count() == policies
        assert not TechnicianProfile.objects.exists()
        row = Category.objects.get(pk=noise.pk)
        assert (row.dispatch_mode, row.skill, row.active, row.calendar_id) == (
            noise.dispatch_mode,
            noise.skill,
            noise.active,
            noise.calendar_id,
        )
        assert not WorkOrderSettings.objects.filter(auto_confirm_days__gt=3).exists()


@pytest.mark.parametrize("persona", ["steward", "technician", "resident_a"])
def test_only_managers_read_or_change_the_settings(world, persona: str) -> None:  # type: ignore[no-untyped-def]
    caller = Api(world, persona)
    assert Api(world, "manager_x").get(_url(world)).status_code == 200  # the defaults exist
    noise = _category(world, "noise")
    audit = AuditEntry.objects.count()
    # Staff without the permission: 403; a resident holds no staff role there at all.
    expected = (403,) if persona != "resident_a" else (403, 404)
    for response in (
        caller.get(_url(world)),
        caller.patch(_url(world), {"auto_confirm_days": 9}),
        caller.patch(_url(world, f"/categories/{noise.pk}"), {"dispatch_mode": "grab"}),
        caller.post(_url(world, "/sla-policies"), {"priority": "high", "response_minutes": 1, "resolution_minutes": 2}),
        caller.call("put", _url(world, "/technicians"), {"user_id": world.user("technician").pk}),
    ):
        assert response.status_code in expected, response.content
        assert_error(response, response.status_code)
    assert AuditEntry.objects.count() == audit
    assert _category(world, "noise").dispatch_mode == noise.dispatch_mode
