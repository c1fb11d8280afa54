"""Access control over the API: doors, controllers, credentials, passes, the guard desk, the log,
and ``/me/access`` for residents (their QR, their visitors, their household's log).

Controllers themselves do not use this API: they authenticate with their own token on the endpoints
in :mod:`anju.access.controller_views`.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router
from ninja.responses import Status

from anju.access import services, signing
from anju.access.models import AccessEvent, Controller, Credential, Delivery, DenyEntry, Door, StaffShift, VisitorPass
from anju.access.passes import lives_in, verify_at_desk
from anju.access.schemas import (
    AdmitIn,
    AnswerIn,
    ControllerCreatedOut,
    ControllerIn,
    ControllerOut,
    CredentialFilters,
    CredentialIn,
    CredentialOut,
    DeliveryIn,
    DeliveryOut,
    DenyIn,
    DenyOut,
    DoorIn,
    DoorOut,
    EndIn,
    EventOut,
    LogFilters,
    MyPassOut,
    MyQrOut,
    PassIn,
    PassOut,
    SettingsOut,
    SettingsPatch,
    ShiftIn,
    ShiftOut,
    VerifyIn,
    VerifyOut,
    WalkInIn,
)
from anju.api.auth import community_auth, current_user
from anju.api.errors import COMMUNITY_WRITE, OWN_WRITE, RESIDENT_READ, SIGNED_IN, responses
from anju.api.pagination import Page, PageQuery, paginate
from anju.api.schemas import Input, local
from anju.api.tenancy import get_or_404, resident_scope, scoped
from anju.core.errors import NotFound
from anju.core.models import User
from anju.core.permissions import Perm
from anju.devices.models import Device
from anju.estates.models import Building, Home, Unit
from anju.residents.models import Occupancy, Person

router = Router(tags=["access"])


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
