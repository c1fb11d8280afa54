"""Dispatch modes per category, SLA policies (effective-dated, per category), working calendars,
escalation on SLA breach, paid repairs handed to billing, and the quality metrics."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from anju.core.errors import Conflict, DomainError
from anju.core.models import Notification
from anju.core.tenancy import community_scope
from anju.workorders import metrics, services, sla
from anju.workorders.models import Category, QuoteState, State, WorkingCalendar, WorkOrder

from .helpers import add_technician, reload, resident_report

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _accept(world, order: WorkOrder) -> WorkOrder:
    with community_scope(order.community_id):
        services.accept_order(order=reload(order), actor=world.user("manager_x"))
    return reload(order)


def test_round_robin_takes_turns(world):
    second = add_technician(world, "rr2")
    first = world.user("technician")
    assignees = []
    for i in range(4):
        order = _accept(world, resident_report(world, category="public_area", description=f"楼道灯坏 {i}"))
        assert order.state == State.ASSIGNED
        assignees.append(order.assignee_id)
    assert assignees == [first.pk, second.pk, first.pk, second.pk]


def test_automatic_dispatch_prefers_skill_building_and_lower_load(world):
    plumber, electrician = add_technician(world, "plumber"), add_technician(world, "electrician")
    community = world.a.community
    with community_scope(community.pk):
        services.ensure_defaults(community)
        services.set_technician_profile(
            community=community, user=plumber, skills=["plumbing"], building_ids=[world.a.buildings[0].pk], actor=None
        )
        services.set_technician_profile(
            community=community, user=electrician, skills=["electrical"], building_ids=[], actor=None
        )
        services.set_technician_profile(
            community=community,
            user=world.user("technician"),
            skills=["plumbing"],
            building_ids=[],
            on_duty=False,
            actor=None,
        )
    water = _accept(world, resident_report(world, category="water"))
    assert water.assignee_id == plumber.pk  # skill and building; the other plumber is off duty
    power = _accept(world, resident_report(world, category="electricity", description="跳闸"))
    assert power.assignee_id == electrician.pk


def test_automatic_dispatch_without_anyone_eligible_waits_and_tells_dispatchers(world):
    community = world.a.community
    with community_scope(community.pk):
        services.ensure_defaults(community)
        services.set_technician_profile(
            community=community, user=world.user("technician"), skills=[], building_ids=[], on_duty=False, actor=None
        )
    order = _accept(world, resident_report(world, category="water"))
    assert order.state == State.ACCEPTED and order.assignee_id is None
    assert Notification.objects.filter(recipient=world.user("manager_x"), kind="workorders.unassigned").exists()


def test_grab_refused_for_assign_categories_and_after_someone_took_it(world):
    other = add_technician(world, "grab2")
    noise = _accept(world, resident_report(world, category="noise"))
    with community_scope(noise.community_id), pytest.raises(DomainError) as refused:
        services.grab_order(order=noise, actor=world.user("technician"))
    assert refused.value.code == "not_grabbable"
    lock = _accept(world, resident_report(world, category="doors_locks"))
    assert Notification.objects.filter(recipient=other, kind="workorders.grab").exists()
    with community_scope(lock.community_id):
        services.grab_order(order=reload(lock), actor=world.user("technician"))
        with pytest.raises(Conflict) as taken:
            services.grab_order(order=lock, actor=other)  # a stale copy, as a second phone would hold
    assert taken.value.code == "already_taken"


def test_sla_policy_is_effective_dated_and_category_specific(world):
    community = world.a.community
    manager = world.user("manager_x")
    with community_scope(community.pk):
        services.ensure_defaults(community)
        water = Category.objects.get(code="water")
        services.add_sla_policy(
            community=community,
            category=water,
            priority="high",
            response_minutes=45,
            resolution_minutes=300,
            actor=manager,
        )
        later = timezone.now() + dt.timedelta(days=1)
        services.add_sla_policy(
            community=community,
            category=water,
            priority="high",
            response_minutes=20,
            resolution_minutes=120,
            effective_from=later,
            actor=manager,
        )
        now = timezone.now()
        policy, response, resolution = sla.deadlines(water, "high", now)
        assert (policy.response_minutes, response - now, resolution - now) == (
            45,
            dt.timedelta(minutes=45),
            dt.timedelta(minutes=300),
        )
        assert sla.policy_for(water, "high", later + dt.timedelta(minutes=1)).response_minutes == 20
        # Another category still uses the community-wide default for its priority.
        noise = Category.objects.get(code="noise")
        assert sla.policy_for(noise, "high", now).response_minutes == 60
        with pytest.raises(DomainError):
            services.add_sla_policy(
                community=community, priority="high", response_minutes=60, resolution_minutes=30, actor=manager
            )


def test_working_calendar_counts_only_office_hours(world):
    community = world.a.community
    with community_scope(community.pk):
        calendar = WorkingCalendar(
            community=community,
            name="t",
            weekdays=[0, 1, 2, 3, 4],
            starts_at=dt.time(8, 30),
            ends_at=dt.time(17, 30),
            holidays=["2026-10-05"],
            extra_workdays=["2026-10-10"],
        )
    friday_late = dt.datetime(2026, 11, 27, 17, 0, tzinfo=SHANGHAI)
    # 30 minutes left on Friday, the rest from Monday 08:30.
    assert sla.add_working_minutes(friday_late, 240, calendar) == dt.datetime(2026, 11, 30, 12, 0, tzinfo=SHANGHAI)
    night = dt.datetime(2026, 11, 24, 22, 0, tzinfo=SHANGHAI)
    assert sla.add_working_minutes(night, 60, calendar) == dt.datetime(2026, 11, 25, 9, 30, tzinfo=SHANGHAI)
    # A holiday Monday is skipped; a Saturday worked in lieu (调休) counts.
    assert sla.add_working_minutes(dt.datetime(2026, 10, 5, 9, 0, tzinfo=SHANGHAI), 60, calendar) == dt.datetime(
        2026, 10, 6, 9, 30, tzinfo=SHANGHAI
    )
    assert sla.add_working_minutes(dt.datetime(2026, 10, 10, 9, 0, tzinfo=SHANGHAI), 60, calendar) == dt.datetime(
        2026, 10, 10, 10, 0, tzinfo=SHANGHAI
    )
    assert sla.add_working_minutes(night, 60, None) == night + dt.timedelta(hours=1)


def test_greenery_deadlines_follow_office_hours(world):
    order = resident_report(world, category="greenery", description="树枝挡窗")
    local_due = timezone.localtime(order.resolution_due_at)
    assert dt.time(8, 30) <= local_due.time() <= dt.time(17, 30)
    assert local_due.weekday() < 5


def test_sweep_escalates_to_the_manager_once(world):
    order = resident_report(world, category="noise")
    with community_scope(order.community_id):
        WorkOrder.objects.filter(pk=order.pk).update(response_due_at=timezone.now() - dt.timedelta(minutes=1))
    assert services.sweep_overdue() == 1
    assert services.sweep_overdue() == 0
    order = reload(order)
    assert order.response_escalated_at is not None and order.resolution_escalated_at is None
    notes = Notification.objects.filter(kind="workorders.escalated")
    assert list(notes.values_list("recipient__username", flat=True)) == ["manager_x"]
    assert "超时" in notes.get().title


def test_pause_moves_the_resolution_deadline_and_is_not_swept(world):
    tech = world.user("technician")
    order = _accept(world, resident_report(world, category="noise"))
    with community_scope(order.community_id):
        services.assign_order(order=reload(order), assignee=tech, actor=world.user("manager_x"))
        services.start_order(order=reload(order), actor=tech)
        services.pause_order(order=reload(order), reason="等配件", actor=tech)
        due = reload(order).resolution_due_at
        WorkOrder.objects.filter(pk=order.pk).update(
            resolution_due_at=timezone.now() - dt.timedelta(minutes=1), paused_at=timezone.now() - dt.timedelta(hours=2)
        )
        assert services.sweep_overdue() == 0  # paused: the clock is stopped
        services.resume_order(order=reload(order), actor=tech)
        resumed = reload(order)
    assert resumed.resolution_due_at > timezone.now() + dt.timedelta(minutes=110)
    assert due is not None


def test_paid_repair_quote_then_billing_hand_off_once(world):
    from anju.billing.models import Bill

    resident, tech, manager = world.user("resident_a"), world.user("technician"), world.user("manager_x")
    order = resident_report(world, category="noise", description="换水龙头")
    with community_scope(order.community_id):
        services.assign_order(order=reload(order), assignee=tech, actor=manager)
        services.quote_order(order=reload(order), amount_fen=8550, note="水龙头及人工", actor=manager)
        with pytest.raises(DomainError) as waiting:
            services.start_order(order=reload(order), actor=tech)
        assert waiting.value.code == "quote_pending"
        services.answer_quote(order=reload(order), accept=True, actor=resident)
        with pytest.raises(DomainError):
            services.answer_quote(order=reload(order), accept=False, actor=resident)
        services.start_order(order=reload(order), actor=tech)
        services.resolve_order(order=reload(order), note="已更换", actor=tech)
        services.confirm_order(order=reload(order), actor=resident)
        order = reload(order)
        bills = list(Bill.objects.filter(source_ref=f"workorder:{order.pk}"))
    assert order.quote_state == QuoteState.ACCEPTED and order.charged_at is not None
    assert len(bills) == 1 and bills[0].total_fen == 8550 and bills[0].home_id == world.a.homes[0].pk
    # Running the hand-off again (a retry, a second confirmation path) charges nothing more.
    from anju.workorders.services.feedback import hand_off_to_billing

    with community_scope(order.community_id):
        assert hand_off_to_billing(order, None) is False
        assert Bill.objects.filter(source_ref=f"workorder:{order.pk}").count() == 1


def test_quote_needs_a_home_and_a_sane_amount(world):
    community = world.a.community
    order = services.create_order(
        community=community,
        kind="repair",
        category_code="public_area",
        description="路灯",
        actor=world.user("manager_x"),
    )
    with community_scope(community.pk):
        with pytest.raises(DomainError) as no_home:
            services.quote_order(order=reload(order), amount_fen=100, note="", actor=world.user("manager_x"))
        assert no_home.value.code == "not_chargeable"
    home_order = resident_report(world)
    with community_scope(community.pk), pytest.raises(DomainError) as bad:
        services.quote_order(order=_accept(world, home_order), amount_fen=0, note="", actor=world.user("manager_x"))
    assert bad.value.code == "invalid_amount"


def test_metrics_percentiles_satisfaction_and_first_time_fix(world):
    assert metrics.percentile([5, 1, 4, 2, 3], 50) == 3
    assert metrics.percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 90) == 90
    assert metrics.percentile([], 50) is None
    tech, manager, resident = world.user("technician"), world.user("manager_x"), world.user("resident_a")
    base = timezone.now() - dt.timedelta(days=3)
    for minutes, rating, reopen in [(30, 5, 0), (60, 2, 1), (90, 4, 0)]:
        order = resident_report(world, category="noise", description=f"测试 {minutes}")
        with community_scope(order.community_id):
            services.assign_order(order=reload(order), assignee=tech, actor=manager)
            services.start_order(order=reload(order), actor=tech)
            services.resolve_order(order=reload(order), note="ok", actor=tech)
            services.rate_order(order=reload(order), rating=rating, actor=resident)
            WorkOrder.objects.filter(pk=order.pk).update(
                created_at=base,
                started_at=base + dt.timedelta(minutes=minutes),
                resolved_at=base + dt.timedelta(minutes=minutes * 2),
                reopen_count=reopen,
            )
    with community_scope(world.a.community.pk):
        (row,) = metrics.quality(WorkOrder.objects.all(), by="technician")
    assert row.label == "technician" and row.orders == 3 and row.rated == 3
    assert row.average_rating == pytest.approx(3.67)
    assert row.satisfied_percent == pytest.approx(66.7)
    assert (row.response_p50_minutes, row.response_p90_minutes) == (60, 90)
    assert (row.resolution_p50_minutes, row.resolution_p90_minutes) == (120, 180)
    assert row.first_time_fix_percent == pytest.approx(66.7)
