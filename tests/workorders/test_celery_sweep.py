"""The SLA sweep as a Celery task on a real worker (the shared ``celery_worker`` fixture, on Redis),
as production runs it with ``celery -A anju worker -B``: the same function, the same claims, the
same single escalation."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.utils import timezone

from anju.core.models import PeriodicJob
from anju.core.tenancy import community_scope
from anju.workorders.models import WorkOrder, WorkOrderEvent

from .helpers import resident_report


def _wait_for(condition, seconds: float = 90.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.django_db(transaction=True)
def test_sla_sweep_runs_as_a_celery_task_and_escalates_once(world, celery_worker):
    order = resident_report(world, category="noise", description="深夜噪音")
    with community_scope(order.community_id):
        WorkOrder.objects.filter(pk=order.pk).update(response_due_at=timezone.now() - dt.timedelta(minutes=1))

    def escalations() -> int:
        with community_scope(order.community_id):
            return WorkOrderEvent.objects.filter(order_id=order.pk, kind="escalated").count()

    celery_worker.send_task("anju.periodic", args=["workorders.sla_sweep", True])
    job = lambda: PeriodicJob.objects.filter(name="workorders.sla_sweep").values().first()  # noqa: E731
    assert _wait_for(lambda: escalations() == 1), f"the worker did not escalate the overdue order: {job()}"
    assert _wait_for(lambda: PeriodicJob.objects.filter(name="workorders.sla_sweep", last_handled=1).exists())
    # A second run on the worker (beat firing again) finds nothing new to escalate.
    celery_worker.send_task("anju.periodic", args=["workorders.sla_sweep", True])
    assert _wait_for(lambda: PeriodicJob.objects.filter(name="workorders.sla_sweep", last_handled=0).exists())
    assert escalations() == 1
