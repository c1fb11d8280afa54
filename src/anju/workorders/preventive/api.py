"""Preventive work over the API: today's rounds, a round's points, the check-in, maintenance plans.

The check-in is what a patrol app (or the phone page's enhancement) calls after scanning a point's
QR code: the token it read is the proof of presence; a token of another route or community is
refused (400 ``wrong_point``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from anju.api.auth import community_auth, current_user
from anju.api.errors import COMMUNITY_WRITE, responses
from anju.api.pagination import Page, PageQuery, paginate
from anju.api.schemas import Input, local, text
from anju.api.tenancy import get_or_404, scoped
from anju.core.permissions import Perm
from anju.workorders.preventive import services
from anju.workorders.preventive.models import CheckIn, Point, Round

router = Router(tags=["preventive"])


class RoundOut(Schema):
    id: int
    plan: str
    route: str
    day: dt.date
    window_starts_at: dt.datetime
    window_ends_at: dt.datetime
    state: str
    assignee_role: str
    assignee_id: int | None
    points_expected: int
    points_checked: int
    problems_found: int

    @classmethod
    def of(cls, round_: Round) -> RoundOut:
        return cls(
            id=round_.pk,
            plan=round_.plan.name,
            route=round_.route.name,
            day=round_.day,
            window_starts_at=local(round_.window_starts_at),  # type: ignore[arg-type]
            window_ends_at=local(round_.window_ends_at),  # type: ignore[arg-type]
            state=round_.state,
            assignee_role=round_.assignee_role,
            assignee_id=round_.assignee_id,
            points_expected=round_.points_expected,
            points_checked=round_.points_checked,
            problems_found=round_.problems_found,
        )


class RoundPointOut(Schema):
    id: int
    position: int
    name: str
    place: str
    checklist: str
    checked_at: dt.datetime | None
    result: str | None


class RoundDetailOut(RoundOut):
    points: list[RoundPointOut]


class RoundsQuery(Schema):
    day: dt.date | None = Field(None, description="Local day (Asia/Shanghai); today when omitted.")


@router.get(
    "/communities/{community_id}/preventive/rounds",
    response=responses(Page[RoundOut]),
    auth=community_auth(Perm.VIEW_WORKORDERS),
)
def list_rounds(
    request: HttpRequest, community_id: int, filters: Query[RoundsQuery], page: Query[PageQuery]
) -> Page[RoundOut]:
    """The rounds of one local day (cancelled ones left out), in window order; today's include a
    night round begun yesterday that is still open."""
    day = filters.day or timezone.localdate()
    with scoped(request, community_id, Perm.VIEW_WORKORDERS):
        rows = (
            Round.objects.of_day(day, timezone.now()).select_related("plan", "route").order_by("window_starts_at", "pk")
        )
        return paginate(rows, page, RoundOut.of)


def _round_detail(round_: Round) -> RoundDetailOut:
    checkins = {c.point_id: c for c in CheckIn.objects.filter(round=round_)}
    points = Point.objects.filter(route_id=round_.route_id).select_related("building", "unit__building", "common_part")
    return RoundDetailOut(
        **RoundOut.of(round_).model_dump(),
        points=[
            RoundPointOut(
                id=point.pk,
                position=point.position,
                name=point.name,
                place=point.place,
                checklist=point.checklist,
                checked_at=local(checkins[point.pk].checked_at) if point.pk in checkins else None,
                result=checkins[point.pk].result if point.pk in checkins else None,
            )
            for point in points
            if point.active or point.pk in checkins
        ],
    )


@router.get(
    "/communities/{community_id}/preventive/rounds/{patrol_round_id}",
    response=responses(RoundDetailOut),
    auth=community_auth(Perm.VIEW_WORKORDERS),
)
def get_round(request: HttpRequest, community_id: int, patrol_round_id: int) -> RoundDetailOut:
    with scoped(request, community_id, Perm.VIEW_WORKORDERS):
        round_: Round = get_or_404(Round.objects.select_related("plan", "route"), patrol_round_id)
        return _round_detail(round_)


class CheckInIn(Input):
    token: Annotated[str, text(40, min_length=1)] = Field(
        description="What the point's QR code holds (or the typed code)."
    )
    result: Literal["ok", "problem"]
    note: Annotated[str, text(2000)] = ""
    category_code: Annotated[str, text(40)] = Field(
        "", description="Work-order category for a problem; from the point's place when empty."
    )
    method: Literal["scan", "typed"] = "scan"


class CheckInOut(Schema):
    id: int
    point_id: int
    point: str
    result: str
    checked_at: dt.datetime
    work_order_ref: str
    round: RoundOut


@router.post(
    "/communities/{community_id}/preventive/rounds/{patrol_round_id}/checkins",
    response=responses(CheckInOut, status=201, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.VIEW_WORKORDERS),
)
def create_check_in(
    request: HttpRequest, community_id: int, patrol_round_id: int, payload: CheckInIn
) -> Status[CheckInOut]:
    """Check in at a point of the round's route. Refusals: 400 ``wrong_point`` (token not on this
    route), 409 ``outside_window`` / ``round_closed`` / ``already_checked``, 403 when the round is
    assigned to someone else."""
    with scoped(request, community_id, Perm.VIEW_WORKORDERS):
        round_ = get_or_404(Round, patrol_round_id)
        checkin = services.check_in(
            round_=round_,
            token=payload.token,
            result=payload.result,
            note=payload.note,
            method=payload.method,
            category_code=payload.category_code,
            actor=current_user(request),
        )
        round_ = Round.objects.select_related("plan", "route").get(pk=round_.pk)
        return Status(
            201,
            CheckInOut(
                id=checkin.pk,
                point_id=checkin.point_id,
                point=checkin.point.name,
                result=checkin.result,
                checked_at=local(checkin.checked_at),  # type: ignore[arg-type]
                work_order_ref=checkin.work_order_ref,
                round=RoundOut.of(round_),
            ),
        )


class MaintenancePlanOut(Schema):
    id: int
    name: str
    kind: str
    statutory: bool
    equipment: str
    active: bool
    next_due: dt.date | None
    overdue: bool
    last_done: dt.date | None
    pending_work_order_ref: str


@router.get(
    "/communities/{community_id}/preventive/maintenance",
    response=responses(list[MaintenancePlanOut]),
    auth=community_auth(Perm.VIEW_WORKORDERS),
)
def list_maintenance(request: HttpRequest, community_id: int) -> list[MaintenancePlanOut]:
    """Every maintenance plan with its next due date and overdue flag."""
    with scoped(request, community_id, Perm.VIEW_WORKORDERS):
        return [
            MaintenancePlanOut(
                id=row.plan.pk,
                name=row.plan.name,
                kind=row.plan.kind,
                statutory=row.plan.statutory,
                equipment=row.plan.equipment,
                active=row.plan.active,
                next_due=row.next_due,
                overdue=row.overdue,
                last_done=row.last_done,
                pending_work_order_ref=row.pending_ref,
            )
            for row in services.maintenance_overview()
        ]
