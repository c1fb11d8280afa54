"""Periodic work of the devices app: offline detection, telemetry partitions and rollups."""

from __future__ import annotations

from datetime import timedelta

from anju.core.periodic import periodic
from anju.devices import partitions
from anju.devices.presence import sweep_offline


@periodic("devices.offline_sweep", every=timedelta(minutes=1))
def offline_sweep() -> int:
    """Devices silent for three reporting intervals go offline (and the alarm rules hear of it)."""
    return sweep_offline()


@periodic("devices.partitions", every=timedelta(hours=6))
def maintain_partitions() -> int:
    """Create a week of telemetry partitions ahead; drop raw days past the retention period."""
    return partitions.ensure_ingest_window() + partitions.drop_expired()


@periodic("devices.rollup", every=timedelta(minutes=15))
def rollup_telemetry() -> int:
    """Hourly aggregates of the last complete hours (kept after raw telemetry expires)."""
    return partitions.rollup_recent()


@periodic("devices.meter_readings", every=timedelta(hours=1))
def meter_readings_to_billing() -> int:
    """Smart meters' latest readings become billing's meter readings (see :mod:`anju.devices.meters`)."""
    from anju.devices.meters import feed_meter_readings

    return feed_meter_readings()
