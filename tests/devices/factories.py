"""Devices for tests, registered through the real service."""

from __future__ import annotations

import datetime as dt
from typing import Any

from anju.core.tenancy import community_scope
from anju.devices.messages import DeviceMessage
from anju.devices.models import Device
from anju.devices.services import DeviceCredentials, create_device
from anju.estates.models import Community


def make_device(
    community: Community, code: str = "pump-1", kind: str = "pump", **extra: Any
) -> tuple[Device, DeviceCredentials]:
    with community_scope(community.pk):
        return create_device(
            community=community, kind=kind, code=code, name=extra.pop("name", code), actor=None, **extra
        )


def message(
    device: Device,
    seq: int | None,
    *,
    at: dt.datetime,
    channel: str = "telemetry",
    points: dict[str, float] | None = None,
    **extra: Any,
) -> DeviceMessage:
    return DeviceMessage(
        community_id=device.community_id,
        device_id=device.pk,
        device_kind=device.kind,
        channel=channel,  # type: ignore[arg-type]
        received_at=at,
        sent_at=at,
        seq=seq,
        points=points if points is not None else {"pressure_mpa": 0.3},
        **extra,
    )
