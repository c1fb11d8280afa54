"""A problem found on a round opens one work order for the point's place, through create_order."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from anju.core.tenancy import community_scope
from anju.workorders.models import WorkOrder
from anju.workorders.preventive import services
from anju.workorders.preventive.models import Round

from .conftest import Patrol, local


@pytest.fixture
def todays_round(patrol: Patrol) -> Round:
    services.generate_rounds(now=local(2030, 3, 10, 6))
    with community_scope(patrol.route.community_id):
        return Round.objects.get(plan=patrol.plan, day=dt.date(2030, 3, 10))


def photo() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), "blue").save(buffer, format="JPEG")
    return SimpleUploadedFile("leak.jpg", buffer.getvalue(), content_type="image/jpeg")


def test_a_problem_opens_a_repair_order_at_the_points_place(patrol: Patrol, todays_round: Round) -> None:
    pump_point = patrol.points[1]
    checkin = services.check_in(
        round_=todays_round,
        token=pump_point.token,
        result="problem",
        note="水泵异响，地面有积水",
        photo=photo(),
        actor=patrol.world.user("guard"),
        now=local(2030, 3, 10, 8, 20),
    )
    assert checkin.work_order_ref == f"inspection:{todays_round.pk}:{pump_point.pk}"
    with community_scope(patrol.route.community_id):
        order = WorkOrder.objects.get(source_ref=checkin.work_order_ref)
        todays_round.refresh_from_db()
        assert order.photos.count() == 1
    assert order.source == "plan" and order.kind == "repair"
    assert order.category.code == "water"  # the pump room
    assert order.common_part_id == patrol.pump.pk
    assert "水泵异响" in order.description
    assert todays_round.problems_found == 1 and todays_round.state == Round.State.IN_PROGRESS


def test_the_problem_category_follows_the_place_or_the_patroller(patrol: Patrol, todays_round: Round) -> None:
    guard = patrol.world.user("guard")
    lift_point, gate_point = patrol.points[2], patrol.points[0]
    lift = services.check_in(
        round_=todays_round,
        token=lift_point.token,
        result="problem",
        note="轿厢灯不亮",
        actor=guard,
        now=local(2030, 3, 10, 8, 30),
    )
    gate = services.check_in(
        round_=todays_round,
        token=gate_point.token,
        result="problem",
        note="门禁损坏",
        category_code="doors_locks",
        actor=guard,
        now=local(2030, 3, 10, 8, 31),
    )
    with community_scope(patrol.route.community_id):
        assert WorkOrder.objects.get(source_ref=lift.work_order_ref).category.code == "lift"
        gate_order = WorkOrder.objects.get(source_ref=gate.work_order_ref)
    assert gate_order.category.code == "doors_locks" and gate_order.building_id == patrol.world.a.buildings[0].pk
