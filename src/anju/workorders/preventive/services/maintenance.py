"""Maintenance plans: statutory defaults, interval versions, work orders ahead of due, overdue flags."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from anju.core import audit
from anju.core.errors import Conflict, DomainError
from anju.core.models import Role, User
from anju.core.notifications import notify
from anju.core.permissions import staff_with_role
from anju.core.tenancy import community_scope, scopes_disabled
from anju.devices.models import Device, DeviceKind
from anju.estates.models import CommonPart, Community
from anju.workorders.preventive import schedules
from anju.workorders.preventive.models import (
    IntervalUnit,
    MaintenanceKind,
    MaintenancePlan,
    MaintenanceSchedule,
    MaintenanceVisit,
)
from anju.workorders.preventive.workorders import open_maintenance_order, orders_finished


@dataclass(frozen=True)
class Preset:
    """Defaults for a kind of maintenance. ``longest`` is the longest interval the rule allows
    (None: no legal limit); a statutory plan may be re-timed to come sooner, never later."""

    every: int
    unit: str
    category_code: str
    statutory: bool
    lead_days: int
    longest: schedules.Interval | None
    basis: str


PRESETS: dict[str, Preset] = {
    # TSG T5002-2017 (电梯维护保养规则) §3: routine maintenance at least every 15 days.
    MaintenanceKind.LIFT_MAINTENANCE: Preset(
        15, schedules.DAYS, "lift", True, 3, schedules.Interval(15, schedules.DAYS), "TSG T5002-2017"
    ),
    # TSG T7001-2023 (电梯监督检验和定期检验规则): periodic inspection by the inspection body yearly.
    MaintenanceKind.LIFT_INSPECTION: Preset(
        1, schedules.YEARS, "lift", True, 30, schedules.Interval(1, schedules.YEARS), "TSG T7001-2023"
    ),
    # GB 25201-2010 (建筑消防设施的维护管理) §7: the fire systems are checked monthly …
    MaintenanceKind.FIRE_CHECK: Preset(
        1, schedules.MONTHS, "fire", True, 5, schedules.Interval(1, schedules.MONTHS), "GB 25201-2010"
    ),
    # … and tested in full at least once a year (Fire Protection Law Art. 16).
    MaintenanceKind.FIRE_TEST: Preset(
        1, schedules.YEARS, "fire", True, 30, schedules.Interval(1, schedules.YEARS), "GB 25201-2010"
    ),
    MaintenanceKind.PUMP_SERVICE: Preset(3, schedules.MONTHS, "water", False, 5, None, ""),
    MaintenanceKind.OTHER: Preset(1, schedules.MONTHS, "other", False, 3, None, ""),
}
# The equipment each statutory kind is for, to refuse a lift plan on a flower bed.
EQUIPMENT_KINDS: dict[str, str] = {
    MaintenanceKind.LIFT_MAINTENANCE: CommonPart.Kind.LIFT,
    MaintenanceKind.LIFT_INSPECTION: CommonPart.Kind.LIFT,
    MaintenanceKind.FIRE_CHECK: CommonPart.Kind.FIRE_SYSTEM,
    MaintenanceKind.FIRE_TEST: CommonPart.Kind.FIRE_SYSTEM,
}
DEVICE_KINDS: dict[str, tuple[str, ...]] = {
    MaintenanceKind.LIFT_MAINTENANCE: (DeviceKind.LIFT, DeviceKind.ESCALATOR),
    MaintenanceKind.LIFT_INSPECTION: (DeviceKind.LIFT, DeviceKind.ESCALATOR),
    MaintenanceKind.FIRE_CHECK: (DeviceKind.FIRE_PANEL, DeviceKind.SMOKE_DETECTOR, DeviceKind.ELECTRICAL_FIRE_MONITOR),
    MaintenanceKind.FIRE_TEST: (DeviceKind.FIRE_PANEL, DeviceKind.SMOKE_DETECTOR, DeviceKind.ELECTRICAL_FIRE_MONITOR),
}
# A rough common length of each unit, only to compare intervals against a legal limit.
_APPROX_DAYS = {schedules.DAYS: 1, schedules.MONTHS: 31, schedules.YEARS: 366}


def _approx_days(interval: schedules.Interval) -> int:
    return interval.every * _APPROX_DAYS[interval.unit]


def local_today() -> dt.date:
    return timezone.localdate()


def _clean_interval(kind: str, every: int, unit: str) -> None:
    if unit not in IntervalUnit.values:
        raise DomainError(_("Choose days, months or years."), field="unit")
    if every < 1 or every > 3650:
        raise DomainError(_("The interval must be between 1 and 3650."), field="every")
    preset = PRESETS[kind]
    if preset.longest is not None and _approx_days(schedules.Interval(every, unit)) > _approx_days(preset.longest):
        raise DomainError(
            _("%(basis)s requires this at least every %(every)s %(unit)s.")
            % {"basis": preset.basis, "every": preset.longest.every, "unit": IntervalUnit(preset.longest.unit).label},
            code="statutory_interval",
            field="every",
        )


@transaction.atomic
def create_maintenance_plan(
    *,
    community: Community,
    name: str,
    kind: str,
    first_due_on: dt.date,
    common_part: CommonPart | None = None,
    device: Device | None = None,
    every: int | None = None,
    unit: str | None = None,
    category_code: str = "",
    lead_days: int | None = None,
    instructions: str = "",
    actor: User | None,
) -> MaintenancePlan:
    """A plan for one piece of equipment; interval, category and lead time default to the kind's
    preset (statutory kinds: at most the legal interval)."""
    if kind not in MaintenanceKind.values:
        raise DomainError(_("Choose a kind of maintenance."), field="kind")
    preset = PRESETS[kind]
    name = name.strip()
    if not name:
        raise DomainError(_("A maintenance plan needs a name."), field="name")
    if common_part is None and device is None:
        raise DomainError(_("Say which equipment the plan is for."), field="common_part")
    if device is not None:
        if device.community_id != community.pk:
            raise DomainError(_("That equipment is not in this community."), field="device")
        kinds = DEVICE_KINDS.get(kind)
        if kinds is not None and device.kind not in kinds:
            raise DomainError(
                _("This kind of maintenance is for a %(kind)s.") % {"kind": DeviceKind(kinds[0]).label}, field="device"
            )
    if common_part is not None:
        if common_part.community_id != community.pk:
            raise DomainError(_("That equipment is not in this community."), field="common_part")
        wanted = EQUIPMENT_KINDS.get(kind)
        if wanted is not None and common_part.kind != wanted:
            raise DomainError(
                _("This kind of maintenance is for a %(kind)s.") % {"kind": CommonPart.Kind(wanted).label},
                field="common_part",
            )
    every = every or preset.every
    unit = unit or preset.unit
    _clean_interval(kind, every, unit)
    lead = preset.lead_days if lead_days is None else lead_days
    if lead < 0 or lead > 90:
        raise DomainError(_("Open the order between 0 and 90 days ahead."), field="lead_days")
    with community_scope(community.pk):
        plan = MaintenancePlan.objects.create(
            community=community,
            name=name,
            kind=kind,
            statutory=preset.statutory,
            common_part=common_part,
            device=device,
            category_code=category_code or preset.category_code,
            lead_days=lead,
            instructions=instructions.strip(),
        )
        schedule = MaintenanceSchedule.objects.create(
            community=community, plan=plan, effective_from=first_due_on, every=every, unit=unit, created_by=actor
        )
    audit.record(
        actor=actor,
        action="preventive.maintenance.create",
        obj=plan,
        after={**audit.snapshot(plan), "schedule": audit.snapshot(schedule)},
    )
    return plan


@transaction.atomic
def change_maintenance_interval(
    *,
    plan: MaintenancePlan,
    first_due_on: dt.date,
    every: int,
    unit: str,
    actor: User | None,
    today: dt.date | None = None,
) -> MaintenanceSchedule:
    """A new interval whose first due date is ``first_due_on``. Visits already scheduled (and their
    work orders) stand: the new version starts after the last of them and never before today."""
    today = today or local_today()
    _clean_interval(plan.kind, every, unit)
    with community_scope(plan.community_id):
        MaintenancePlan.objects.select_for_update().get(pk=plan.pk)
        if first_due_on < today:
            raise DomainError(_("A new interval can start today at the earliest."), field="first_due_on")
        last = (
            MaintenanceVisit.objects.filter(plan=plan)
            .exclude(state=MaintenanceVisit.State.CANCELLED)
            .order_by("-due_on")
            .first()
        )
        if last is not None and first_due_on <= last.due_on:
            raise Conflict(
                _("A visit is already scheduled for %(day)s; start the new interval after it.")
                % {"day": last.due_on.isoformat()},
                field="first_due_on",
            )
        if MaintenanceSchedule.objects.filter(plan=plan, effective_from=first_due_on).exists():
            raise Conflict(_("An interval already starts on that day."), field="first_due_on")
        schedule = MaintenanceSchedule.objects.create(
            community_id=plan.community_id,
            plan=plan,
            effective_from=first_due_on,
            every=every,
            unit=unit,
            created_by=actor,
        )
    audit.record(actor=actor, action="preventive.maintenance.change_interval", obj=plan, after=audit.snapshot(schedule))
    return schedule


# --- Generation ----------------------------------------------------------------------------------


def _community_ids(community_ids: Iterable[int] | None) -> list[int]:
    if community_ids is not None:
        return sorted(set(community_ids))
    with scopes_disabled():
        return sorted(set(MaintenancePlan.objects.filter(active=True).values_list("community_id", flat=True)))


def generate_maintenance_orders(*, community_ids: Iterable[int] | None = None, today: dt.date | None = None) -> int:
    """For every active plan, schedule each due date that falls within its lead time (today up to
    ``today + lead_days``) and open its work order. Returns the number of visits created.

    Due dates already behind us that were never scheduled (a new plan anchored in the past, or the
    job not running for a while) collapse into one catch-up visit for the latest of them, which the
    overdue sweep then flags: nobody needs twenty orders for the same lift.

    Safe under concurrent runs: each visit is inserted in its own transaction under the unique
    constraint (plan, due date); the loser's IntegrityError is skipped; and the work order is opened
    through ``create_order``'s ``source_ref`` idempotency in the same transaction as the visit.
    """
    today = today or local_today()
    created = 0
    for community_id in _community_ids(community_ids):
        with community_scope(community_id):
            plans = list(MaintenancePlan.objects.active().select_related("community", "common_part", "device"))
            for plan in plans:
                created += _generate_plan_visits(plan, today)
    return created


def _generate_plan_visits(plan: MaintenancePlan, today: dt.date) -> int:
    versions = {s.pk: s for s in MaintenanceSchedule.objects.filter(plan=plan)}
    if not versions:
        return 0
    latest = MaintenanceVisit.objects.filter(plan=plan).order_by("-due_on").values_list("due_on", flat=True).first()
    start = min(s.effective_from for s in versions.values()) if latest is None else latest + dt.timedelta(days=1)
    dues = schedules.due_dates(
        [s.version() for s in versions.values()], start, today + dt.timedelta(days=plan.lead_days)
    )
    past = [item for item in dues if item[0] < today]
    dues = past[-1:] + [item for item in dues if item[0] >= today]
    created = 0
    for due_on, version in dues:
        try:
            with transaction.atomic():
                visit = MaintenanceVisit.objects.create(
                    community_id=plan.community_id, plan=plan, schedule=versions[version.key], due_on=due_on
                )
                visit.work_order_ref, visit.work_order_id = open_maintenance_order(plan, visit, actor=None)
                visit.save(update_fields=["work_order_ref", "work_order_id"])
                audit.record(
                    actor=None, action="preventive.maintenance.schedule_visit", obj=visit, after=audit.snapshot(visit)
                )
        except IntegrityError:
            continue  # another run scheduled this due date first
        created += 1
    return created


def sweep_maintenance(*, community_ids: Iterable[int] | None = None, today: dt.date | None = None) -> int:
    """Close visits whose work order is finished, and flag (once) those past their due date that
    are not: each flag is a conditional UPDATE scheduled → overdue, acted on only by the caller
    whose UPDATE changed the row, so two sweeps never notify twice. Returns visits flagged overdue.
    """
    today = today or local_today()
    now = timezone.now()
    flagged = 0
    with scopes_disabled():
        rows = MaintenanceVisit.objects.pending()
        if community_ids is not None:
            rows = rows.filter(community_id__in=list(community_ids))
        pending = list(rows.order_by("pk").values_list("pk", "community_id", "work_order_ref", "state", "due_on"))
    finished = orders_finished([row[2] for row in pending if row[2]])
    for visit_id, community_id, ref, state, due_on in pending:
        with transaction.atomic(), community_scope(community_id):
            if ref in finished:
                if (
                    MaintenanceVisit.objects.pending()
                    .filter(pk=visit_id)
                    .update(state=MaintenanceVisit.State.DONE, done_at=now)
                ):
                    audit.record(
                        actor=None,
                        action="preventive.maintenance.done",
                        object_type="preventive.maintenancevisit",
                        object_id=str(visit_id),
                        community_id=community_id,
                        after={"state": "done", "late": state == MaintenanceVisit.State.OVERDUE},
                    )
                continue
            if due_on >= today or state != MaintenanceVisit.State.SCHEDULED:
                continue
            claimed = MaintenanceVisit.objects.filter(pk=visit_id, state=MaintenanceVisit.State.SCHEDULED).update(
                state=MaintenanceVisit.State.OVERDUE, overdue_flagged_at=now
            )
            if claimed != 1:
                continue
            visit = MaintenanceVisit.objects.select_related("plan").get(pk=visit_id)
            audit.record(actor=None, action="preventive.maintenance.overdue", obj=visit, after={"state": "overdue"})
            _notify_overdue(visit)
            flagged += 1
    return flagged


def _notify_overdue(visit: MaintenanceVisit) -> None:
    with translation.override("zh-hans"):
        title = _("Maintenance overdue: %(plan)s") % {"plan": visit.plan.name}
        body = _("Due %(day)s and not yet done.") % {"day": visit.due_on.isoformat()}
        if visit.plan.statutory:
            body += " " + _("This maintenance is required by law.")
    notify(
        staff_with_role(visit.community_id, Role.MANAGER),
        kind="preventive.maintenance_overdue",
        title=title,
        body=body,
        url=reverse("console:preventive_maintenance_plan", args=[visit.community_id, visit.plan_id]),
        community_id=visit.community_id,
        sms=visit.plan.statutory,
    )


def next_due(plan: MaintenancePlan, today: dt.date | None = None) -> dt.date | None:
    """The earliest due date not yet done: a pending visit's, else the next one the schedule gives."""
    today = today or local_today()
    pending = plan.visits.pending().order_by("due_on").values_list("due_on", flat=True).first()  # type: ignore[attr-defined]
    if pending is not None:
        return pending
    latest = plan.visits.order_by("-due_on").values_list("due_on", flat=True).first()
    start = today if latest is None else max(today, latest + dt.timedelta(days=1))
    versions = [s.version() for s in plan.schedules.all()]
    found = schedules.due_dates(versions, start, start + dt.timedelta(days=3660))
    return found[0][0] if found else None


@dataclass
class PlanRow:
    plan: MaintenancePlan
    next_due: dt.date | None
    overdue: bool
    pending_ref: str
    last_done: dt.date | None


def maintenance_overview(*, today: dt.date | None = None) -> list[PlanRow]:
    """Every plan of the active scope with its next due date and whether anything is overdue, in
    three queries (plans, pending visits, last done visits) plus one per plan without a pending
    visit (the schedule's next date)."""
    today = today or local_today()
    plans = list(
        MaintenancePlan.objects.select_related("common_part").prefetch_related("schedules").order_by("-active", "name")
    )
    pending: dict[int, MaintenanceVisit] = {}
    for visit in MaintenanceVisit.objects.pending().order_by("due_on"):
        pending.setdefault(visit.plan_id, visit)
    last_done: dict[int, dt.date] = {}
    for plan_id, due_on in MaintenanceVisit.objects.filter(state=MaintenanceVisit.State.DONE).values_list(
        "plan_id", "due_on"
    ):
        last_done[plan_id] = max(due_on, last_done.get(plan_id, due_on))
    rows = []
    for plan in plans:
        visit = pending.get(plan.pk)
        due = visit.due_on if visit is not None else (next_due(plan, today) if plan.active else None)
        rows.append(
            PlanRow(
                plan=plan,
                next_due=due,
                overdue=visit is not None and (visit.state == MaintenanceVisit.State.OVERDUE or visit.due_on < today),
                pending_ref=visit.work_order_ref if visit is not None else "",
                last_done=last_done.get(plan.pk),
            )
        )
    return rows
