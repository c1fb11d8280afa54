"""Access control over the API: doors, controllers, credentials, passes, the guard desk, the log,
and ``/me/access`` for residents (their QR, their visitors, their household's log).

Controllers themselves do not use this API: they authenticate with their own token on the endpoints
in :mod:`anju.access.controller_views`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from anju.access import services, signing
from anju.access.models import AccessEvent, Controller, Credential, Delivery, DenyEntry, Door, StaffShift, VisitorPass
from anju.access.passes import lives_in, verify_at_desk
from anju.api.auth import community_auth, current_user
from anju.api.errors import COMMUNITY_WRITE, OWN_WRITE, RESIDENT_READ, SIGNED_IN, responses
from anju.api.pagination import Page, PageQuery, paginate
from anju.api.schemas import Input, ObjectId, local, text
from anju.api.tenancy import get_or_404, resident_scope, scoped
from anju.core.errors import NotFound
from anju.core.models import User
from anju.core.permissions import Perm
from anju.devices.models import Device
from anju.estates.models import Building, Home, Unit
from anju.residents.models import Occupancy, Person

router = Router(tags=["access"])


# --- Schemas ------------------------------------------------------------------------------------------------


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


# --- Doors and controllers ----------------------------------------------------------------------------------


@router.get(
    "/communities/{community_id}/access/doors", response=responses(list[DoorOut]), auth=community_auth(Perm.VIEW_ACCESS)
)
def list_doors(request: HttpRequest, community_id: int) -> list[DoorOut]:
    with scoped(request, community_id, Perm.VIEW_ACCESS):
        doors = Door.objects.filter(retired_at__isnull=True).select_related("controller")
        return [DoorOut.of(d) for d in doors]


@router.post(
    "/communities/{community_id}/access/doors",
    response=responses(DoorOut, status=201, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.MANAGE_ACCESS),
)
def create_door(request: HttpRequest, community_id: int, payload: DoorIn) -> Status[DoorOut]:
    with scoped(request, community_id, Perm.MANAGE_ACCESS) as community:
        building = get_or_404(Building, payload.building_id, field="building_id") if payload.building_id else None
        unit = get_or_404(Unit, payload.unit_id, field="unit_id") if payload.unit_id else None
        controller = (
            get_or_404(Controller, payload.controller_id, field="controller_id") if payload.controller_id else None
        )
        door = services.create_door(
            community=community,
            name=payload.name,
            kind=str(payload.kind),
            building=building,
            unit=unit,
            floor=payload.floor,
            controller=controller,
            actor=current_user(request),
        )
        return Status(201, DoorOut.of(door))


@router.get(
    "/communities/{community_id}/access/controllers",
    response=responses(list[ControllerOut]),
    auth=community_auth(Perm.VIEW_ACCESS),
)
def list_controllers(request: HttpRequest, community_id: int) -> list[ControllerOut]:
    with scoped(request, community_id, Perm.VIEW_ACCESS):
        return [ControllerOut.of(c) for c in Controller.objects.filter(retired_at__isnull=True)]


@router.post(
    "/communities/{community_id}/access/controllers",
    response=responses(ControllerCreatedOut, status=201, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.MANAGE_ACCESS),
)
def create_controller(request: HttpRequest, community_id: int, payload: ControllerIn) -> Status[ControllerCreatedOut]:
    with scoped(request, community_id, Perm.MANAGE_ACCESS) as community:
        device = get_or_404(Device, payload.device_id, field="device_id") if payload.device_id else None
        controller, token = services.create_controller(
            community=community, name=payload.name, code=payload.code, actor=current_user(request)
        )
        if device is not None:
            services.bind_controller_device(controller, device=device, actor=current_user(request))
        return Status(201, ControllerCreatedOut(**ControllerOut.of(controller).model_dump(), token=token))


# --- Credentials --------------------------------------------------------------------------------------------


@router.get(
    "/communities/{community_id}/access/credentials",
    response=responses(Page[CredentialOut]),
    auth=community_auth(Perm.VIEW_ACCESS),
)
def list_credentials(
    request: HttpRequest, community_id: int, filters: Query[CredentialFilters], page: Query[PageQuery]
) -> Page[CredentialOut]:
    with scoped(request, community_id, Perm.VIEW_ACCESS):
        rows = Credential.objects.all()
        if filters.person_id:
            rows = rows.filter(person_id=filters.person_id)
        if filters.user_id:
            rows = rows.filter(user_id=filters.user_id)
        if filters.active:
            rows = rows.filter(ended_at__isnull=True)
        return paginate(rows, page, CredentialOut.of)


@router.post(
    "/communities/{community_id}/access/credentials",
    response=responses(CredentialOut, status=201, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.MANAGE_ACCESS),
)
def issue_credential(request: HttpRequest, community_id: int, payload: CredentialIn) -> Status[CredentialOut]:
    """Issue a card (number as the reader prints it), plate, face template reference or portal QR."""
    with scoped(request, community_id, Perm.MANAGE_ACCESS) as community:
        person = get_or_404(Person, payload.person_id, field="person_id") if payload.person_id else None
        user = None
        if payload.user_id:
            user = User.objects.filter(pk=payload.user_id, is_active=True).first()
            if user is None:
                raise NotFound(field="user_id")
        credential = services.issue_credential(
            community=community,
            kind=str(payload.kind),
            person=person,
            user=user,
            card_number=payload.card_number,
            plate=payload.plate,
            face_template_ref=payload.face_template_ref,
            valid_until=payload.valid_until,
            actor=current_user(request),
        )
        return Status(201, CredentialOut.of(credential))


@router.post(
    "/communities/{community_id}/access/credentials/{credential_id}/end",
    response=responses(CredentialOut, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.MANAGE_ACCESS),
)
def end_credential(request: HttpRequest, community_id: int, credential_id: int, payload: EndIn) -> CredentialOut:
    with scoped(request, community_id, Perm.MANAGE_ACCESS):
        credential = get_or_404(Credential, credential_id)
        return CredentialOut.of(services.end_credential(credential, reason=payload.reason, actor=current_user(request)))


# --- Deny list, keys, settings ------------------------------------------------------------------------------


def _deny_out(entry: DenyEntry) -> DenyOut:
    return DenyOut(
        id=entry.pk,
        reason=entry.reason,
        person_id=entry.person_id,
        credential_id=entry.credential_id,
        starts_at=local(entry.starts_at),  # type: ignore[arg-type]
        ends_at=local(entry.ends_at),
        lifted_at=local(entry.lifted_at),
    )


@router.get(
    "/communities/{community_id}/access/deny", response=responses(list[DenyOut]), auth=community_auth(Perm.VIEW_ACCESS)
)
def list_deny_entries(request: HttpRequest, community_id: int) -> list[DenyOut]:
    with scoped(request, community_id, Perm.VIEW_ACCESS):
        return [_deny_out(e) for e in DenyEntry.objects.filter(lifted_at__isnull=True)]


@router.post(
    "/communities/{community_id}/access/deny",
    response=responses(DenyOut, status=201, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.MANAGE_ACCESS),
)
def add_deny_entry(request: HttpRequest, community_id: int, payload: DenyIn) -> Status[DenyOut]:
    with scoped(request, community_id, Perm.MANAGE_ACCESS) as community:
        person = get_or_404(Person, payload.person_id, field="person_id") if payload.person_id else None
        credential = (
            get_or_404(Credential, payload.credential_id, field="credential_id") if payload.credential_id else None
        )
        entry = services.add_deny_entry(
            community=community,
            reason=payload.reason,
            person=person,
            credential=credential,
            ends_at=payload.ends_at,
            actor=current_user(request),
        )
        return Status(201, _deny_out(entry))


@router.post(
    "/communities/{community_id}/access/deny/{deny_id}/lift",
    response=responses(DenyOut, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.MANAGE_ACCESS),
)
def lift_deny_entry(request: HttpRequest, community_id: int, deny_id: int) -> DenyOut:
    with scoped(request, community_id, Perm.MANAGE_ACCESS):
        entry = get_or_404(DenyEntry, deny_id)
        return _deny_out(services.lift_deny_entry(entry, actor=current_user(request)))


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


def _shift_out(shift: StaffShift) -> ShiftOut:
    return ShiftOut(
        id=shift.pk,
        role=shift.role,
        door_kinds=list(shift.door_kinds),
        weekdays=shift.weekdays,
        start_time=shift.start_time,
        end_time=shift.end_time,
    )


@router.get(
    "/communities/{community_id}/access/shifts",
    response=responses(list[ShiftOut]),
    auth=community_auth(Perm.VIEW_ACCESS),
)
def list_shifts(request: HttpRequest, community_id: int) -> list[ShiftOut]:
    """The staff roles' door rights in force now."""
    with scoped(request, community_id, Perm.VIEW_ACCESS):
        from anju.access.sync import access_settings

        access_settings(community_id)
        return [_shift_out(s) for s in StaffShift.objects.filter(ends_at__isnull=True)]


@router.post(
    "/communities/{community_id}/access/shifts",
    response=responses(ShiftOut, status=201, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.MANAGE_ACCESS),
)
def set_shift(request: HttpRequest, community_id: int, payload: ShiftIn) -> Status[ShiftOut]:
    """Replace a staff role's door rights (the previous shifts end now and stay as history)."""
    with scoped(request, community_id, Perm.MANAGE_ACCESS) as community:
        shift = services.set_staff_shift(
            community=community,
            role=payload.role,
            door_kinds=[str(kind) for kind in payload.door_kinds],
            weekdays=payload.weekdays,
            start_time=payload.start_time,
            end_time=payload.end_time,
            actor=current_user(request),
        )
        return Status(201, _shift_out(shift))


@router.post(
    "/communities/{community_id}/access/keys/rotate",
    response=responses(dict[str, int], errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.MANAGE_ACCESS),
)
def rotate_key(request: HttpRequest, community_id: int) -> dict[str, int]:
    """A new signing key for new passes; passes already out stay valid until they expire."""
    with scoped(request, community_id, Perm.MANAGE_ACCESS) as community:
        key = services.rotate_signing_key(community=community, actor=current_user(request))
        return {"kid": key.kid}


def _settings_out(community_id: int) -> SettingsOut:
    from anju.access.sync import access_settings

    row = access_settings(community_id)
    return SettingsOut(
        version=row.version,
        log_retention_days=row.log_retention_days,
        qr_lifetime_seconds=row.qr_lifetime_seconds,
        denial_alarm_threshold=row.denial_alarm_threshold,
        denial_alarm_window_minutes=row.denial_alarm_window_minutes,
    )


@router.get(
    "/communities/{community_id}/access/settings",
    response=responses(SettingsOut),
    auth=community_auth(Perm.VIEW_ACCESS),
)
def get_settings(request: HttpRequest, community_id: int) -> SettingsOut:
    with scoped(request, community_id, Perm.VIEW_ACCESS):
        return _settings_out(community_id)


@router.patch(
    "/communities/{community_id}/access/settings",
    response=responses(SettingsOut, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.MANAGE_ACCESS),
)
def update_settings(request: HttpRequest, community_id: int, payload: SettingsPatch) -> SettingsOut:
    """Retention of the access log (days), the resident QR lifetime, and the repeated-denial alarm."""
    with scoped(request, community_id, Perm.MANAGE_ACCESS) as community:
        changes = {k: v for k, v in payload.model_dump(exclude_unset=True).items() if v is not None}
        services.update_access_settings(community=community, actor=current_user(request), **changes)
        return _settings_out(community_id)


# --- Passes and the guard desk ------------------------------------------------------------------------------


@router.get(
    "/communities/{community_id}/access/passes",
    response=responses(Page[PassOut]),
    auth=community_auth(Perm.VIEW_ACCESS),
)
def list_passes(request: HttpRequest, community_id: int, page: Query[PageQuery]) -> Page[PassOut]:
    with scoped(request, community_id, Perm.VIEW_ACCESS):
        return paginate(VisitorPass.objects.all(), page, PassOut.of)


@router.post(
    "/communities/{community_id}/access/passes/{visitor_pass_id}/revoke",
    response=responses(PassOut, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.GUARD_DESK),
)
def revoke_pass(request: HttpRequest, community_id: int, visitor_pass_id: int) -> PassOut:
    with scoped(request, community_id, Perm.GUARD_DESK):
        visitor_pass = get_or_404(VisitorPass, visitor_pass_id)
        return PassOut.of(services.revoke_visitor_pass(visitor_pass, actor=current_user(request)))


@router.post(
    "/communities/{community_id}/access/desk/verify",
    response=responses(VerifyOut, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.GUARD_DESK),
)
def desk_verify(request: HttpRequest, community_id: int, payload: VerifyIn) -> VerifyOut:
    """Check a scanned pass token or typed code as a controller would. Records nothing."""
    with scoped(request, community_id, Perm.GUARD_DESK):
        door = get_or_404(Door, payload.door_id, field="door_id") if payload.door_id else None
        verdict = verify_at_desk(community_id, payload.scanned, door=door)
        return VerifyOut(
            allowed=verdict.allowed,
            reason=verdict.reason,
            visitor_pass=PassOut.of(verdict.visitor_pass) if verdict.visitor_pass else None,
            uses_left=verdict.uses_left,
        )


@router.post(
    "/communities/{community_id}/access/desk/admit",
    response=responses(EventOut, status=201, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.GUARD_DESK),
)
def desk_admit(request: HttpRequest, community_id: int, payload: AdmitIn) -> Status[EventOut]:
    with scoped(request, community_id, Perm.GUARD_DESK):
        visitor_pass: VisitorPass = get_or_404(VisitorPass.objects.select_related("host_home"), payload.visitor_pass_id)
        door = get_or_404(Door, payload.door_id, field="door_id") if payload.door_id else None
        event = services.admit_at_desk(visitor_pass, door=door, actor=current_user(request))
        return Status(201, EventOut.of(event))


@router.post(
    "/communities/{community_id}/access/desk/walk-ins",
    response=responses(PassOut, status=201, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.GUARD_DESK),
)
def register_walk_in(request: HttpRequest, community_id: int, payload: WalkInIn) -> Status[PassOut]:
    """Register a visitor at the gate; the household confirms in the app before the pass works."""
    with scoped(request, community_id, Perm.GUARD_DESK) as community:
        home = get_or_404(Home, payload.home_id, field="home_id")
        visitor_pass = services.register_walk_in(
            community=community,
            home=home,
            visitor_name=payload.visitor_name,
            visitor_phone=payload.visitor_phone,
            plate=payload.plate,
            note=payload.note,
            actor=current_user(request),
        )
        return Status(201, PassOut.of(visitor_pass))


@router.post(
    "/communities/{community_id}/access/desk/deliveries",
    response=responses(DeliveryOut, status=201, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.GUARD_DESK),
)
def register_delivery(request: HttpRequest, community_id: int, payload: DeliveryIn) -> Status[DeliveryOut]:
    with scoped(request, community_id, Perm.GUARD_DESK) as community:
        home = get_or_404(Home, payload.home_id, field="home_id")
        delivery = services.register_delivery(
            community=community, home=home, carrier=payload.carrier, note=payload.note, actor=current_user(request)
        )
        return Status(201, DeliveryOut.of(delivery))


@router.post(
    "/communities/{community_id}/access/desk/deliveries/{delivery_id}/collect",
    response=responses(DeliveryOut, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.GUARD_DESK),
)
def collect_delivery(request: HttpRequest, community_id: int, delivery_id: int) -> DeliveryOut:
    with scoped(request, community_id, Perm.GUARD_DESK):
        delivery = get_or_404(Delivery, delivery_id)
        return DeliveryOut.of(services.collect_delivery(delivery, actor=current_user(request)))


# --- The log ------------------------------------------------------------------------------------------------


def filter_log(rows: QuerySet[AccessEvent], filters: LogFilters) -> QuerySet[AccessEvent]:
    if filters.door_id:
        rows = rows.filter(door_id=filters.door_id)
    if filters.person_id:
        rows = rows.filter(person_id=filters.person_id)
    if filters.home_id:
        rows = rows.filter(home_id=filters.home_id)
    if filters.since:
        rows = rows.filter(occurred_at__gte=filters.since)
    if filters.until:
        rows = rows.filter(occurred_at__lt=filters.until)
    if filters.result:
        rows = rows.filter(result=filters.result)
    return rows


@router.get(
    "/communities/{community_id}/access/log",
    response=responses(Page[EventOut]),
    auth=community_auth(Perm.VIEW_ACCESS_LOG),
)
def access_log(
    request: HttpRequest, community_id: int, filters: Query[LogFilters], page: Query[PageQuery]
) -> Page[EventOut]:
    """The access log by door, person, home and time (newest first)."""
    with scoped(request, community_id, Perm.VIEW_ACCESS_LOG):
        rows = filter_log(AccessEvent.objects.select_related("door", "person"), filters)
        return paginate(rows, page, EventOut.of)


# --- Me: residents ------------------------------------------------------------------------------------------


def _my_people(request: HttpRequest) -> list[Person]:
    """The caller's person records where they currently live (one per community)."""
    rows = (
        Occupancy.objects.current()
        .filter(person__user=current_user(request))
        .select_related("person", "community")
        .order_by("community_id", "starts_on", "pk")
    )
    people: dict[int, Person] = {}
    for occupancy in rows:
        people.setdefault(occupancy.community_id, occupancy.person)
    return list(people.values())


def _my_home_ids(request: HttpRequest) -> list[int]:
    return list(
        Occupancy.objects.current().filter(person__user=current_user(request)).values_list("home_id", flat=True)
    )


def _my_pass_out(visitor_pass: VisitorPass) -> MyPassOut:
    from django.urls import reverse

    token = signing.pass_token(visitor_pass)
    return MyPassOut(
        **PassOut.of(visitor_pass).model_dump(), token=token, share_path=reverse("access_shared_pass") + f"?t={token}"
    )


@router.get("/me/access/qr", response=responses(list[MyQrOut], errors=SIGNED_IN))
def my_qr(request: HttpRequest) -> list[MyQrOut]:
    """A fresh short-lived QR token per community the caller lives in (issued on first use)."""
    out = []
    with resident_scope(request):
        for person in _my_people(request):
            credential = services.ensure_qr_credential(person, actor=current_user(request))
            token, lifetime = services.resident_qr(credential)
            out.append(
                MyQrOut(
                    community_id=person.community_id,
                    community_name=person.community.name,
                    token=token,
                    expires_at=local(timezone.now() + dt.timedelta(seconds=lifetime)),  # type: ignore[arg-type]
                )
            )
    return out


@router.get("/me/access/passes", response=responses(list[MyPassOut], errors=SIGNED_IN))
def my_passes(request: HttpRequest) -> list[MyPassOut]:
    """Passes for the caller's homes that have not ended more than a day ago."""
    with resident_scope(request):
        rows = VisitorPass.objects.filter(
            host_home_id__in=_my_home_ids(request), valid_until__gt=timezone.now() - dt.timedelta(days=1)
        ).select_related("host_home", "key")
        return [_my_pass_out(p) for p in rows]


@router.post("/me/access/passes", response=responses(MyPassOut, status=201, errors=OWN_WRITE))
def invite_visitor(request: HttpRequest, payload: PassIn) -> Status[MyPassOut]:
    """Invite a visitor to one of your homes: returns the signed QR token and a link to share."""
    user = current_user(request)
    with resident_scope(request):
        home = Home.objects.filter(pk=payload.home_id, pk__in=_my_home_ids(request)).first()
        if home is None:
            raise NotFound(field="home_id")
        host = lives_in(user, home)
        assert host is not None
        visitor_pass = services.create_visitor_pass(
            host_person=host,
            host_home=home,
            valid_from=payload.valid_from or timezone.now(),
            valid_until=payload.valid_until,
            max_uses=payload.max_uses,
            visitor_name=payload.visitor_name,
            visitor_phone=payload.visitor_phone,
            plate=payload.plate,
            actor=user,
        )
        return Status(201, _my_pass_out(visitor_pass))


def _my_pass(request: HttpRequest, visitor_pass_id: int) -> VisitorPass:
    visitor_pass = (
        VisitorPass.objects.filter(pk=visitor_pass_id, host_home_id__in=_my_home_ids(request))
        .select_related("host_home", "key")
        .first()
    )
    if visitor_pass is None:
        raise NotFound()
    return visitor_pass


@router.post("/me/access/passes/{visitor_pass_id}/revoke", response=responses(PassOut, errors=OWN_WRITE))
def revoke_my_pass(request: HttpRequest, visitor_pass_id: int) -> PassOut:
    with resident_scope(request):
        visitor_pass = _my_pass(request, visitor_pass_id)
        return PassOut.of(services.revoke_visitor_pass(visitor_pass, actor=current_user(request)))


@router.post("/me/access/passes/{visitor_pass_id}/answer", response=responses(PassOut, errors=(*OWN_WRITE, 409)))
def answer_walk_in(request: HttpRequest, visitor_pass_id: int, payload: AnswerIn) -> PassOut:
    """Let a walk-in visitor the guard registered come in, or decline."""
    with resident_scope(request):
        visitor_pass = _my_pass(request, visitor_pass_id)
        return PassOut.of(services.answer_walk_in(visitor_pass, accept=payload.accept, actor=current_user(request)))


class DeliveryAnswerIn(Input):
    let_in: bool


@router.get("/me/access/deliveries", response=responses(list[DeliveryOut], errors=SIGNED_IN))
def my_deliveries(request: HttpRequest) -> list[DeliveryOut]:
    with resident_scope(request):
        rows = Delivery.objects.filter(home_id__in=_my_home_ids(request)).exclude(status=Delivery.Status.COLLECTED)
        return [DeliveryOut.of(d) for d in rows]


@router.post("/me/access/deliveries/{delivery_id}/answer", response=responses(DeliveryOut, errors=(*OWN_WRITE, 409)))
def answer_delivery(request: HttpRequest, delivery_id: int, payload: DeliveryAnswerIn) -> DeliveryOut:
    with resident_scope(request):
        delivery = Delivery.objects.filter(pk=delivery_id, home_id__in=_my_home_ids(request)).first()
        if delivery is None:
            raise NotFound()
        return DeliveryOut.of(services.answer_delivery(delivery, let_in=payload.let_in, actor=current_user(request)))


@router.get("/me/access/log", response=responses(Page[EventOut], errors=RESIDENT_READ))
def my_log(request: HttpRequest, page: Query[PageQuery]) -> Page[EventOut]:
    """Entries of the caller's household (their homes' residents and visitors), newest first."""
    with resident_scope(request):
        since = timezone.now() - dt.timedelta(days=31)
        rows = AccessEvent.objects.filter(home_id__in=_my_home_ids(request), occurred_at__gte=since).select_related(
            "door", "person"
        )
        return paginate(rows, page, EventOut.of)
