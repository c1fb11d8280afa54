"""Demo work orders: a few dozen per community in every state, through the services, spread over
the last weeks, some of them overdue (the periodic sweep escalates those once ``make run`` runs)."""

from __future__ import annotations

import datetime as dt

from django.db.models import F
from django.utils import timezone

from anju.core.demo.hooks import DemoContext, demo_step
from anju.core.models import User
from anju.core.tenancy import community_scope
from anju.estates.models import Community, Home
from anju.residents.models import Occupancy
from anju.workorders import services
from anju.workorders.models import State, WorkOrder
from anju.workorders.services.dispatch import technicians

REPORTS = [
    ("water", "厨房水槽下水管漏水，地上有积水"),
    ("water", "卫生间地漏反味，下水很慢"),
    ("electricity", "客厅插座没电，空开跳了推不上去"),
    ("doors_locks", "入户门锁芯卡住，钥匙拧不动"),
    ("lift", "电梯运行时有异响，门关得很慢"),
    ("public_area", "楼道感应灯坏了，晚上很黑"),
    ("greenery", "楼下的树枝挡住了二楼窗户"),
    ("noise", "楼上晚上十一点后还在装修"),
    ("other", "单元门禁对讲没有声音"),
    ("public_area", "地下车库有一处积水"),
]
# The state each demo order ends in, in order; the list repeats for larger demos.
PLAN = [
    State.SUBMITTED,
    State.ACCEPTED,
    State.ASSIGNED,
    State.IN_PROGRESS,
    State.PAUSED,
    State.RESOLVED,
    State.CLOSED,
    State.CLOSED,
    State.CLOSED,
    State.CANCELLED,
    State.REJECTED,
    State.REOPENED,
]
PER_COMMUNITY = {"small": 12, "medium": 24, "large": 36}


def _residents(community: Community) -> list[tuple[User, Home]]:
    rows = (
        Occupancy.objects.current()
        .filter(community=community, person__user__isnull=False)
        .select_related("person__user", "home__building", "home__unit")
        .order_by("home_id")[:20]
    )
    return [(row.person.user, row.home) for row in rows if row.person.user is not None]


@demo_step(order=10)
def seed_work_orders(ctx: DemoContext) -> None:
    made = 0
    for key, community in ctx.communities.items():
        dispatcher = ctx.staff.get("hexie" if key == "walkup" else "manager")
        with community_scope(community.pk):
            made += _seed_community(ctx, community, dispatcher)
    ctx.out(f"workorders: {made} orders")


def _seed_community(ctx: DemoContext, community: Community, dispatcher: User | None) -> int:
    services.ensure_defaults(community)
    people = _residents(community)
    techs = technicians(community.pk)
    count = PER_COMMUNITY.get(ctx.size, 12)
    now = timezone.now()
    made = 0
    for index in range(count):
        category, text = REPORTS[index % len(REPORTS)]
        target = PLAN[index % len(PLAN)]
        resident, home = people[index % len(people)] if people else (None, None)
        if resident is not None:
            order = services.report_order(
                community=community, kind="repair", category_code=category, description=text, home=home, actor=resident
            )
        else:
            order = services.create_order(
                community=community, kind="repair", category_code=category, description=text, actor=dispatcher
            )
        if category == "noise":
            WorkOrder.objects.filter(pk=order.pk).update(kind="complaint")
        _advance(order, target, resident=resident, dispatcher=dispatcher, techs=techs, rating=5 - index % 4)
        # Spread the reports over the last three weeks; the early open ones are now overdue.
        if target == State.SUBMITTED:
            age = dt.timedelta(minutes=ctx.rng.randint(5, 50))
        else:
            age = dt.timedelta(hours=ctx.rng.randint(2, 21 * 24))
        shifted = ["created_at", "accepted_at", "assigned_at", "started_at", "paused_at", "resolved_at"]
        shifted += ["confirmed_at", "closed_at", "rated_at", "response_due_at", "resolution_due_at"]
        WorkOrder.objects.filter(pk=order.pk).update(**{name: F(name) - age for name in shifted})
        made += 1
    # One order opened by a device alarm, as the alarms app does it (idempotent by source_ref).
    services.create_order(
        community=community,
        kind="repair",
        category_code="lift",
        description="电梯故障告警：门锁回路断开（故障码 02）",
        source="alarm",
        source_ref="demo:lift-alarm:1",
        actor=None,
    )
    WorkOrder.objects.filter(source_ref="demo:lift-alarm:1").update(created_at=now - dt.timedelta(hours=2))
    return made + 1


def _advance(
    order: WorkOrder, target: str, *, resident: User | None, dispatcher: User | None, techs: list[User], rating: int
) -> None:
    """Walk ``order`` through the services to ``target`` as far as the people available allow."""
    fresh = lambda: WorkOrder.objects.select_related("category").get(pk=order.pk)  # noqa: E731
    if target == State.SUBMITTED or dispatcher is None:
        return
    if target == State.REJECTED:
        services.reject_order(order=fresh(), reason="属于业主自用部分，建议自行联系维修", actor=dispatcher)
        return
    if fresh().state == State.SUBMITTED:
        services.accept_order(order=fresh(), actor=dispatcher)
    if target == State.ACCEPTED or not techs:
        return
    if target == State.CANCELLED:
        services.cancel_order(order=fresh(), reason="住户已自行处理", actor=dispatcher)
        return
    tech = techs[order.pk % len(techs)]
    current = fresh()
    if current.state in (State.ACCEPTED, State.RETURNED, State.REOPENED):
        services.assign_order(order=current, assignee=tech, actor=dispatcher)
    tech = fresh().assignee or tech
    if target == State.ASSIGNED:
        return
    services.start_order(order=fresh(), actor=tech)
    if target == State.IN_PROGRESS:
        return
    if target == State.PAUSED:
        services.pause_order(order=fresh(), reason="等待配件到货", actor=tech)
        return
    services.resolve_order(order=fresh(), note="已检修更换损坏部件，测试正常", actor=tech)
    if target == State.RESOLVED or resident is None:
        return
    if target == State.REOPENED:
        services.dispute_order(order=fresh(), reason="第二天又出现同样的问题", actor=resident)
        return
    services.rate_order(
        order=fresh(), rating=max(1, rating), comment="师傅很专业" if rating >= 4 else "来得太慢", actor=resident
    )
