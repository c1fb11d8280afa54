"""Reading AI-camera event pushes: Hikvision ISAPI-style and Dahua-style, quirks included.

Cameras are not polite clients. What this module tolerates, on purpose:

* **Unescaped XML.** Hikvision's ``EventNotificationAlert`` sometimes carries a raw ``&`` or ``<``
  in ``eventDescription`` or a channel name, which no XML parser accepts. The fields anju needs are
  flat, so they are read with a namespace-agnostic tag pattern instead of a parser.
* **Several encodings of one event.** XML or JSON, as the whole body or as one part of a
  ``multipart/form-data`` upload whose other part is the JPEG snapshot (with or without a file
  name, with any part name).
* **Repeated "active".** While an event lasts, cameras re-post it every second or so
  (``activePostCount`` counts up). Each post is stored once (same content and time is a duplicate);
  the alarm rules turn a run of them into one alarm per episode.
* **No "inactive".** Many cameras never send the end of an event; the alarm rules clear an episode
  after silence. Nothing here waits for it.
* **Wrong clocks and local times without an offset.** A time without offset is read as Beijing
  time; a camera clock more than five minutes off is replaced by the arrival time (the camera's
  own time is kept in the message).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import HttpRequest

from anju.devices.models import Device
from anju.devices.parsing import Refused

BEIJING = ZoneInfo("Asia/Shanghai")
MAX_SNAPSHOT_BYTES = 5 * 1024 * 1024
CLOCK_TOLERANCE = dt.timedelta(minutes=5)

# Vendor event types (lower-cased) → anju's camera event names.
HIKVISION_EVENTS = {
    "vmd": "motion",
    "fielddetection": "intrusion",
    "regionentrance": "intrusion",
    "linedetection": "line_crossing",
    "falldown": "fall",
    "fall": "fall",
    "personfall": "fall",
    "ebike": "ebike",
    "ebikedetection": "ebike",
    "electricbicycle": "ebike",
    "nonmotorvehicle": "ebike",
    "fireescapedetection": "fire_exit_blocked",
    "fireexitblocked": "fire_exit_blocked",
    "channelblocked": "fire_exit_blocked",
    "smokedetection": "smoke",
    "firedetection": "fire",
    "videoloss": "video_loss",
    "shelteralarm": "tamper",
    "tamperdetection": "tamper",
}
DAHUA_EVENTS = {
    "videomotion": "motion",
    "crossregiondetection": "intrusion",
    "crosslinedetection": "line_crossing",
    "falldetection": "fall",
    "humanfall": "fall",
    "electricbikedetection": "ebike",
    "ebikedetection": "ebike",
    "nonmotordetect": "ebike",
    "fireexitblocked": "fire_exit_blocked",
    "passageblocked": "fire_exit_blocked",
    "smokedetection": "smoke",
    "firedetection": "fire",
    "videoloss": "video_loss",
    "videoblind": "tamper",
}
DAHUA_ACTIONS = {"start": "active", "pulse": "active", "stop": "inactive"}


@dataclass
class CameraPush:
    vendor: str
    event_type: str  # as the camera named it
    state: str  # active / inactive
    camera_time: dt.datetime | None = None
    channel: int | None = None
    active_posts: int | None = None
    description: str = ""
    snapshot: bytes | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _tag(text: str, name: str) -> str | None:
    """The text of the first ``<name>`` element, any namespace prefix, no XML parser needed."""
    match = re.search(rf"<(?:\w+:)?{name}\b[^>]*>(.*?)</(?:\w+:)?{name}\s*>", text, re.IGNORECASE | re.DOTALL)
    return match.group(1).strip() if match else None


def _int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def parse_camera_time(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        when = dt.datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=BEIJING)
    return when.astimezone(dt.UTC)


def _is_image(data: bytes) -> bool:
    return data.startswith((b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n"))


def _parts(request: HttpRequest) -> tuple[list[str], bytes | None]:
    """The textual documents and the image of a push, wherever in the request they came."""
    texts: list[str] = []
    image: bytes | None = None
    content_type = request.content_type or ""
    if content_type.startswith("multipart/"):
        for upload in request.FILES.values():
            data = upload.read(MAX_SNAPSHOT_BYTES + 1)  # type: ignore[union-attr]
            if _is_image(data):
                image = image or data
            else:
                texts.append(data.decode("utf-8", errors="replace"))
        for values in request.POST.lists():
            texts.extend(value for value in values[1] if value.strip())
    else:
        body = request.body
        if _is_image(body):
            image = body
        else:
            texts.append(body.decode("utf-8", errors="replace"))
    if image is not None and len(image) > MAX_SNAPSHOT_BYTES:
        raise Refused("snapshot_too_large", f"{len(image)} bytes")
    return texts, image


def _json(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def parse_hikvision(request: HttpRequest) -> CameraPush:
    texts, image = _parts(request)
    for text in texts:
        document = _json(text)
        if document is not None:
            alert = document.get("EventNotificationAlert", document)
            if isinstance(alert, dict) and alert.get("eventType"):
                return CameraPush(
                    vendor="hikvision",
                    event_type=str(alert["eventType"])[:60],
                    state=str(alert.get("eventState") or "active").lower()[:20],
                    camera_time=parse_camera_time(alert.get("dateTime")),
                    channel=_int(alert.get("channelID")),
                    active_posts=_int(alert.get("activePostCount")),
                    description=str(alert.get("eventDescription") or "")[:200],
                    snapshot=image,
                )
        event_type = _tag(text, "eventType")
        if event_type:
            return CameraPush(
                vendor="hikvision",
                event_type=event_type[:60],
                state=(_tag(text, "eventState") or "active").lower()[:20],
                camera_time=parse_camera_time(_tag(text, "dateTime")),
                channel=_int(_tag(text, "channelID") or _tag(text, "dynChannelID")),
                active_posts=_int(_tag(text, "activePostCount")),
                description=(_tag(text, "eventDescription") or "")[:200],
                snapshot=image,
            )
    raise Refused("bad_camera_event", "no eventType in the push")


def _dahua_text(text: str) -> dict[str, str]:
    """``Code=VideoMotion;action=Start;index=0`` (the event-stream line format), keys lower-cased."""
    fields: dict[str, str] = {}
    for piece in re.split(r"[;&\r\n]+", text):
        if "=" in piece:
            key, _, value = piece.partition("=")
            fields[key.strip().lower()] = value.strip()
    return fields


def parse_dahua(request: HttpRequest) -> CameraPush:
    texts, image = _parts(request)
    for text in texts:
        document = _json(text)
        if document is not None:
            events = document.get("Events")
            if isinstance(events, list) and events and isinstance(events[0], dict):
                document = events[0]
            lowered = {str(k).lower(): v for k, v in document.items()}
            data = lowered.get("data") if isinstance(lowered.get("data"), dict) else {}
        else:
            lowered = dict(_dahua_text(text))
            data = {}
        code = lowered.get("code")
        if code:
            action = str(lowered.get("action") or "Start").lower()
            return CameraPush(
                vendor="dahua",
                event_type=str(code)[:60],
                state=DAHUA_ACTIONS.get(action, "active"),
                camera_time=parse_camera_time(
                    lowered.get("time") or lowered.get("utc") or (data or {}).get("LocaleTime")
                ),
                channel=_int(lowered.get("index")),
                snapshot=image,
            )
    raise Refused("bad_camera_event", "no Code in the push")


def event_name(push: CameraPush, device: Device) -> str:
    """``camera.<what>``; an e-bike is ``camera.ebike_in_lift`` when the camera watches a lift car
    (placed on a lift common part, or ``attrs.watches == "lift"``), else ``camera.ebike_in_corridor``."""
    table = HIKVISION_EVENTS if push.vendor == "hikvision" else DAHUA_EVENTS
    key = re.sub(r"[^a-z0-9]", "", push.event_type.lower())
    what = table.get(key) or re.sub(r"[^a-z0-9_]", "_", push.event_type.lower())[:40] or "unknown"
    if what == "ebike":
        in_lift = device.attrs.get("watches") == "lift" or (
            device.common_part is not None and device.common_part.kind == "lift"
        )
        what = "ebike_in_lift" if in_lift else "ebike_in_corridor"
    return f"camera.{what}"


def to_message_body(push: CameraPush, device: Device, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """The push as an ``event`` message body for :func:`anju.devices.parsing.build_message`."""
    now = now or dt.datetime.now(dt.UTC)
    state = push.state if push.state in ("active", "inactive") else "active"
    data: dict[str, Any] = {"vendor_event": push.event_type[:60]}
    if push.channel is not None:
        data["channel"] = push.channel
    if push.active_posts is not None:
        data["active_posts"] = push.active_posts
    if push.description:
        data["description"] = push.description[:200]
    ts: float | None = None
    if push.camera_time is not None:
        if abs(push.camera_time - now) <= CLOCK_TOLERANCE:
            ts = push.camera_time.timestamp()
        else:
            data["camera_time"] = push.camera_time.isoformat()
    return {"ts": ts, "event": event_name(push, device), "state": state, "data": data}


def save_snapshot(push: CameraPush, device: Device, received_at: dt.datetime) -> str:
    """Store the snapshot after checking it is a real image; returns its storage name."""
    from PIL import Image, UnidentifiedImageError

    assert push.snapshot is not None
    try:
        with Image.open(io.BytesIO(push.snapshot)) as image:
            image_format = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise Refused("bad_snapshot", "the snapshot is not a readable image") from None
    extension = "png" if image_format == "PNG" else "jpg"
    local = received_at.astimezone(BEIJING)
    name = f"devices/snapshots/{device.community_id}/{local:%Y%m%d}/{device.code}-{uuid.uuid4().hex}.{extension}"
    return default_storage.save(name, ContentFile(push.snapshot))
