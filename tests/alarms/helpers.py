"""Devices and messages for the alarm tests, made through the real services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from anju.core.tenancy import community_scope
from anju.devices.messages import DeviceMessage
from anju.devices.models import Device
from anju.devices.services import create_device

T0 = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)


def make_device(estate: Any, kind: str, code: str, *, building: int | None = 0, name: str = "") -> Device:
    with community_scope(estate.community.pk):
        device, _credentials = create_device(
            community=estate.community,
            kind=kind,
            code=code,
            name=name or code,
            building=estate.buildings[building] if building is not None else None,
            actor=None,
        )
    return device


def message(
    device: Device,
    at: dt.datetime | float,
    *,
    channel: str = "telemetry",
    points: dict[str, float] | None = None,
    event: str | None = None,
    state: str | None = None,
    attrs: dict[str, Any] | None = None,
    snapshot: str | None = None,
    seq: int | None = None,
) -> DeviceMessage:
    """A message from ``device`` sent (and received) at ``at`` (a datetime, or seconds after T0)."""
    when = at if isinstance(at, dt.datetime) else T0 + dt.timedelta(seconds=at)
    if event is not None:
        channel = "event"
    return DeviceMessage(
        community_id=device.community_id,
        device_id=device.pk,
        device_kind=device.kind,
        channel=channel,  # type: ignore[arg-type]
        received_at=when,
        sent_at=when,
        seq=seq,
        points=points or {},
        event=event,
        state=state,
        attrs=attrs or {},
        snapshot=snapshot,
    )


def now_offset(seconds: float) -> float:
    """Seconds after T0 that correspond to ``seconds`` from the real now (for sweeps that use the clock)."""
    return (timezone.now() - T0).total_seconds() + seconds
