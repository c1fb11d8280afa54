"""Inspection plans, their schedule versions, round generation, check-ins and missed rounds."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from anju.core import audit
from anju.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from anju.core.models import Role, User
from anju.core.notifications import notify
from anju.core.permissions import Access, Perm, access_for, staff_with_role
from anju.core.tenancy import community_scope, scopes_disabled
from anju.estates.models import Community
from anju.workorders.preventive import schedules
from anju.workorders.preventive.models import (
    CheckIn,
    Frequency,
    InspectionPlan,
    InspectionSchedule,
    Point,
    Round,
    Route,
)
from anju.workorders.preventive.photos import validate_photo
from anju.workorders.preventive.services.routes import normalize_token
from anju.workorders.preventive.workorders import open_finding_order

# Rounds are generated for today and tomorrow (local days), so tomorrow's early patrol exists
# before midnight and a job that runs every few minutes never leaves a gap.
HORIZON_DAYS = 1
ASSIGNABLE_ROLES = (Role.GUARD, Role.TECHNICIAN, Role.STEWARD, Role.MANAGER)


def local_today(now: dt.datetime | None = None) -> dt.date:
    return timezone.localdate(now or timezone.now())


def _clean_rule(
    *, frequency: str, weekdays: Iterable[int], month_days: Iterable[int], window_start: dt.time, window_end: dt.time
) -> tuple[list[int], list[int]]:
    if frequency not in Frequency.values:
        raise DomainError(_("Choose daily, weekly or monthly."), field="frequency")
    days = sorted({int(d) for d in weekdays})
    dates = sorted({int(d) for d in month_days})
    if frequency == Frequency.WEEKLY:
        if not days or any(d < 1 or d > 7 for d in days):
            raise DomainError(_("Choose at least one weekday for a weekly plan."), field="weekdays")
        dates = []
    elif frequency == Frequency.MONTHLY:
        if not dates or any(d < 1 or d > 31 for d in dates):
            raise DomainError(_("Choose days of the month between 1 and 31."), field="month_days")
        days = []
    else:
        days, dates = [], []
    if window_start == window_end:
        raise DomainError(_("The window must close at a different time than it opens."), field="window_end")
    return days, dates


def _clean_assignee(community_id: int, role: str, assignee: User | None) -> None:
    if role not in ASSIGNABLE_ROLES:
        raise DomainError(
            _("Rounds can be assigned to guards, technicians, stewards or managers."), field="assignee_role"
        )
    if assignee is not None and not access_for(assignee).has_role(role, community_id):
        raise DomainError(_("That person does not hold the assigned role in this community."), field="assignee")


@transaction.atomic
def create_inspection_plan(
    *,
    route: Route,
    name: str,
    frequency: str,
    window_start: dt.time,
    window_end: dt.time,
    weekdays: Sequence[int] = (),
    month_days: Sequence[int] = (),
    assignee_role: str = Role.GUARD,
    assignee: User | None = None,
    starts_on: dt.date | None = None,
    actor: User | None,
) -> InspectionPlan:
    """A plan to walk ``route`` on a schedule, from ``starts_on`` (today by default)."""
    name = name.strip()
    if not name:
        raise DomainError(_("A plan needs a name."), field="name")
    if not route.active:
        raise DomainError(_("That route is no longer in use."), field="route")
    days, dates = _clean_rule(
        frequency=frequency, weekdays=weekdays, month_days=month_days, window_start=window_start, window_end=window_end
    )
    _clean_assignee(route.community_id, assignee_role, assignee)
    starts_on = starts_on or local_today()
    with community_scope(route.community_id):
        plan = InspectionPlan.objects.create(community_id=route.community_id, route=route, name=name)
        schedule = InspectionSchedule.objects.create(
            community_id=route.community_id,
            plan=plan,
            effective_from=starts_on,
            frequency=frequency,
            weekdays=days,
            month_days=dates,
            window_start=window_start,
            window_end=window_end,
            assignee_role=assignee_role,
            assignee=assignee,
            created_by=actor,
        )
    audit.record(
        actor=actor,
        action="preventive.plan.create",
        obj=plan,
        after={**audit.snapshot(plan), "schedule": audit.snapshot(schedule)},
    )
    return plan


@transaction.atomic
def change_inspection_schedule(
    *,
    plan: InspectionPlan,
    effective_from: dt.date,
    frequency: str,
    window_start: dt.time,
    window_end: dt.time,
    weekdays: Sequence[int] = (),
    month_days: Sequence[int] = (),
    assignee_role: str = Role.GUARD,
    assignee: User | None = None,
    actor: User | None,
    now: dt.datetime | None = None,
) -> InspectionSchedule:
    """A new schedule version from ``effective_from`` (today or later: the past is never rewritten).

    Rounds of the old version on or after that day that nobody has started yet are cancelled (and
    regenerated by the next run under the new version); started, finished and missed rounds stay.
    """
    now = now or timezone.now()
    if effective_from < local_today(now):
        raise DomainError(_("A new schedule can start today at the earliest."), field="effective_from")
    days, dates = _clean_rule(
        frequency=frequency, weekdays=weekdays, month_days=month_days, window_start=window_start, window_end=window_end
    )
    _clean_assignee(plan.community_id, assignee_role, assignee)
    with community_scope(plan.community_id):
        InspectionPlan.objects.select_for_update().get(pk=plan.pk)  # one schedule change at a time
        if InspectionSchedule.objects.filter(plan=plan, effective_from=effective_from).exists():
            raise Conflict(
                _("A schedule version already starts on that day; choose another day."), field="effective_from"
            )
        schedule = InspectionSchedule.objects.create(
            community_id=plan.community_id,
            plan=plan,
            effective_from=effective_from,
            frequency=frequency,
            weekdays=days,
            month_days=dates,
            window_start=window_start,
            window_end=window_end,
            assignee_role=assignee_role,
            assignee=assignee,
            created_by=actor,
        )
        cancelled = Round.objects.filter(plan=plan, day__gte=effective_from, state=Round.State.SCHEDULED).update(
            state=Round.State.CANCELLED
        )
    audit.record(
        actor=actor,
        action="preventive.plan.change_schedule",
        obj=plan,
        after={**audit.snapshot(schedule), "rounds_cancelled": cancelled},
    )
    return schedule


@transaction.atomic
def set_plan_active(*, plan: InspectionPlan, active: bool, actor: User | None) -> InspectionPlan:
    """Pause or resume a plan. Pausing cancels its rounds nobody has started yet."""
    with community_scope(plan.community_id):
        plan.active = active
        plan.save(update_fields=["active"])
        cancelled = 0
        if not active:
            cancelled = Round.objects.filter(plan=plan, state=Round.State.SCHEDULED).update(state=Round.State.CANCELLED)
    audit.record(
        actor=actor,
        action="preventive.plan.set_active",
        obj=plan,
        after={"active": active, "rounds_cancelled": cancelled},
    )
    return plan


# --- Generation ----------------------------------------------------------------------------------


def generate_rounds(*, community_ids: Iterable[int] | None = None, now: dt.datetime | None = None) -> int:
    """Create the rounds of every active plan for today and tomorrow (local days) whose windows have
    not closed yet. Returns how many rounds were created.

    Safe to run twice at once: each round is inserted in its own transaction under the unique
    constraint (plan, day) for live rounds, and a losing insert (IntegrityError) is skipped. A round
    whose window has already closed is not created (it would be born missed): rounds are created a
    day ahead, so this only happens to a plan created or re-timed after that day's window.
    """
    now = now or timezone.now()
    today = local_today(now)
    last_day = today + dt.timedelta(days=HORIZON_DAYS)
    with scopes_disabled():
        ids = (
            list(community_ids)
            if community_ids is not None
            else list(InspectionPlan.objects.filter(active=True).values_list("community_id", flat=True).distinct())
        )
    created = 0
    for community_id in sorted(set(ids)):
        with community_scope(community_id):
            plans = list(InspectionPlan.objects.filter(active=True, route__active=True).select_related("route"))
            for plan in plans:
                created += _generate_plan_rounds(plan, today, last_day, now)
    return created


def _generate_plan_rounds(plan: InspectionPlan, first: dt.date, last: dt.date, now: dt.datetime) -> int:
    versions = {s.pk: s for s in InspectionSchedule.objects.filter(plan=plan)}
    if not versions:
        return 0
    existing = set(
        Round.objects.filter(plan=plan, day__range=(first, last))
        .exclude(state=Round.State.CANCELLED)
        .values_list("day", flat=True)
    )
    points = Point.objects.filter(route_id=plan.route_id, active=True).count()
    if points == 0:
        return 0
    created = 0
    for day, version in schedules.round_days([s.version() for s in versions.values()], first, last):
        if day in existing:
            continue
        schedule = versions[version.key]
        starts, ends = version.rule.window(day)
        if ends <= now:
            continue
        try:
            with transaction.atomic():
                round_ = Round.objects.create(
                    community_id=plan.community_id,
                    plan=plan,
                    schedule=schedule,
                    route_id=plan.route_id,
                    day=day,
                    window_starts_at=starts,
                    window_ends_at=ends,
                    assignee_role=schedule.assignee_role,
                    assignee_id=schedule.assignee_id,
                    points_expected=points,
                )
                audit.record(actor=None, action="preventive.round.generate", obj=round_, after=audit.snapshot(round_))
        except IntegrityError:
            continue  # another run created it first
        created += 1
    return created


# --- Check-ins -----------------------------------------------------------------------------------


def may_walk(user: User, round_: Round, access: Access | None = None) -> bool:
    """The assignee, anyone holding the round's role there, or someone who manages work orders.
    Pass the request's ``access`` when there is one, to save computing it again."""
    access = access or access_for(user)
    if round_.assignee_id == user.pk:
        return True
    if access.has(Perm.MANAGE_WORKORDERS, round_.community_id):
        return True
    return round_.assignee_id is None and access.has_role(round_.assignee_role, round_.community_id)


@transaction.atomic
def check_in(
    *,
    round_: Round,
    token: str,
    result: str,
    note: str = "",
    photo: UploadedFile | None = None,
    method: str = CheckIn.Method.SCAN,
    category_code: str = "",
    actor: User,
    now: dt.datetime | None = None,
) -> CheckIn:
    """Record that ``actor`` stood at a point of the round's route: ``token`` is what its QR sticker
    holds, and nothing else proves presence, so a token of another route or community (or a made-up
    one) is refused. A problem needs a note and opens a work order for the point's place.

    The round locks for the duration (select_for_update), so two check-ins of the same round count
    correctly; the first check-in starts it and the last one completes it.
    """
    now = now or timezone.now()
    if result not in CheckIn.Result.values:
        raise DomainError(_("Say whether everything was in order or a problem was found."), field="result")
    note = note.strip()
    if result == CheckIn.Result.PROBLEM and not note:
        raise DomainError(_("Describe the problem."), field="note")
    if method not in CheckIn.Method.values:
        method = CheckIn.Method.SCAN
    if photo is not None:
        validate_photo(photo)
    with community_scope(round_.community_id):
        locked = Round.objects.select_for_update().filter(pk=round_.pk).first()
        if locked is None:
            raise NotFound()
        round_ = locked
        if not may_walk(actor, round_):
            raise PermissionDenied(_("This round is assigned to someone else."))
        if round_.state not in (Round.State.SCHEDULED, Round.State.IN_PROGRESS):
            raise Conflict(
                _("This round is %(state)s; check-ins are closed.") % {"state": round_.get_state_display()},
                code="round_closed",
            )
        if not round_.is_open_at(now):
            raise Conflict(_("This round can only be walked during its time window."), code="outside_window")
        point = Point.objects.filter(route_id=round_.route_id, token=normalize_token(token)).first()
        if point is None:
            raise DomainError(
                _("That code does not belong to a point on this route. Scan the sticker at the point."),
                code="wrong_point",
                field="token",
            )
        if not point.active:
            raise DomainError(_("That point is no longer on the route."), code="wrong_point", field="token")
        if CheckIn.objects.filter(round=round_, point=point).exists():
            raise Conflict(_("This point has already been checked in this round."), code="already_checked")
        checkin = CheckIn.objects.create(
            community_id=round_.community_id,
            round=round_,
            point=point,
            checked_at=now,
            checked_by=actor,
            method=method,
            result=result,
            note=note,
            photo=photo or "",
        )
        if result == CheckIn.Result.PROBLEM:
            if photo is not None:
                photo.seek(0)
            checkin.work_order_ref = open_finding_order(checkin, category_code=category_code, photo=photo, actor=actor)
            checkin.save(update_fields=["work_order_ref"])
        before = audit.snapshot(round_, fields=("state", "points_checked", "problems_found"))
        done = CheckIn.objects.filter(round=round_)
        round_.points_checked = done.count()
        round_.problems_found = done.filter(result=CheckIn.Result.PROBLEM).count()
        if round_.state == Round.State.SCHEDULED:
            round_.state = Round.State.IN_PROGRESS
            round_.started_at = now
        if round_.points_checked >= round_.points_expected:
            round_.state = Round.State.COMPLETED
            round_.finished_at = now
        round_.save(update_fields=["points_checked", "problems_found", "state", "started_at", "finished_at"])
    audit.record(
        actor=actor,
        action="preventive.round.check_in",
        obj=checkin,
        after={
            "round": round_.pk,
            "point": point.pk,
            "result": result,
            "method": method,
            "work_order_ref": checkin.work_order_ref,
            "round_before": before,
        },
    )
    return checkin


# --- Missed rounds -------------------------------------------------------------------------------


def flag_missed_rounds(*, now: dt.datetime | None = None) -> int:
    """Mark every open round whose window has closed as missed, and tell the assignee and the
    community's managers, exactly once per round.

    Each round is claimed with a conditional UPDATE (open → missed, only if still open): of two
    sweepers, or a sweeper and a last check-in, exactly one changes the row, and only the one whose
    UPDATE returned 1 writes the audit row and the notifications.
    """
    now = now or timezone.now()
    with scopes_disabled():
        due = list(
            Round.objects.open().filter(window_ends_at__lte=now).values_list("pk", "community_id").order_by("pk")
        )
    flagged = 0
    for round_id, community_id in due:
        with transaction.atomic(), community_scope(community_id):
            claimed = (
                Round.objects.open()
                .filter(pk=round_id, window_ends_at__lte=now)
                .update(state=Round.State.MISSED, missed_at=now)
            )
            if claimed != 1:
                continue
            round_ = Round.objects.select_related("plan", "route", "assignee").get(pk=round_id)
            audit.record(
                actor=None,
                action="preventive.round.missed",
                obj=round_,
                after={"points_checked": round_.points_checked, "points_expected": round_.points_expected},
            )
            _notify_missed(round_)
            flagged += 1
    return flagged


def _notify_missed(round_: Round) -> None:
    recipients: list[Any] = staff_with_role(round_.community_id, Role.MANAGER)
    if round_.assignee is not None:
        recipients.append(round_.assignee)
    with translation.override("zh-hans"):
        title = _("Inspection round missed: %(plan)s") % {"plan": round_.plan.name}
        body = _("%(day)s, %(route)s: %(checked)s of %(expected)s points checked before the window closed.") % {
            "day": round_.day.isoformat(),
            "route": round_.route.name,
            "checked": round_.points_checked,
            "expected": round_.points_expected,
        }
    notify(
        recipients,
        kind="preventive.round_missed",
        title=title,
        body=body,
        url=reverse("console:preventive_round", args=[round_.community_id, round_.pk]),
        community_id=round_.community_id,
    )


def rounds_for(community: Community, day: dt.date) -> list[Round]:
    with community_scope(community.pk):
        return list(Round.objects.filter(day=day).exclude(state=Round.State.CANCELLED).select_related("plan", "route"))


def schedule_in_force(versions: Sequence[InspectionSchedule], day: dt.date) -> InspectionSchedule | None:
    """The version in force on ``day``, or the first upcoming one for a plan not yet started."""
    ordered = sorted(versions, key=lambda s: s.effective_from)
    current = [s for s in ordered if s.effective_from <= day]
    return current[-1] if current else (ordered[0] if ordered else None)
