"""Demo data for preventive work: a patrol route per community, a daily plan with a few days of
rounds (most walked, one with a problem, one missed), and lift and fire maintenance plans, one of
them overdue."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from anju.core.demo.hooks import DemoContext, demo_step
from anju.core.permissions import staff_with_role
from anju.estates.models import CommonPart, Community
from anju.workorders.preventive import services
from anju.workorders.preventive.models import CheckIn, MaintenanceKind, Point, Round

PATROL_PARTS = ("gate", "pump_room", "fire_system", "green_space", "road")
WINDOW = (dt.time(8, 0), dt.time(10, 0))
DAYS_BACK = 3


def _at(day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=timezone.get_current_timezone())


@demo_step(order=20)
def seed_preventive(ctx: DemoContext) -> None:
    manager = ctx.staff.get("manager")
    today = timezone.localdate()
    rounds = visits = 0
    for community in ctx.communities.values():
        parts = {part.kind: part for part in CommonPart.objects.filter(community=community).order_by("pk")}
        route = services.create_route(
            community=community, name="日常巡逻", description="大门、泵房、消防、绿地、道路", actor=manager
        )
        for kind in PATROL_PARTS:
            if kind in parts:
                services.add_point(
                    route=route,
                    name=parts[kind].name,
                    common_part=parts[kind],
                    checklist="查看设施完好、无安全隐患",
                    actor=manager,
                )
        plan = services.create_inspection_plan(
            route=route,
            name="早班巡逻",
            frequency="daily",
            window_start=WINDOW[0],
            window_end=WINDOW[1],
            assignee_role="guard",
            starts_on=today - dt.timedelta(days=DAYS_BACK),
            actor=manager,
        )
        # The demo's guard patrols where they work; elsewhere the manager walked the rounds.
        walkers = staff_with_role(community.pk, "guard") or staff_with_role(community.pk, "manager")
        rounds += _walk_past_rounds(ctx, community, plan.pk, today, walkers[0] if walkers else manager)
        visits += _maintenance(community, parts, today, manager)
    ctx.counts["preventive_rounds"] = rounds
    ctx.counts["preventive_visits"] = visits
    ctx.out(f"preventive: {rounds} rounds, {visits} maintenance visits")


def _walk_past_rounds(ctx: DemoContext, community: Community, plan_id: int, today: dt.date, guard: object) -> int:
    """Rounds for the last days: two walked (one finding a problem), yesterday's missed."""
    for back in range(DAYS_BACK, -1, -2):
        services.generate_rounds(community_ids=[community.pk], now=_at(today - dt.timedelta(days=back), dt.time(6)))
    services.generate_rounds(community_ids=[community.pk])
    points = list(Point.objects.filter(route__plans__pk=plan_id, active=True).order_by("position"))
    past = list(Round.objects.filter(plan_id=plan_id, day__lt=today).order_by("day"))
    for index, round_ in enumerate(past[:-1]):  # the last past day stays unwalked: missed
        for position, point in enumerate(points):
            problem = index == 0 and position == 1
            services.check_in(
                round_=round_,
                token=point.token,
                result=CheckIn.Result.PROBLEM if problem else CheckIn.Result.OK,
                note="水泵异响，需检修" if problem else "",
                actor=guard,  # type: ignore[arg-type]
                now=round_.window_starts_at + dt.timedelta(minutes=10 + 7 * position + ctx.rng.randint(0, 5)),
            )
    if past:
        services.flag_missed_rounds(now=past[-1].window_ends_at + dt.timedelta(minutes=1))
    return Round.objects.filter(plan_id=plan_id).count()


def _maintenance(community: Community, parts: dict[str, CommonPart], today: dt.date, manager: object) -> int:
    lifts = list(CommonPart.objects.filter(community=community, kind="lift").order_by("pk")[:2])
    for index, lift in enumerate(lifts):
        services.create_maintenance_plan(
            community=community,
            name=f"{lift.name}半月维保",
            kind=MaintenanceKind.LIFT_MAINTENANCE,
            common_part=lift,
            # The first lift's last maintenance slipped: its visit five days ago is still open.
            first_due_on=today - dt.timedelta(days=20) if index == 0 else today + dt.timedelta(days=2),
            actor=manager,  # type: ignore[arg-type]
        )
        services.create_maintenance_plan(
            community=community,
            name=f"{lift.name}年度定期检验",
            kind=MaintenanceKind.LIFT_INSPECTION,
            common_part=lift,
            first_due_on=today + dt.timedelta(days=120 + 30 * index),
            actor=manager,  # type: ignore[arg-type]
        )
    fire = parts.get("fire_system")
    if fire is not None:
        services.create_maintenance_plan(
            community=community,
            name="消防设施月度检查",
            kind=MaintenanceKind.FIRE_CHECK,
            common_part=fire,
            first_due_on=today + dt.timedelta(days=4),
            actor=manager,  # type: ignore[arg-type]
        )
        services.create_maintenance_plan(
            community=community,
            name="消防设施年度检测",
            kind=MaintenanceKind.FIRE_TEST,
            common_part=fire,
            first_due_on=today + dt.timedelta(days=75),
            actor=manager,  # type: ignore[arg-type]
        )
    created = services.generate_maintenance_orders(community_ids=[community.pk])
    services.sweep_maintenance(community_ids=[community.pk])
    return created
