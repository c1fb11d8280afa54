"""The SLA sweep: every open order past a deadline is escalated to the community's managers, once.

The sweep works in batches of up to 500 orders, each in one short transaction:

1. read the candidates through the partial indexes on the two deadlines (only rows not yet
   escalated are in them), locking them ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so a second
   sweep running at the same moment skips the rows this one holds instead of waiting for them;
2. claim them with a conditional UPDATE that stamps ``*_escalated_at`` only where it is still
   empty — the stamp is the claim: an order stamped by another run is not ours, and only the rows
   carrying this run's stamp are escalated;
3. write their timeline events and audit rows in bulk and notify the managers (and the assignee).

When two sweeps overlap (two ``runperiodic`` processes, a Celery worker and a manual run) each
order's deadline is therefore escalated by exactly one of them. On SQLite, which has no row locks,
the write transaction itself serialises the two runs and the conditional UPDATE decides the same.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.core import audit
from anju.core.models import User
from anju.core.tenancy import scopes_disabled
from anju.workorders.models import WorkOrder, WorkOrderEvent
from anju.workorders.services.common import managers, tell

BATCH = 500
DEADLINES = ("response", "resolution")


def sweep_overdue(now: dt.datetime | None = None, *, batch: int = BATCH) -> int:
    """Escalate overdue orders; returns how many escalations this run made."""
    now = now or timezone.now()
    made = 0
    manager_cache: dict[int, list[User]] = {}
    with scopes_disabled():
        for deadline in DEADLINES:
            while True:
                escalated, full = _escalate_batch(deadline, now, batch, manager_cache)
                made += escalated
                if not full:
                    break
    return made


@transaction.atomic
def _escalate_batch(
    deadline: str, now: dt.datetime, batch: int, manager_cache: dict[int, list[User]]
) -> tuple[int, bool]:
    stamp = f"{deadline}_escalated_at"
    candidates = getattr(WorkOrder.objects, f"{deadline}_overdue")(now).order_by(f"{deadline}_due_at")
    if connection.features.has_select_for_update_skip_locked:
        candidates = candidates.select_for_update(skip_locked=True)
    ids = list(candidates.values_list("pk", flat=True)[:batch])
    if not ids:
        return 0, False
    # The claim: stamp only rows still unstamped; the rows with this run's stamp are ours.
    claimed = WorkOrder.objects.filter(pk__in=ids, **{f"{stamp}__isnull": True}).update(**{stamp: now})
    if claimed == 0:
        return 0, len(ids) == batch
    orders = list(WorkOrder.objects.filter(pk__in=ids, **{stamp: now}).select_related("category", "assignee"))
    events, entries = [], []
    for order in orders:
        due = getattr(order, f"{deadline}_due_at")
        data = {"deadline": deadline, "due": due.isoformat() if due else None}
        events.append(
            WorkOrderEvent(
                community_id=order.community_id, order=order, kind=WorkOrderEvent.Kind.ESCALATED, data=data, at=now
            )
        )
        entries.append(
            audit.entry(
                actor=None, action=f"workorders.escalate_{deadline}", obj=order, after={stamp: now.isoformat(), **data}
            )
        )
    WorkOrderEvent.objects.bulk_create(events)
    audit.record_all(entries)
    title = (
        _("Overdue: order %(number)s has nobody on site yet")
        if deadline == "response"
        else _("Overdue: order %(number)s is not resolved in time")
    )
    for order in orders:
        if order.community_id not in manager_cache:
            manager_cache[order.community_id] = managers(order.community_id)
        tell(
            [*manager_cache[order.community_id], order.assignee],
            order,
            title,
            order.description[:100],
            kind="escalated",
        )
    return len(orders), len(ids) == batch
