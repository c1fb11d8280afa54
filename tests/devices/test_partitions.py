"""Telemetry over time: partitions ahead, retention, hourly rollups that survive raw expiry."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from anju.core.tenancy import scopes_disabled
from anju.devices import partitions
from anju.devices.models import Telemetry, TelemetryHourly
from anju.devices.store import commit_batch
from tests.personas import World

from .factories import make_device, message

pytestmark = pytest.mark.django_db


def test_hourly_rollup_aggregates_numeric_points_and_is_idempotent(world: World) -> None:
    pump, _ = make_device(world.a.community)
    hour = partitions.hour_floor(timezone.now() - dt.timedelta(hours=2))
    values = [0.2, 0.3, 0.4, 0.5]
    commit_batch(
        [
            message(pump, seq + 1, at=hour + dt.timedelta(minutes=10 * seq), points={"pressure_mpa": value})
            for seq, value in enumerate(values)
        ]
        + [message(pump, 9, at=hour + dt.timedelta(minutes=59), points={}, attrs={"pump": "running"})]
    )
    for _ in range(2):
        partitions.rollup_hours(hour, hour + dt.timedelta(hours=1))
    with scopes_disabled():
        rows = list(TelemetryHourly.objects.filter(device=pump))
    assert len(rows) == 1
    row = rows[0]
    assert (row.metric, row.count, row.minimum, row.maximum) == ("pressure_mpa", 4, 0.2, 0.5)
    assert row.total == pytest.approx(1.4)
    assert row.hour == hour


def test_expiry_removes_old_raw_telemetry_but_keeps_hourly_aggregates(world: World, settings) -> None:
    pump, _ = make_device(world.a.community)
    settings.ANJU_TELEMETRY_RETENTION_DAYS = 2
    now = timezone.now()
    old = now - dt.timedelta(days=4)
    commit_batch([message(pump, 1, at=old), message(pump, 2, at=now)])
    partitions.rollup_hours(old, old + dt.timedelta(hours=1))
    partitions.drop_expired(now)
    with scopes_disabled():
        assert list(Telemetry.objects.filter(device=pump).values_list("seq", flat=True)) == [2]
        assert TelemetryHourly.objects.filter(device=pump).count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions exist on PostgreSQL only")
def test_partitions_are_created_ahead_and_dropped_whole(settings) -> None:
    today = timezone.now().astimezone(dt.UTC).date()
    partitions.ensure_partitions(today, today + dt.timedelta(days=10))
    assert {today + dt.timedelta(days=n) for n in range(11)} <= partitions.existing_partitions()
    settings.ANJU_TELEMETRY_RETENTION_DAYS = 1
    far_past = today - dt.timedelta(days=30)
    partitions.ensure_partitions(far_past, far_past)
    assert far_past in partitions.existing_partitions()
    assert partitions.drop_expired() >= 1
    assert far_past not in partitions.existing_partitions()
    assert today in partitions.existing_partitions()
