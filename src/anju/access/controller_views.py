"""The endpoints door controllers call, authenticated by their own token (``Authorization: Bearer actl_…``).

* ``GET /access/controller/sync/?since=<version>`` — the allow-list and revocations changed since
  that version (or a full snapshot), with the community's public keys (:func:`anju.access.sync.payload_for`);
* ``POST /access/controller/events/`` ``{"events": [...]}`` — a batch of decisions, stored once each;
* ``POST /access/controller/decide/`` ``{"door_id", "card" | "plate" | "face" | "token"}`` — an online
  decision, for controllers that ask rather than decide locally.

Anything without a valid controller token is answered 401 before the request is looked at.
``GET /access/v/?t=<token>`` is the public page a resident shares with a visitor: the token is the
whole authority, and the page shows nothing but the pass itself.
"""

from __future__ import annotations

import json
from typing import Any

import segno
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from anju.access import services, signing, tokens
from anju.access.events import decide_online
from anju.access.models import Controller, Door, VisitorPass
from anju.core.errors import DomainError
from anju.core.tenancy import community_scope, scopes_disabled
from anju.estates.models import Community


def _error(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message}, status=status)


def _controller(request: HttpRequest) -> Controller | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    return services.authenticate_controller(header[len("Bearer ") :].strip())


def _unauthenticated() -> JsonResponse:
    return _error(401, "unauthenticated", _("Send the controller's token as “Authorization: Bearer …”."))


def _body(request: HttpRequest) -> dict[str, Any] | None:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


@csrf_exempt
def controller_sync(request: HttpRequest) -> JsonResponse:
    controller = _controller(request)
    if controller is None:
        return _unauthenticated()
    if request.method != "GET":
        return _error(405, "method_not_allowed", _("Use GET."))
    raw = request.GET.get("since", "0")
    if not raw.isdigit() or len(raw) > 18:
        return _error(400, "invalid", _("“since” must be the version the controller last applied."))
    with community_scope(controller.community_id):
        from anju.access import sync

        payload = sync.payload_for(controller, int(raw))
        services.record_controller_sync(controller, version=payload["version"])
    return JsonResponse(payload)


@csrf_exempt
def controller_events(request: HttpRequest) -> JsonResponse:
    controller = _controller(request)
    if controller is None:
        return _unauthenticated()
    if request.method != "POST":
        return _error(405, "method_not_allowed", _("Use POST."))
    body = _body(request)
    events = body.get("events") if body else None
    if not isinstance(events, list):
        return _error(400, "invalid", _("Send {“events”: [...]}."))
    try:
        result = services.ingest_events(controller, events)
    except DomainError as exc:
        return _error(exc.status, exc.code, str(exc.message))
    return JsonResponse(
        {
            "stored": result.stored,
            "duplicates": result.duplicates,
            "refused": result.refused,
            "acknowledged_up_to": result.last_event_id,
            "alarms": result.alarms,
        }
    )


@csrf_exempt
def controller_decide(request: HttpRequest) -> JsonResponse:
    controller = _controller(request)
    if controller is None:
        return _unauthenticated()
    if request.method != "POST":
        return _error(405, "method_not_allowed", _("Use POST."))
    body = _body(request)
    if body is None or not isinstance(body.get("door_id"), int):
        return _error(400, "invalid", _("Send the door_id and what was presented."))
    presented = {name: body.get(name) for name in ("card", "plate", "face", "token")}
    if not any(isinstance(v, str) and v for v in presented.values()):
        return _error(400, "invalid", _("Send the door_id and what was presented."))
    with community_scope(controller.community_id):
        door = Door.objects.filter(pk=body["door_id"], controller=controller, retired_at__isnull=True).first()
        if door is None:
            return _error(404, "not_found", _("This controller has no such door."))
        verdict = decide_online(
            door,
            card=_text(presented["card"]),
            plate=_text(presented["plate"]),
            face=_text(presented["face"]),
            token=_text(presented["token"]),
        )
    return JsonResponse({"allowed": verdict.allowed, "reason": verdict.reason})


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def shared_pass(request: HttpRequest) -> HttpResponse:
    """The page a visitor opens from the link the resident shared: the QR, the typed code, the
    window, the community. 404 for anything but a valid, current pass (names nothing otherwise)."""
    text = "".join(request.GET.get("t", "").split())
    if request.method != "GET" or not text:
        raise Http404
    try:
        claims, _body_bytes, _signature = tokens.decode(text)
    except tokens.TokenError:
        raise Http404 from None
    if claims.kind != tokens.KIND_PASS:
        raise Http404
    with scopes_disabled():
        community = Community.objects.filter(pk=claims.community_id).first()
    if community is None:
        raise Http404
    with community_scope(community.pk):
        try:
            tokens.verify(text, signing.public_keys(community.pk))
        except tokens.TokenError:
            raise Http404 from None
        visitor_pass = VisitorPass.objects.filter(pk=claims.subject_id).first()
        if (
            visitor_pass is None
            or visitor_pass.status != VisitorPass.Status.ACTIVE
            or visitor_pass.valid_until <= timezone.now()
        ):
            raise Http404
        qr = segno.make(text, error="m")
        return render(
            request,
            "access/shared_pass.html",
            {
                "community": community,
                "visitor_pass": visitor_pass,
                "qr_svg": qr.svg_inline(scale=5, border=2),
                "token": text,
            },
        )
