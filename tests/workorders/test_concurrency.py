"""Races that only a real database settles: two technicians grabbing one order, two SLA sweeps,
two auto-confirm runs. Real threads, real row locks: PostgreSQL only (CI runs it)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone

from anju.core.errors import Conflict
from anju.core.tenancy import community_scope
from anju.workorders import services
from anju.workorders.models import State, WorkOrder, WorkOrderEvent

from .helpers import add_technician, reload, resident_report

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row-lock races need PostgreSQL (SQLite serialises writers)"
    ),
]


def _race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at the same moment in threads; each result is a value or the exception raised."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:  # the loser's refusal is the point of the test
            results[index] = exc
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_two_technicians_grab_the_same_order_exactly_one_wins(world):
    first, second = add_technician(world, "grabber1"), add_technician(world, "grabber2")
    for attempt in range(5):
        order = resident_report(world, category="doors_locks", description=f"门锁坏了 {attempt}")
        with community_scope(order.community_id):
            services.accept_order(order=reload(order), actor=world.user("manager_x"))

        def grab(user, order=order):  # type: ignore[no-untyped-def]
            def call() -> Any:
                with community_scope(order.community_id):
                    return services.grab_order(order=reload(order), actor=user)

            return call

        results = _race(grab(first), grab(second))
        winners = [r for r in results if isinstance(r, WorkOrder)]
        losers = [r for r in results if isinstance(r, Exception)]
        assert len(winners) == 1, results
        assert len(losers) == 1 and isinstance(losers[0], Conflict) and losers[0].code == "already_taken", results
        fresh = reload(order)
        assert fresh.state == State.ASSIGNED and fresh.assignee_id == winners[0].assignee_id
        with community_scope(order.community_id):
            assert WorkOrderEvent.objects.filter(order_id=order.pk, kind="grabbed").count() == 1


def _overdue_orders(world, count: int) -> list[WorkOrder]:
    orders = [resident_report(world, category="noise", description=f"楼上装修 {i}") for i in range(count)]
    with community_scope(world.a.community.pk):
        WorkOrder.objects.filter(pk__in=[o.pk for o in orders]).update(
            response_due_at=timezone.now() - dt.timedelta(minutes=5),
            resolution_due_at=timezone.now() - dt.timedelta(minutes=1),
        )
    return orders


def test_two_concurrent_sweeps_escalate_each_deadline_once(world):
    orders = _overdue_orders(world, 12)
    results = _race(services.sweep_overdue, services.sweep_overdue, services.sweep_overdue)
    assert all(isinstance(r, int) for r in results), results
    # Each order missed two deadlines: 24 escalations in all, however the sweeps shared them out.
    assert sum(results) == 24
    with community_scope(world.a.community.pk):
        for order in orders:
            assert WorkOrderEvent.objects.filter(order_id=order.pk, kind="escalated").count() == 2
    from anju.core.models import Notification

    manager = world.user("manager_x")
    assert Notification.objects.filter(recipient=manager, kind="workorders.escalated").count() == 24
    assert services.sweep_overdue() == 0


def test_two_concurrent_auto_confirm_runs_confirm_once(world):
    tech = world.user("technician")
    orders = []
    for i in range(6):
        order = resident_report(world, category="noise", description=f"噪音 {i}")
        with community_scope(order.community_id):
            services.assign_order(order=reload(order), assignee=tech, actor=world.user("manager_x"))
            services.start_order(order=reload(order), actor=tech)
            services.resolve_order(order=reload(order), note="好了", actor=tech)
        orders.append(order)
    with community_scope(world.a.community.pk):
        WorkOrder.objects.filter(pk__in=[o.pk for o in orders]).update(
            resolved_at=timezone.now() - dt.timedelta(days=4)
        )
    results = _race(services.auto_confirm_due, services.auto_confirm_due)
    assert sum(results) == 6, results
    with community_scope(world.a.community.pk):
        assert WorkOrderEvent.objects.filter(order_id__in=[o.pk for o in orders], kind="auto_confirmed").count() == 6


def test_two_alarms_generating_the_same_order_at_once_make_one(world):
    community = world.a.community

    def generate() -> Any:
        return services.create_order(
            community=community,
            kind="repair",
            category_code="lift",
            description="电梯困人",
            source="alarm",
            source_ref="alarm:race",
            actor=None,
        )

    results = _race(generate, generate, generate)
    assert all(isinstance(r, WorkOrder) for r in results), results
    assert len({r.pk for r in results}) == 1
    with community_scope(community.pk):
        assert WorkOrder.objects.filter(source_ref="alarm:race").count() == 1
