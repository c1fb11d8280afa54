"""Two workers running the same preventive job at once (PostgreSQL: real row locks, real threads).

The CI's PostgreSQL pass runs these; on SQLite they skip (one writer at a time proves nothing).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable

import pytest
from django.db import close_old_connections, connection

from anju.core.models import Notification
from anju.core.tenancy import community_scope, scopes_disabled
from anju.workorders.models import WorkOrder
from anju.workorders.preventive import services
from anju.workorders.preventive.models import MaintenanceVisit, Round

from .conftest import local, make_patrol

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL row locking"),
]
WORKERS = 4


def run_together(job: Callable[[], int]) -> list[int]:
    """Start ``WORKERS`` threads on ``job`` behind a barrier and collect what each returned."""
    barrier = threading.Barrier(WORKERS)
    results: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(job())
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


@pytest.fixture
def world_with_patrol():
    from ..personas import build_world

    world = build_world()
    with community_scope(world.a.community.pk):
        patrol = make_patrol(world)
    return world, patrol


def test_concurrent_generation_makes_each_round_once(world_with_patrol) -> None:
    _, patrol = world_with_patrol
    results = run_together(lambda: services.generate_rounds(now=local(2030, 3, 10, 6)))
    assert sum(results) == 2
    with scopes_disabled():
        assert Round.objects.filter(plan=patrol.plan).count() == 2


def test_concurrent_sweeps_flag_a_missed_round_once(world_with_patrol) -> None:
    services.generate_rounds(now=local(2030, 3, 10, 6))
    results = run_together(lambda: services.flag_missed_rounds(now=local(2030, 3, 10, 12)))
    assert sum(results) == 1
    assert Notification.objects.filter(kind="preventive.round_missed").count() == 1


def test_concurrent_maintenance_runs_open_one_order_per_due_date(world_with_patrol) -> None:
    world, patrol = world_with_patrol
    with community_scope(world.a.community.pk):
        plan = services.create_maintenance_plan(
            community=world.a.community,
            name="电梯维保",
            kind="lift_maintenance",
            common_part=patrol.lift,
            first_due_on=dt.date(2030, 3, 20),
            actor=None,
        )
    results = run_together(lambda: services.generate_maintenance_orders(today=dt.date(2030, 3, 18)))
    assert sum(results) == 1
    with scopes_disabled():
        assert MaintenanceVisit.objects.filter(plan=plan).count() == 1
        assert WorkOrder.objects.filter(source_ref=f"plan:{plan.pk}:2030-03-20").count() == 1
    flagged = run_together(lambda: services.sweep_maintenance(today=dt.date(2030, 3, 25)))
    assert sum(flagged) == 1
    assert Notification.objects.filter(kind="preventive.maintenance_overdue").count() == 1
