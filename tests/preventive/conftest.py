"""Fixtures of the preventive tests: a patrol route with three points in community A, a plan, and
helpers for aware local times."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest

from anju.core.tenancy import community_scope
from anju.estates import services as estates
from anju.estates.models import CommonPart
from anju.workorders.preventive import services
from anju.workorders.preventive.models import InspectionPlan, Point, Route

from ..personas import World

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """An aware datetime at Shanghai wall-clock time."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@dataclass
class Patrol:
    world: World
    route: Route
    points: list[Point]
    plan: InspectionPlan
    pump: CommonPart
    lift: CommonPart


def make_patrol(
    world: World, *, window=(dt.time(8), dt.time(10)), starts_on=dt.date(2030, 3, 1), **plan_args
) -> Patrol:
    community = world.a.community
    manager = world.user("manager_x")
    pump = estates.create_common_part(community=community, name="水泵房", kind="pump_room", actor=None)
    lift = estates.create_common_part(
        community=community, name="1号楼电梯", kind="lift", building=world.a.buildings[0], actor=None
    )
    route = services.create_route(community=community, name="夜巡", actor=manager)
    points = [
        services.add_point(route=route, name="南门", building=world.a.buildings[0], actor=manager),
        services.add_point(route=route, name="泵房", common_part=pump, checklist="水泵无异响", actor=manager),
        services.add_point(route=route, name="电梯机房", common_part=lift, actor=manager),
    ]
    plan_args.setdefault("frequency", "daily")
    plan = services.create_inspection_plan(
        route=route,
        name="早班巡逻",
        window_start=window[0],
        window_end=window[1],
        starts_on=starts_on,
        actor=manager,
        **plan_args,
    )
    return Patrol(world, route, points, plan, pump, lift)


@pytest.fixture
def patrol(world: World) -> Patrol:
    with community_scope(world.a.community.pk):
        return make_patrol(world)
