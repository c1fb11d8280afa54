"""What the ingest pipeline hands to the rules: one validated message from one device.

Ingestion (MQTT, HTTP, camera push) parses and validates whatever a device sent, commits it, and
passes a batch of these to :func:`anju.devices.alarms.pipeline.process`. They carry ids, not model
instances, so a batch crosses process boundaries cheaply.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Channel = Literal["telemetry", "event", "status"]


@dataclass(frozen=True, slots=True)
class DeviceMessage:
    community_id: int
    device_id: int
    device_kind: str
    channel: Channel
    received_at: dt.datetime  # aware, UTC: when anju received it
    sent_at: dt.datetime | None = None  # aware, UTC: the device's own timestamp, if it sent one
    seq: int | None = None  # the device's sequence number (loss and duplicate counting)
    # Telemetry: numeric data points, e.g. {"pressure_mpa": 0.31, "level_pct": 64.0}.
    points: Mapping[str, float] = field(default_factory=dict)
    # Events: a code such as "lift.fault.11", "fire.alarm", "camera.ebike_in_lift", and its state
    # ("raise"/"clear" for fire status pairs, "active"/"inactive" for cameras, None for one-shots).
    event: str | None = None
    state: str | None = None
    # Status and everything else the device said (service mode, door, occupied, floor, ...).
    attrs: Mapping[str, Any] = field(default_factory=dict)
    snapshot: str | None = None  # storage name of an attached image (camera events)
