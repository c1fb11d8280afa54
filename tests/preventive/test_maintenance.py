"""Maintenance plans: statutory intervals, work orders opened ahead of the due date and only once,
overdue visits flagged once, visits closed when their order's work is finished."""

from __future__ import annotations

import datetime as dt

import pytest

from anju.core.errors import Conflict, DomainError
from anju.core.models import Notification
from anju.core.tenancy import community_scope
from anju.estates import services as estates
from anju.workorders import services as wo
from anju.workorders.models import WorkOrder
from anju.workorders.preventive import services
from anju.workorders.preventive.models import MaintenancePlan, MaintenanceVisit

from .conftest import Patrol


@pytest.fixture
def lift_plan(patrol: Patrol) -> MaintenancePlan:
    with community_scope(patrol.route.community_id):
        return services.create_maintenance_plan(
            community=patrol.world.a.community,
            name="1号楼电梯半月维保",
            kind="lift_maintenance",
            common_part=patrol.lift,
            first_due_on=dt.date(2030, 3, 20),
            actor=patrol.world.user("manager_x"),
        )


def visits(plan: MaintenancePlan) -> list[MaintenanceVisit]:
    with community_scope(plan.community_id):
        return list(MaintenanceVisit.objects.filter(plan=plan).order_by("due_on"))


def orders(plan: MaintenancePlan) -> list[WorkOrder]:
    with community_scope(plan.community_id):
        return list(WorkOrder.objects.filter(source_ref__startswith=f"plan:{plan.pk}:").order_by("source_ref"))


def test_statutory_presets_and_their_legal_limits(patrol: Patrol, lift_plan: MaintenancePlan) -> None:
    with community_scope(lift_plan.community_id):
        schedule = lift_plan.schedules.get()
    assert lift_plan.statutory and (schedule.every, schedule.unit) == (15, "days")
    assert lift_plan.category_code == "lift" and lift_plan.lead_days == 3
    community = patrol.world.a.community
    with pytest.raises(DomainError) as refused:
        services.create_maintenance_plan(
            community=community,
            name="x",
            kind="lift_maintenance",
            common_part=patrol.lift,
            first_due_on=dt.date(2030, 3, 1),
            every=20,
            unit="days",
            actor=None,
        )
    assert refused.value.code == "statutory_interval"
    with pytest.raises(DomainError):  # a month is longer than the law's 15 days too
        services.create_maintenance_plan(
            community=community,
            name="x",
            kind="lift_maintenance",
            common_part=patrol.lift,
            first_due_on=dt.date(2030, 3, 1),
            every=1,
            unit="months",
            actor=None,
        )
    with pytest.raises(DomainError) as refused:  # a lift plan on the pump room
        services.create_maintenance_plan(
            community=community,
            name="x",
            kind="lift_maintenance",
            common_part=patrol.pump,
            first_due_on=dt.date(2030, 3, 1),
            actor=None,
        )
    assert refused.value.field == "common_part"
    fire = estates.create_common_part(community=community, name="消防系统", kind="fire_system", actor=None)
    monthly = services.create_maintenance_plan(
        community=community,
        name="消防月检",
        kind="fire_check",
        common_part=fire,
        first_due_on=dt.date(2030, 3, 1),
        actor=None,
    )
    with community_scope(community.pk):
        assert (monthly.schedules.get().every, monthly.schedules.get().unit) == (1, "months")
    # Sooner than the law asks is fine.
    services.create_maintenance_plan(
        community=community,
        name="勤保",
        kind="lift_maintenance",
        common_part=patrol.lift,
        first_due_on=dt.date(2030, 3, 1),
        every=10,
        unit="days",
        actor=None,
    )


def test_the_work_order_is_opened_lead_days_ahead_and_only_once(lift_plan: MaintenancePlan) -> None:
    assert services.generate_maintenance_orders(today=dt.date(2030, 3, 16)) == 0  # 4 days ahead: too early
    assert services.generate_maintenance_orders(today=dt.date(2030, 3, 17)) == 1
    assert services.generate_maintenance_orders(today=dt.date(2030, 3, 17)) == 0
    assert services.generate_maintenance_orders(today=dt.date(2030, 3, 18)) == 0
    (visit,) = visits(lift_plan)
    (order,) = orders(lift_plan)
    assert visit.due_on == dt.date(2030, 3, 20)
    assert order.source == "plan" and order.source_ref == f"plan:{lift_plan.pk}:2030-03-20"
    assert (visit.work_order_id, visit.work_order_ref) == (order.pk, order.source_ref)
    assert order.category.code == "lift" and order.common_part_id == lift_plan.common_part_id
    # The next one, fifteen days on, three days ahead of it.
    assert services.generate_maintenance_orders(today=dt.date(2030, 4, 1)) == 1
    assert [v.due_on for v in visits(lift_plan)] == [dt.date(2030, 3, 20), dt.date(2030, 4, 4)]
    assert len(orders(lift_plan)) == 2


def test_missed_due_dates_collapse_into_one_catch_up_visit(patrol: Patrol) -> None:
    with community_scope(patrol.route.community_id):
        plan = services.create_maintenance_plan(
            community=patrol.world.a.community,
            name="旧电梯",
            kind="lift_maintenance",
            common_part=patrol.lift,
            first_due_on=dt.date(2030, 1, 1),
            actor=None,
        )
    assert services.generate_maintenance_orders(today=dt.date(2030, 3, 10)) == 1
    assert [v.due_on for v in visits(plan)] == [dt.date(2030, 3, 2)]  # 1 Jan + 4 × 15 days


def test_an_unfinished_visit_is_flagged_overdue_once_and_the_manager_told(lift_plan: MaintenancePlan) -> None:
    services.generate_maintenance_orders(today=dt.date(2030, 3, 17))
    assert services.sweep_maintenance(today=dt.date(2030, 3, 20)) == 0  # due today: not yet late
    assert services.sweep_maintenance(today=dt.date(2030, 3, 21)) == 1
    assert services.sweep_maintenance(today=dt.date(2030, 3, 22)) == 0
    (visit,) = visits(lift_plan)
    assert visit.state == MaintenanceVisit.State.OVERDUE
    told = Notification.objects.filter(kind="preventive.maintenance_overdue")
    assert list(told.values_list("recipient__username", flat=True)) == ["manager_x"]
    assert "2030-03-20" in told.get().body


def finish(order: WorkOrder, world) -> None:
    technician = world.user("technician")
    with community_scope(order.community_id):
        order = WorkOrder.objects.get(pk=order.pk)
        if order.assignee_id is None:
            order = wo.assign_order(order=order, assignee=technician, actor=world.user("manager_x"))
        worker = order.assignee
        order = wo.start_order(order=order, actor=worker)
        wo.resolve_order(order=order, note="已完成维保", actor=worker)


def test_a_visit_is_done_when_its_order_is_resolved_even_late(patrol: Patrol, lift_plan: MaintenancePlan) -> None:
    services.generate_maintenance_orders(today=dt.date(2030, 3, 17))
    services.sweep_maintenance(today=dt.date(2030, 3, 21))
    (order,) = orders(lift_plan)
    finish(order, patrol.world)
    assert services.sweep_maintenance(today=dt.date(2030, 3, 22)) == 0
    (visit,) = visits(lift_plan)
    assert visit.state == MaintenanceVisit.State.DONE and visit.done_at is not None
    with community_scope(lift_plan.community_id):
        rows = services.maintenance_overview(today=dt.date(2030, 3, 22))
    (row,) = rows
    assert row.last_done == dt.date(2030, 3, 20) and not row.overdue
    assert row.next_due == dt.date(2030, 4, 4)


def test_changing_the_interval_leaves_scheduled_visits_alone(lift_plan: MaintenancePlan) -> None:
    services.generate_maintenance_orders(today=dt.date(2030, 3, 17))
    with community_scope(lift_plan.community_id):
        with pytest.raises(Conflict):
            services.change_maintenance_interval(
                plan=lift_plan,
                first_due_on=dt.date(2030, 3, 20),
                every=10,
                unit="days",
                actor=None,
                today=dt.date(2030, 3, 17),
            )
        services.change_maintenance_interval(
            plan=lift_plan,
            first_due_on=dt.date(2030, 3, 25),
            every=10,
            unit="days",
            actor=None,
            today=dt.date(2030, 3, 17),
        )
    services.generate_maintenance_orders(today=dt.date(2030, 4, 2))
    assert [v.due_on for v in visits(lift_plan)] == [dt.date(2030, 3, 20), dt.date(2030, 3, 25), dt.date(2030, 4, 4)]
    first = visits(lift_plan)[0]
    assert first.schedule_id != visits(lift_plan)[-1].schedule_id
