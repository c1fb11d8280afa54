"""Smart meters feed billing: the newest ``reading`` of a metered device becomes the day's reading
of billing's meter with the same number, once, and an implausible one is held for review."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from anju.billing.models import Reading
from anju.billing.services import create_meter
from anju.core.periodic import run_job
from anju.core.tenancy import community_scope
from anju.devices.meters import feed_meter_readings
from anju.devices.models import Telemetry
from anju.devices.services import create_device


def _telemetry(device, ts: dt.datetime, seq: int, data: dict) -> None:
    Telemetry.objects.create(
        community_id=device.community_id, device=device, ts=ts, seq=seq, kind="telemetry", received_at=ts, data=data
    )


@pytest.mark.django_db
def test_the_newest_reading_reaches_billing_once_and_a_backwards_one_is_held(world):
    community = world.a.community
    now = timezone.now() - dt.timedelta(days=1)  # yesterday's readings first; billing refuses future ones
    with community_scope(community.pk):
        create_meter(community_id=community.pk, kind="water", code="WM-101", home=world.a.homes[0], actor=None)
        meter_device, _ = create_device(
            community=community, kind="water_meter", code="WM-101", name="101水表", actor=None
        )
        stray, _ = create_device(community=community, kind="water_meter", code="WM-999", name="未建档水表", actor=None)
        _telemetry(meter_device, now - dt.timedelta(minutes=30), 1, {"reading": 120.5, "flow_m3h": 0.2})
        _telemetry(meter_device, now - dt.timedelta(minutes=5), 2, {"reading": 121.25, "flow_m3h": 0.1})
        _telemetry(meter_device, now - dt.timedelta(minutes=1), 3, {"flow_m3h": 0.0})  # no reading in it
        _telemetry(stray, now - dt.timedelta(minutes=5), 1, {"reading": 7})  # billing has no such meter

    assert feed_meter_readings(now) == 1
    assert feed_meter_readings(now) == 1  # the same value again: stored once
    with community_scope(community.pk):
        readings = list(Reading.objects.filter(meter__code="WM-101").values_list("value", "source", "status"))
    assert readings == [(Decimal("121.25"), "device", "ok")]

    today = timezone.now()
    with community_scope(community.pk):
        _telemetry(meter_device, today - dt.timedelta(minutes=5), 4, {"reading": 90.0})  # went backwards
    assert feed_meter_readings(today) == 1
    with community_scope(community.pk):
        rows = list(Reading.objects.filter(meter__code="WM-101").order_by("read_on").values_list("value", "status"))
    assert rows == [(Decimal("121.25"), "ok"), (Decimal("90.00"), "held")], rows


@pytest.mark.django_db
def test_the_job_is_registered_and_runs_through_the_scheduler(world):
    assert run_job("devices.meter_readings", force=True) == 0  # no billed meters with readings yet
