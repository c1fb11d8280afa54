"""Periodic work-order jobs: the SLA sweep and the silent-resident rule. Both claim each order with
a conditional UPDATE, so overlapping runs (two ``runperiodic`` processes, Celery beat and a manual
run) act on each order once."""

from __future__ import annotations

from datetime import timedelta

from anju.core.periodic import periodic
from anju.workorders.services.escalation import sweep_overdue
from anju.workorders.services.feedback import auto_confirm_due


@periodic("workorders.sla_sweep", every=timedelta(minutes=1))
def sla_sweep() -> int:
    """Escalate every open order past its response or resolution deadline to the managers."""
    return sweep_overdue()


@periodic("workorders.auto_confirm", every=timedelta(minutes=15))
def auto_confirm() -> int:
    """Confirm resolved orders after N silent days; close confirmed ones after the dispute window."""
    return auto_confirm_due()
