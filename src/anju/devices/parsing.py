"""Turning what a device sent into a :class:`~anju.devices.messages.DeviceMessage`, or a refusal.

The wire format (MQTT topic ``anju/<community code>/<device code>/<channel>``, or an HTTP POST with
the device's token) is a JSON object::

    {"seq": 1042, "ts": 1764000000.25, "data": {"pressure_mpa": 0.31, "pump": "running"}}
    {"seq": 1043, "ts": "2026-11-24T22:00:00+08:00", "event": "lift.fault.02", "state": "raise"}
    {"seq": 1044, "ts": 1764000001, "online": true, "mode": "maintenance"}

``seq`` (a non-negative integer the device increments per message) is optional but without it
duplicates are recognised only when identical; ``ts`` is the device's clock (seconds or
milliseconds since the epoch, or ISO 8601) and defaults to the arrival time. Numbers in ``data``
become ``points``, everything else ``attrs``. Every refusal names a stable ``reason`` that the
dead-letter table keeps with the payload.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from anju.devices.messages import Channel, DeviceMessage

CHANNELS: frozenset[str] = frozenset({"telemetry", "event", "status"})
MAX_PAYLOAD_BYTES = 64 * 1024
MAX_POINTS = 64
MAX_KEY_LENGTH = 40
MAX_TEXT_LENGTH = 200
CLOCK_AHEAD_LIMIT = dt.timedelta(minutes=5)
MAX_SEQ = 2**62
UTC = dt.UTC


class Refused(Exception):
    """A message that cannot be accepted; ``reason`` is a stable code, ``detail`` says more."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail[:300]
        super().__init__(f"{reason}: {detail}")


@dataclass(frozen=True, slots=True)
class Topic:
    community_code: str
    device_code: str
    channel: Channel


def parse_topic(topic: str) -> Topic:
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != "anju" or not parts[1] or not parts[2] or parts[3] not in CHANNELS:
        raise Refused("bad_topic", topic[:200])
    return Topic(parts[1], parts[2], parts[3])  # type: ignore[arg-type]


def parse_time(value: Any, *, received_at: dt.datetime, max_age: dt.timedelta) -> dt.datetime:
    """The device's timestamp as an aware UTC datetime, refused when implausible."""
    if value is None:
        return received_at
    if isinstance(value, bool):
        raise Refused("bad_time", repr(value))
    if isinstance(value, int | float):
        if not math.isfinite(value) or value <= 0:
            raise Refused("bad_time", repr(value))
        seconds = value / 1000.0 if value > 1e11 else float(value)  # milliseconds from 1973 on
        try:
            when = dt.datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            raise Refused("bad_time", repr(value)) from None
    elif isinstance(value, str):
        try:
            when = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise Refused("bad_time", value[:100]) from None
        if when.tzinfo is None:
            raise Refused("bad_time", "a timestamp needs its UTC offset")
        when = when.astimezone(UTC)
    else:
        raise Refused("bad_time", type(value).__name__)
    if when > received_at + CLOCK_AHEAD_LIMIT:
        raise Refused("clock_ahead", when.isoformat())
    if when < received_at - max_age:
        raise Refused("too_old", when.isoformat())
    return when


_VALID_KEYS: set[str] = set()  # point names already checked: the same few names arrive millions of times
_VALID_KEYS_LIMIT = 10_000
_isfinite = math.isfinite


def _check_key(key: Any) -> None:
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
        raise Refused("bad_data", f"bad point name {str(key)[:50]!r}")
    if not key.replace("_", "").replace(".", "").isalnum() or not key.isascii():
        raise Refused("bad_data", f"bad point name {key[:50]!r}")
    if len(_VALID_KEYS) >= _VALID_KEYS_LIMIT:
        _VALID_KEYS.clear()
    _VALID_KEYS.add(key)


def split_data(data: Any) -> tuple[dict[str, float], dict[str, Any]]:
    """Numeric values become points (floats); booleans, short strings and nulls become attributes.

    This runs for every data point ingested, so it dispatches on the exact type and remembers
    point names it has already checked."""
    if data is None:
        return {}, {}
    if type(data) is not dict:
        raise Refused("bad_data", "data must be an object")
    if len(data) > MAX_POINTS:
        raise Refused("bad_data", f"more than {MAX_POINTS} points")
    points: dict[str, float] = {}
    attrs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _VALID_KEYS:
            _check_key(key)
        kind = type(value)
        if kind is float:
            if not _isfinite(value):
                raise Refused("bad_data", f"{key} is not a finite number")
            points[key] = value
        elif kind is int:
            if not -(2**63) <= value < 2**63:
                raise Refused("bad_data", f"{key} is out of range")
            points[key] = float(value)
        elif kind is bool or value is None:
            attrs[key] = value
        elif kind is str:
            if len(value) > MAX_TEXT_LENGTH or "\x00" in value:
                raise Refused("bad_data", f"{key} is too long")
            attrs[key] = value
        else:
            raise Refused("bad_data", f"{key} must be a number, text, true/false or null")
    return points, attrs


def synthetic_seq(channel: str, body: Mapping[str, Any]) -> int:
    """A key part for a message without ``seq``: negative, so it never collides with real sequence
    numbers, and equal for identical content, so an identical re-post at the same time is a
    duplicate while two different events at the same second are both kept."""
    digest = zlib.crc32(json.dumps([channel, body], sort_keys=True, default=str).encode())
    return -1 - digest


def decode_json(payload: bytes | str) -> dict[str, Any]:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise Refused("too_large", f"{len(payload)} bytes")
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused("bad_json", str(exc)[:200]) from None
    if not isinstance(body, dict):
        raise Refused("bad_json", "the payload must be a JSON object")
    return body


def build_message(
    body: dict[str, Any],
    *,
    channel: Channel,
    community_id: int,
    device_id: int,
    device_kind: str,
    received_at: dt.datetime,
    max_age: dt.timedelta,
    snapshot: str | None = None,
) -> DeviceMessage:
    """Validate one decoded payload for a known device."""
    raw_seq = body.get("seq")
    if raw_seq is None:
        seq = None
    elif isinstance(raw_seq, int) and not isinstance(raw_seq, bool) and 0 <= raw_seq < MAX_SEQ:
        seq = raw_seq
    else:
        raise Refused("bad_seq", repr(raw_seq)[:50])
    sent_at = parse_time(body.get("ts"), received_at=received_at, max_age=max_age)
    points, attrs = split_data(body.get("data"))
    event = state = None
    if channel == "event":
        event = body.get("event")
        if not isinstance(event, str) or not event or len(event) > 80:
            raise Refused("bad_event", "an event needs a code in “event”")
        state = body.get("state")
        if state is not None and (not isinstance(state, str) or len(state) > 20):
            raise Refused("bad_event", "state must be short text")
    elif channel == "status":
        for key in ("online", "mode", "reason", "firmware"):
            if key in body:
                value = body[key]
                if not isinstance(value, bool | str | int | float) or (isinstance(value, str) and len(value) > 80):
                    raise Refused("bad_status", key)
                attrs[key] = value
    return DeviceMessage(
        community_id=community_id,
        device_id=device_id,
        device_kind=device_kind,
        channel=channel,
        received_at=received_at,
        sent_at=sent_at,
        seq=seq,
        points=points,
        event=event,
        state=state,
        attrs=attrs,
        snapshot=snapshot,
    )


def storage_key(message: DeviceMessage) -> tuple[int, dt.datetime, int]:
    """The telemetry table's key of a message: (device, device time, sequence number)."""
    ts = message.sent_at or message.received_at
    if message.seq is not None:
        return message.device_id, ts, message.seq
    body = {
        "points": dict(message.points),
        "attrs": dict(message.attrs),
        "event": message.event,
        "state": message.state,
    }
    return message.device_id, ts, synthetic_seq(message.channel, body)


def stored_data(message: DeviceMessage) -> dict[str, Any]:
    """What the telemetry row's ``data`` column keeps of a message."""
    data: dict[str, Any] = {**message.points, **message.attrs}
    if message.event is not None:
        data["event"] = message.event
        if message.state is not None:
            data["state"] = message.state
    if message.snapshot:
        data["snapshot"] = message.snapshot
    return data
