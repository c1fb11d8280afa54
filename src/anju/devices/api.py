"""The device registry over the API: list, register, change, rotate credentials, telemetry."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from anju.api.auth import community_auth, current_user
from anju.api.errors import COMMUNITY_WRITE, responses
from anju.api.pagination import Page, PageQuery, paginate
from anju.api.schemas import Input, ObjectId, Patch, SearchText, local, text
from anju.api.tenancy import get_or_404, scoped
from anju.core.permissions import Perm
from anju.devices import services
from anju.devices.models import DeadLetter, Device, DeviceKind, DeviceStream, MessageKind, ServiceMode, Telemetry
from anju.estates.models import Building, CommonPart, Unit

router = Router(tags=["devices"])

Code = Annotated[str, text(40, min_length=1)]


class DeviceOut(Schema):
    id: int
    community_id: int
    kind: DeviceKind
    code: str
    name: str
    building_id: int | None
    unit_id: int | None
    common_part_id: int | None
    place: str
    vendor: str
    model_name: str
    serial_number: str
    installed_on: dt.date | None
    maintainer: str
    maintenance_contract_ends_on: dt.date | None
    service_mode: ServiceMode
    heartbeat_seconds: int
    online: bool
    last_seen_at: dt.datetime | None
    mqtt_username: str
    topic_root: str
    attrs: dict[str, Any]

    @classmethod
    def of(cls, device: Device) -> DeviceOut:
        return cls(
            id=device.pk,
            community_id=device.community_id,
            kind=DeviceKind(device.kind),
            code=device.code,
            name=device.name,
            building_id=device.building_id,
            unit_id=device.unit_id,
            common_part_id=device.common_part_id,
            place=device.place,
            vendor=device.vendor,
            model_name=device.model_name,
            serial_number=device.serial_number,
            installed_on=device.installed_on,
            maintainer=device.maintainer,
            maintenance_contract_ends_on=device.maintenance_contract_ends_on,
            service_mode=ServiceMode(device.service_mode),
            heartbeat_seconds=device.heartbeat_seconds,
            online=device.online,
            last_seen_at=local(device.last_seen_at),
            mqtt_username=device.mqtt_username,
            topic_root="anju/" + device.mqtt_username.replace(".", "/", 1),
            attrs=device.attrs,
        )


class StreamOut(Schema):
    received: int
    lost: int
    duplicates: int
    last_message_at: dt.datetime | None


class DeviceDetailOut(DeviceOut):
    stream: StreamOut | None


class CredentialsOut(Schema):
    device: DeviceOut
    http_token: str = Field(description="Shown once: send as `Authorization: Bearer …` to /hooks/devices/….")
    mqtt_username: str
    mqtt_password: str = Field(description="Shown once.")
    topic_root: str


class DeviceIn(Input):
    kind: DeviceKind
    code: Code
    name: Annotated[str, text(100, min_length=1)]
    building_id: ObjectId | None = None
    unit_id: ObjectId | None = None
    common_part_id: ObjectId | None = None
    vendor: Annotated[str, text(100)] = ""
    model_name: Annotated[str, text(100)] = ""
    serial_number: Annotated[str, text(100)] = ""
    installed_on: dt.date | None = None
    maintainer: Annotated[str, text(100)] = ""
    maintenance_contract_ends_on: dt.date | None = None
    heartbeat_seconds: int = Field(60, ge=5, le=7 * 86400)
    attrs: dict[str, Annotated[str, text(100)] | int | float | bool] = Field(default_factory=dict, max_length=30)


class DevicePatch(Patch):
    name: Annotated[str, text(100, min_length=1)] | None = None
    vendor: Annotated[str, text(100)] | None = None
    model_name: Annotated[str, text(100)] | None = None
    serial_number: Annotated[str, text(100)] | None = None
    installed_on: dt.date | None = None
    maintainer: Annotated[str, text(100)] | None = None
    maintenance_contract_ends_on: dt.date | None = None
    heartbeat_seconds: int | None = Field(None, ge=5, le=7 * 86400)
    service_mode: ServiceMode | None = None


class DeviceFilter(Schema):
    kind: DeviceKind | None = None
    online: bool | None = None
    building_id: ObjectId | None = None
    q: SearchText = ""


def _credentials_out(device: Device, credentials: services.DeviceCredentials) -> CredentialsOut:
    return CredentialsOut(
        device=DeviceOut.of(device),
        http_token=credentials.http_token,
        mqtt_username=credentials.mqtt_username,
        mqtt_password=credentials.mqtt_password,
        topic_root=credentials.topic_root,
    )


@router.get(
    "/communities/{community_id}/devices",
    response=responses(Page[DeviceOut]),
    auth=community_auth(Perm.VIEW_DEVICES),
)
def list_devices(
    request: HttpRequest, community_id: int, page: Query[PageQuery], filters: Query[DeviceFilter]
) -> Page[DeviceOut]:
    with scoped(request, community_id, Perm.VIEW_DEVICES):
        devices = Device.objects.active().with_place().order_by("kind", "code")
        if filters.kind:
            devices = devices.filter(kind=filters.kind)
        if filters.online is not None:
            devices = devices.filter(online=filters.online)
        if filters.building_id:
            devices = devices.filter(building_id=filters.building_id)
        if filters.q:
            devices = devices.filter(Q(code__icontains=filters.q) | Q(name__icontains=filters.q))
        return paginate(devices, page, DeviceOut.of)


@router.post(
    "/communities/{community_id}/devices",
    response=responses(CredentialsOut, status=201, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.MANAGE_DEVICES),
)
def create_device(request: HttpRequest, community_id: int, payload: DeviceIn) -> Status[CredentialsOut]:
    """Register a device. The answer holds its credentials: the only time they are shown."""
    with scoped(request, community_id, Perm.MANAGE_DEVICES) as community:
        data = payload.model_dump()
        building = get_or_404(Building, data.pop("building_id"), field="building_id") if payload.building_id else None
        unit = get_or_404(Unit, data.pop("unit_id"), field="unit_id") if payload.unit_id else None
        common_part = (
            get_or_404(CommonPart, data.pop("common_part_id"), field="common_part_id")
            if payload.common_part_id
            else None
        )
        for key in ("building_id", "unit_id", "common_part_id"):
            data.pop(key, None)
        device, credentials = services.create_device(
            community=community,
            building=building,
            unit=unit,
            common_part=common_part,
            actor=current_user(request),
            **data,
        )
        device = Device.objects.with_place().get(pk=device.pk)
        return Status(201, _credentials_out(device, credentials))


@router.get(
    "/communities/{community_id}/devices/{device_id}",
    response=responses(DeviceDetailOut),
    auth=community_auth(Perm.VIEW_DEVICES),
)
def get_device(request: HttpRequest, community_id: int, device_id: int) -> DeviceDetailOut:
    with scoped(request, community_id, Perm.VIEW_DEVICES):
        device: Device = get_or_404(Device.objects.with_place(), device_id)
        stream = DeviceStream.objects.filter(device=device).first()
        return DeviceDetailOut(
            **DeviceOut.of(device).model_dump(),
            stream=StreamOut(
                received=stream.received,
                lost=stream.lost,
                duplicates=stream.duplicates,
                last_message_at=local(stream.last_message_at),
            )
            if stream
            else None,
        )


@router.patch(
    "/communities/{community_id}/devices/{device_id}",
    response=responses(DeviceOut, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.MANAGE_DEVICES),
)
def update_device(request: HttpRequest, community_id: int, device_id: int, payload: DevicePatch) -> DeviceOut:
    with scoped(request, community_id, Perm.MANAGE_DEVICES):
        device: Device = get_or_404(Device, device_id)
        changes = payload.changes()
        mode = changes.pop("service_mode", None)
        actor = current_user(request)
        if changes:
            device = services.update_device(device, actor=actor, **changes)
        if mode is not None:
            device = services.set_service_mode(device, mode, actor=actor)
        return DeviceOut.of(Device.objects.with_place().get(pk=device.pk))


@router.post(
    "/communities/{community_id}/devices/{device_id}/credentials",
    response=responses(CredentialsOut, status=201, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.MANAGE_DEVICES),
)
def rotate_credentials(request: HttpRequest, community_id: int, device_id: int) -> Status[CredentialsOut]:
    """New token and MQTT password; the old ones stop working."""
    with scoped(request, community_id, Perm.MANAGE_DEVICES):
        device: Device = get_or_404(Device.objects.with_place(), device_id)
        credentials = services.rotate_device_credentials(device, actor=current_user(request))
        return Status(201, _credentials_out(device, credentials))


class TelemetryOut(Schema):
    ts: dt.datetime
    seq: int
    kind: MessageKind
    data: dict[str, Any]


class TelemetryQuery(Schema):
    hours: int = Field(24, ge=1, le=24 * 90, description="How far back to read.")
    kind: MessageKind | None = None


@router.get(
    "/communities/{community_id}/devices/{device_id}/telemetry",
    response=responses(Page[TelemetryOut]),
    auth=community_auth(Perm.VIEW_DEVICES),
)
def device_telemetry(
    request: HttpRequest, community_id: int, device_id: int, page: Query[PageQuery], filters: Query[TelemetryQuery]
) -> Page[TelemetryOut]:
    """Stored messages of one device, newest first."""
    with scoped(request, community_id, Perm.VIEW_DEVICES):
        device: Device = get_or_404(Device, device_id)
        rows = Telemetry.objects.filter(device=device, ts__gte=timezone.now() - dt.timedelta(hours=filters.hours))
        if filters.kind:
            rows = rows.filter(kind=filters.kind)
        rows = rows.order_by("-ts", "-seq")
        return paginate(
            rows,
            page,
            lambda row: TelemetryOut(
                ts=timezone.localtime(row.ts), seq=row.seq, kind=MessageKind(row.kind), data=row.data
            ),
        )


class DeadLetterOut(Schema):
    id: int
    device_id: int | None
    source: str
    topic: str
    payload: str
    reason: str
    detail: str
    received_at: dt.datetime


@router.get(
    "/communities/{community_id}/devices-refused",
    response=responses(Page[DeadLetterOut]),
    auth=community_auth(Perm.MANAGE_DEVICES),
)
def list_dead_letters(request: HttpRequest, community_id: int, page: Query[PageQuery]) -> Page[DeadLetterOut]:
    """Messages of this community's devices that were refused, with the reason, newest first."""
    with scoped(request, community_id, Perm.MANAGE_DEVICES):
        rows = DeadLetter.objects.order_by("-received_at", "-id")
        return paginate(
            rows,
            page,
            lambda row: DeadLetterOut(
                id=row.pk,
                device_id=row.device_id,
                source=row.source,
                topic=row.topic,
                payload=row.payload,
                reason=row.reason,
                detail=row.detail,
                received_at=timezone.localtime(row.received_at),
            ),
        )
