"""The alarms API: list and read a community's alarms, acknowledge, resolve, review; residents'
outages under ``/me``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from django.db.models import Q
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from anju.api.auth import community_auth, current_user, signed_in
from anju.api.errors import COMMUNITY_WRITE, RESIDENT_READ, responses
from anju.api.pagination import Page, PageQuery, paginate
from anju.api.schemas import Input, local, text
from anju.api.tenancy import get_or_404, resident_scope, scoped
from anju.core.permissions import Perm
from anju.devices.alarms import services
from anju.devices.alarms.catalogue import ALARM_TYPES
from anju.devices.alarms.models import OPEN_STATES, Alarm, AlarmState, Severity

router = Router(tags=["alarms"])


class AlarmOut(Schema):
    id: int
    device_id: int
    device_code: str
    device_name: str
    alarm_type: str
    type_label: str
    severity: str
    state: str
    outcome: str
    message: str
    repeat_count: int
    first_occurred_at: dt.datetime
    last_occurred_at: dt.datetime
    raised_at: dt.datetime
    acknowledged_at: dt.datetime | None
    cleared_at: dt.datetime | None
    resolved_at: dt.datetime | None
    assigned_to: str | None
    review: str = Field(description="'' (none needed), pending, confirmed or false (AI cameras).")
    work_order_id: int | None
    escalation_level: int

    @classmethod
    def of(cls, alarm: Alarm) -> AlarmOut:
        return cls(
            id=alarm.pk,
            device_id=alarm.device_id,
            device_code=alarm.device.code,
            device_name=alarm.device.name,
            alarm_type=alarm.alarm_type,
            type_label=alarm.type_label,
            severity=alarm.severity,
            state=alarm.state,
            outcome=alarm.outcome,
            message=alarm.message,
            repeat_count=alarm.repeat_count,
            first_occurred_at=local(alarm.first_occurred_at),  # type: ignore[arg-type]
            last_occurred_at=local(alarm.last_occurred_at),  # type: ignore[arg-type]
            raised_at=local(alarm.raised_at),  # type: ignore[arg-type]
            acknowledged_at=local(alarm.acknowledged_at),
            cleared_at=local(alarm.cleared_at),
            resolved_at=local(alarm.resolved_at),
            assigned_to=alarm.assigned_to.get_username() if alarm.assigned_to_id else None,  # type: ignore[union-attr]
            review=alarm.review,
            work_order_id=alarm.work_order_id,
            escalation_level=alarm.escalation_level,
        )


class AlarmFilter(Schema):
    state: Literal["open", "all", "active", "acknowledged", "in_progress", "cleared", "resolved"] = Field(
        "open", description="open = active, acknowledged or in progress."
    )
    severity: Severity | None = None


def _alarms() -> object:
    return Alarm.objects.select_related("device", "assigned_to")


@router.get(
    "/communities/{community_id}/alarms",
    response=responses(Page[AlarmOut]),
    auth=community_auth(Perm.VIEW_DEVICES),
)
def list_alarms(
    request: HttpRequest, community_id: int, filters: Query[AlarmFilter], page: Query[PageQuery]
) -> Page[AlarmOut]:
    """Newest first; by default only open alarms."""
    with scoped(request, community_id, Perm.VIEW_DEVICES):
        alarms = Alarm.objects.select_related("device", "assigned_to").order_by("-raised_at", "-pk")
        if filters.state == "open":
            alarms = alarms.filter(state__in=OPEN_STATES)
        elif filters.state != "all":
            alarms = alarms.filter(state=filters.state)
        if filters.severity:
            alarms = alarms.filter(severity=filters.severity)
        return paginate(alarms, page, AlarmOut.of)


@router.get(
    "/communities/{community_id}/alarms/{alarm_id}",
    response=responses(AlarmOut),
    auth=community_auth(Perm.VIEW_DEVICES),
)
def get_alarm(request: HttpRequest, community_id: int, alarm_id: int) -> AlarmOut:
    with scoped(request, community_id, Perm.VIEW_DEVICES):
        return AlarmOut.of(get_or_404(Alarm.objects.select_related("device", "assigned_to"), alarm_id))


@router.post(
    "/communities/{community_id}/alarms/{alarm_id}/acknowledge",
    response=responses(AlarmOut, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.HANDLE_ALARMS),
)
def acknowledge(request: HttpRequest, community_id: int, alarm_id: int) -> AlarmOut:
    """Stops the escalation clock; 409 when already acknowledged or resolved."""
    with scoped(request, community_id, Perm.HANDLE_ALARMS):
        alarm = get_or_404(Alarm, alarm_id)
        services.acknowledge_alarm(alarm, actor=current_user(request))
        return AlarmOut.of(Alarm.objects.select_related("device", "assigned_to").get(pk=alarm.pk))


class ResolveIn(Input):
    outcome: Literal["fixed", "no_action", "false_alarm"]
    note: Annotated[str, text(200)] = ""


@router.post(
    "/communities/{community_id}/alarms/{alarm_id}/resolve",
    response=responses(AlarmOut, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.HANDLE_ALARMS),
)
def resolve(request: HttpRequest, community_id: int, alarm_id: int, payload: ResolveIn) -> AlarmOut:
    """Close with an outcome; a camera alarm resolved as false counts against its precision."""
    with scoped(request, community_id, Perm.HANDLE_ALARMS):
        alarm = get_or_404(Alarm, alarm_id)
        services.resolve_alarm(alarm, outcome=payload.outcome, note=payload.note, actor=current_user(request))
        return AlarmOut.of(Alarm.objects.select_related("device", "assigned_to").get(pk=alarm.pk))


class ReviewIn(Input):
    genuine: bool = Field(description="true: it really happened; false: a false alarm (closes it).")
    note: Annotated[str, text(200)] = ""


@router.post(
    "/communities/{community_id}/alarms/{alarm_id}/review",
    response=responses(AlarmOut, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.HANDLE_ALARMS),
)
def review(request: HttpRequest, community_id: int, alarm_id: int, payload: ReviewIn) -> AlarmOut:
    """The human decision an AI-camera alarm needs."""
    with scoped(request, community_id, Perm.HANDLE_ALARMS):
        alarm = get_or_404(Alarm, alarm_id)
        services.review_alarm(alarm, genuine=payload.genuine, note=payload.note, actor=current_user(request))
        return AlarmOut.of(Alarm.objects.select_related("device", "assigned_to").get(pk=alarm.pk))


class OutageOut(Schema):
    id: int
    community_id: int
    device_name: str
    place: str
    type_label: str
    since: dt.datetime
    being_handled: bool


@router.get("/me/outages", response=responses(list[OutageOut], errors=RESIDENT_READ), auth=signed_in())
def my_outages(request: HttpRequest) -> list[OutageOut]:
    """Equipment out of service in the buildings the caller lives in, or community-wide."""
    from anju.residents.models import Occupancy

    user = current_user(request)
    with resident_scope(request):
        buildings = set(
            Occupancy.objects.current().filter(person__user=user).values_list("home__building_id", flat=True)
        )
        outage_types = [code for code, kind in ALARM_TYPES.items() if kind.outage]
        rows = (
            Alarm.objects.open()
            .filter(alarm_type__in=outage_types)
            .filter(Q(device__building_id__in=buildings) | Q(device__building__isnull=True))
            .select_related("device", "device__building", "device__unit", "device__common_part")
            .order_by("-raised_at")
        )
        return [
            OutageOut(
                id=alarm.pk,
                community_id=alarm.community_id,
                device_name=str(alarm.device),
                place=alarm.device.place,
                type_label=alarm.type_label,
                since=local(alarm.first_occurred_at),  # type: ignore[arg-type]
                being_handled=alarm.state != AlarmState.ACTIVE,
            )
            for alarm in rows
        ]
