"""Doors of community A for the access tests: one controller serving a gate, building 1's entrance,
its unit 1 door, a garage barrier and building 1's floor-2 lift access."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from anju.access import services, sync
from anju.access.controller import OfflineController
from anju.access.models import Controller, Door
from anju.core.tenancy import community_scope
from tests.personas import World


@dataclass
class Doors:
    controller: Controller
    token: str
    gate: Door
    entrance: Door
    unit_door: Door
    garage: Door
    lift2: Door
    other_entrance: Door


def make_doors(world: World, estate: str = "a") -> Doors:
    e = getattr(world, estate)
    community = e.community
    building, other = e.buildings
    unit = e.homes[0].unit
    actor = world.user("manager_x") if estate != "b" else world.user("manager_y")
    controller, token = services.create_controller(community=community, name="一号控制器", code="ctl-1", actor=actor)
    make = services.create_door
    return Doors(
        controller=controller,
        token=token,
        gate=make(community=community, name="南门", kind="gate", controller=controller, actor=actor),
        entrance=make(
            community=community,
            name="1号楼大堂",
            kind="building",
            building=building,
            controller=controller,
            actor=actor,
        ),
        unit_door=make(
            community=community,
            name="1号楼1单元",
            kind="unit",
            building=building,
            unit=unit,
            controller=controller,
            actor=actor,
        ),
        garage=make(community=community, name="地库道闸", kind="garage", controller=controller, actor=actor),
        lift2=make(
            community=community,
            name="1号楼电梯2层",
            kind="lift_floor",
            building=building,
            floor=2,
            controller=controller,
            actor=actor,
        ),
        other_entrance=make(
            community=community, name="2号楼大堂", kind="building", building=other, controller=controller, actor=actor
        ),
    )


@pytest.fixture
def doors(world: World) -> Doors:
    return make_doors(world)


def synced_controller(doors: Doors, since: int = 0) -> OfflineController:
    controller = OfflineController(community_id=doors.controller.community_id)
    with community_scope(doors.controller.community_id):
        controller.apply(sync.payload_for(doors.controller, since))
    return controller


def at(day: dt.date, hour: int = 12, minute: int = 0) -> int:
    """A local (Asia/Shanghai) moment as Unix seconds."""
    local = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=timezone.get_default_timezone())
    return int(local.timestamp())
