"""HTTP ingestion for devices that cannot speak MQTT, and camera event pushes.

``POST /hooks/devices/<channel>/`` takes one message (the same JSON as over MQTT) or
``{"messages": [...]}`` with up to 500, authenticated by the device's token
(``Authorization: Bearer anjud_…``, ``X-Device-Token``, or ``?token=`` for equipment that can only
be given a URL). Answers ``202 {"stored", "duplicates", "refused"}``; a refused message is kept as
a dead letter and answered ``400 {"code", "message"}`` when nothing of the request was usable.

``POST /hooks/cameras/hikvision/`` and ``/hooks/cameras/dahua/`` take what AI cameras push, with
the known quirks tolerated (see :mod:`anju.devices.camera`): the event becomes an ``event``
message ``camera.<type>`` with state ``active``/``inactive`` and the snapshot, when one came with it,
saved to storage and referenced from the message.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from anju.core.tenancy import scopes_disabled
from anju.devices import camera
from anju.devices.ingest import DeviceRef, Ingestor
from anju.devices.messages import Channel
from anju.devices.models import DeadLetter, Device
from anju.devices.parsing import Refused, decode_json
from anju.devices.services import authenticate_device

MAX_MESSAGES_PER_REQUEST = 500
MAX_BODY_BYTES = 6 * 1024 * 1024


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message}, status=status)


def _token(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return (request.headers.get("X-Device-Token") or request.GET.get("token") or "").strip()


def _device(request: HttpRequest) -> Device | None:
    secret = _token(request)
    if not secret:
        return None
    with scopes_disabled():
        return authenticate_device(secret)


def _ref(device: Device) -> DeviceRef:
    return DeviceRef(device.pk, device.community_id, device.community.code, device.code, device.kind)


def _unauthorised() -> JsonResponse:
    response = _error(401, "invalid_device_token", _("The device token is missing, unknown or revoked."))
    response["WWW-Authenticate"] = 'Bearer realm="anju-devices"'
    return response


def _answer(ingestor: Ingestor, accepted: int, refused: list[tuple[str, str]]) -> JsonResponse:
    result = ingestor.flush()
    if accepted == 0 and refused:
        reason, detail = refused[0]
        return JsonResponse(
            {"code": reason, "message": _("The message was refused: %(detail)s") % {"detail": detail or reason}},
            status=400,
        )
    return JsonResponse(
        {"stored": len(result.stored), "duplicates": result.duplicates, "refused": len(refused)}, status=202
    )


@csrf_exempt
@require_POST
def device_messages(request: HttpRequest, channel: Channel) -> HttpResponse:
    device = _device(request)
    if device is None:
        return _unauthorised()
    if len(request.body) > MAX_BODY_BYTES:
        return _error(413, "too_large", _("The request is too large."))
    ref = _ref(device)
    ingestor = Ingestor(source=DeadLetter.Source.HTTP)
    path = request.path[:300]
    received_at = timezone.now()
    try:
        body = decode_json(request.body)
    except Refused as refusal:
        ingestor.refuse(path, request.body, refusal.reason, refusal.detail, ref=ref, received_at=received_at)
        return _answer(ingestor, 0, [(refusal.reason, refusal.detail)])
    items: list[Any] = body["messages"] if isinstance(body.get("messages"), list) else [body]
    if len(items) > MAX_MESSAGES_PER_REQUEST:
        return _error(
            413, "too_many", _("At most %(count)d messages per request.") % {"count": MAX_MESSAGES_PER_REQUEST}
        )
    accepted = 0
    refused: list[tuple[str, str]] = []
    for item in items:
        if not isinstance(item, dict):
            ingestor.refuse(
                path, json.dumps(item)[:4000], "bad_json", "not an object", ref=ref, received_at=received_at
            )
            refused.append(("bad_json", "not an object"))
            continue
        before = len(ingestor.dead)
        if ingestor.accept_body(ref, channel, item, received_at=received_at, topic=path) is not None:
            accepted += 1
        elif len(ingestor.dead) > before:
            letter = ingestor.dead[-1]
            refused.append((letter.reason, letter.detail))
    return _answer(ingestor, accepted, refused)


def _camera_push(request: HttpRequest, parse: Any) -> HttpResponse:
    device = _device(request)
    if device is None:
        return _unauthorised()
    if len(request.body) > MAX_BODY_BYTES:
        return _error(413, "too_large", _("The request is too large."))
    ref = _ref(device)
    ingestor = Ingestor(source=DeadLetter.Source.CAMERA)
    received_at = timezone.now()
    path = request.path[:300]
    try:
        push = parse(request)
        body = camera.to_message_body(push, device)
        snapshot = camera.save_snapshot(push, device, received_at) if push.snapshot else None
    except Refused as refusal:
        raw = request.body if len(request.body) < 4000 else request.body[:4000]
        ingestor.refuse(path, raw, refusal.reason, refusal.detail, ref=ref, received_at=received_at)
        return _answer(ingestor, 0, [(refusal.reason, refusal.detail)])
    message = ingestor.accept_body(ref, "event", body, received_at=received_at, topic=path, snapshot=snapshot)
    if message is None:
        letter = ingestor.dead[-1]
        return _answer(ingestor, 0, [(letter.reason, letter.detail)])
    return _answer(ingestor, 1, [])


@csrf_exempt
@require_POST
def hikvision_push(request: HttpRequest) -> HttpResponse:
    return _camera_push(request, camera.parse_hikvision)


@csrf_exempt
@require_POST
def dahua_push(request: HttpRequest) -> HttpResponse:
    return _camera_push(request, camera.parse_dahua)
