"""Request and response schemas of the access API (:mod:`anju.access.api`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from ninja import Field, Schema

from anju.access.models import AccessEvent, Controller, Credential, Delivery, Door, VisitorPass
from anju.api.schemas import Input, ObjectId, local, text


class DoorOut(Schema):
    id: int
    name: str
    kind: str
    building_id: int | None
    unit_id: int | None
    floor: int | None
    controller_id: int | None
    controller_online: bool
    last_event_at: dt.datetime | None
    last_result: str

    @classmethod
    def of(cls, door: Door) -> DoorOut:
        return cls(
            id=door.pk,
            name=door.name,
            kind=door.kind,
            building_id=door.building_id,
            unit_id=door.unit_id,
            floor=door.floor,
            controller_id=door.controller_id,
            controller_online=bool(door.controller and door.controller.is_online),
            last_event_at=local(door.last_event_at),
            last_result=door.last_result,
        )


class DoorIn(Input):
    name: Annotated[str, text(100, min_length=1)]
    kind: Door.Kind
    building_id: ObjectId | None = None
    unit_id: ObjectId | None = None
    floor: int | None = Field(None, ge=-10, le=200)
    controller_id: ObjectId | None = None


class ControllerOut(Schema):
    id: int
    name: str
    code: str
    online: bool
    synced_version: int
    last_sync_at: dt.datetime | None
    device_id: int | None

    @classmethod
    def of(cls, controller: Controller) -> ControllerOut:
        return cls(
            id=controller.pk,
            name=controller.name,
            code=controller.code,
            device_id=controller.device_id,
            online=controller.is_online,
            synced_version=controller.synced_version,
            last_sync_at=local(controller.last_sync_at),
        )


class ControllerCreatedOut(ControllerOut):
    token: str = Field(description="Shown once: configure it on the controller.")


class ControllerIn(Input):
    name: Annotated[str, text(100, min_length=1)]
    code: Annotated[str, text(40, min_length=1)]
    device_id: ObjectId | None = Field(None, description="The controller's device in the registry (for its alarms).")


class CredentialOut(Schema):
    id: int
    kind: str
    person_id: int | None
    user_id: int | None
    display: str
    valid_from: dt.datetime
    valid_until: dt.datetime | None
    ended_at: dt.datetime | None
    ended_reason: str

    @classmethod
    def of(cls, credential: Credential) -> CredentialOut:
        return cls(
            id=credential.pk,
            kind=credential.kind,
            person_id=credential.person_id,
            user_id=credential.user_id,
            display=credential.display,
            valid_from=local(credential.valid_from),  # type: ignore[arg-type]
            valid_until=local(credential.valid_until),
            ended_at=local(credential.ended_at),
            ended_reason=credential.ended_reason,
        )


class CredentialIn(Input):
    kind: Credential.Kind
    person_id: ObjectId | None = None
    user_id: ObjectId | None = None
    card_number: Annotated[str, text(40)] = ""
    plate: Annotated[str, text(12)] = ""
    face_template_ref: Annotated[str, text(80)] = ""
    valid_until: dt.datetime | None = None


class CredentialFilters(Schema):
    person_id: ObjectId | None = None
    user_id: ObjectId | None = None
    active: bool = True


class EndIn(Input):
    reason: Annotated[str, text(40)] = "ended"


class PassOut(Schema):
    id: int
    kind: str
    status: str
    home_id: int
    visitor_name: str
    visitor_phone_masked: str
    plate: str
    valid_from: dt.datetime
    valid_until: dt.datetime
    max_uses: int
    uses: int
    code: str

    @classmethod
    def of(cls, visitor_pass: VisitorPass) -> PassOut:
        return cls(
            id=visitor_pass.pk,
            kind=visitor_pass.kind,
            status=visitor_pass.status,
            home_id=visitor_pass.host_home_id,
            visitor_name=visitor_pass.visitor_name,
            visitor_phone_masked=visitor_pass.visitor_phone_masked,
            plate=visitor_pass.plate,
            valid_from=local(visitor_pass.valid_from),  # type: ignore[arg-type]
            valid_until=local(visitor_pass.valid_until),  # type: ignore[arg-type]
            max_uses=visitor_pass.max_uses,
            uses=visitor_pass.uses,
            code=visitor_pass.code,
        )


class MyPassOut(PassOut):
    token: str = Field(description="The signed QR token; any controller of the community verifies it offline.")
    share_path: str = Field(description="A page showing the QR to the visitor, to share as a link.")


class PassIn(Input):
    home_id: ObjectId
    visitor_name: Annotated[str, text(60)] = ""
    visitor_phone: Annotated[str, text(20)] = ""
    plate: Annotated[str, text(12)] = ""
    valid_from: dt.datetime | None = Field(None, description="Defaults to now.")
    valid_until: dt.datetime
    max_uses: int = Field(2, ge=1, le=20)


class VerifyIn(Input):
    scanned: Annotated[str, text(400, min_length=1)] = Field(description="A scanned token or the 8-digit code.")
    door_id: ObjectId | None = None


class VerifyOut(Schema):
    allowed: bool
    reason: str
    visitor_pass: PassOut | None
    uses_left: int | None


class AdmitIn(Input):
    visitor_pass_id: ObjectId
    door_id: ObjectId | None = None


class EventOut(Schema):
    id: int
    occurred_at: dt.datetime
    door_id: int | None
    door_name: str
    result: str
    method: str
    reason: str
    person_id: int | None
    person_name: str
    visitor_pass_id: int | None
    home_id: int | None

    @classmethod
    def of(cls, event: AccessEvent) -> EventOut:
        return cls(
            id=event.pk,
            occurred_at=local(event.occurred_at),  # type: ignore[arg-type]
            door_id=event.door_id,
            door_name=event.door.name if event.door else "",
            result=event.result,
            method=event.method,
            reason=event.reason,
            person_id=event.person_id,
            person_name=event.person.name if event.person else "",
            visitor_pass_id=event.visitor_pass_id,
            home_id=event.home_id,
        )


class LogFilters(Schema):
    door_id: ObjectId | None = None
    person_id: ObjectId | None = None
    home_id: ObjectId | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    result: AccessEvent.Result | None = None


class WalkInIn(Input):
    home_id: ObjectId
    visitor_name: Annotated[str, text(60, min_length=1)]
    visitor_phone: Annotated[str, text(20)] = ""
    plate: Annotated[str, text(12)] = ""
    note: Annotated[str, text(200)] = ""


class DeliveryIn(Input):
    home_id: ObjectId
    carrier: Annotated[str, text(60, min_length=1)]
    note: Annotated[str, text(200)] = ""


class DeliveryOut(Schema):
    id: int
    home_id: int
    carrier: str
    status: str
    visitor_pass_id: int | None
    created_at: dt.datetime

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        return cls(
            id=delivery.pk,
            home_id=delivery.home_id,
            carrier=delivery.carrier,
            status=delivery.status,
            visitor_pass_id=delivery.visitor_pass_id,
            created_at=local(delivery.created_at),  # type: ignore[arg-type]
        )


class DenyIn(Input):
    reason: Annotated[str, text(200, min_length=1)]
    person_id: ObjectId | None = None
    credential_id: ObjectId | None = None
    ends_at: dt.datetime | None = None


class DenyOut(Schema):
    id: int
    reason: str
    person_id: int | None
    credential_id: int | None
    starts_at: dt.datetime
    ends_at: dt.datetime | None
    lifted_at: dt.datetime | None


class SettingsOut(Schema):
    version: int
    log_retention_days: int
    qr_lifetime_seconds: int
    denial_alarm_threshold: int
    denial_alarm_window_minutes: int


class SettingsPatch(Input):
    log_retention_days: int | None = Field(None, ge=1, le=3650)
    qr_lifetime_seconds: int | None = Field(None, ge=15, le=600)
    denial_alarm_threshold: int | None = Field(None, ge=2, le=100)
    denial_alarm_window_minutes: int | None = Field(None, ge=1, le=1440)


class MyQrOut(Schema):
    community_id: int
    community_name: str
    token: str
    expires_at: dt.datetime


class AnswerIn(Input):
    accept: bool


class ShiftOut(Schema):
    id: int
    role: str
    door_kinds: list[str]
    weekdays: int = Field(description="Bit mask, Monday = bit 0.")
    start_time: dt.time
    end_time: dt.time


class ShiftIn(Input):
    role: Annotated[str, text(30, min_length=1)]
    door_kinds: list[Door.Kind] = Field(min_length=1, max_length=5)
    weekdays: int = Field(0b1111111, ge=1, le=127)
    start_time: dt.time
    end_time: dt.time = Field(description="At or before start_time: the shift runs past midnight.")
