"""Periodic jobs of preventive work (see :mod:`anju.core.periodic`). Each is safe to run twice at
once: generation inserts under unique constraints, flags are conditional UPDATE claims."""

from __future__ import annotations

from datetime import timedelta

from anju.core.periodic import periodic
from anju.workorders.preventive import services


@periodic("preventive.generate_rounds", every=timedelta(minutes=15))
def generate_rounds() -> int:
    return services.generate_rounds()


@periodic("preventive.flag_missed_rounds", every=timedelta(minutes=1))
def flag_missed_rounds() -> int:
    return services.flag_missed_rounds()


@periodic("preventive.generate_maintenance", every=timedelta(hours=1))
def generate_maintenance() -> int:
    return services.generate_maintenance_orders()


@periodic("preventive.sweep_maintenance", every=timedelta(minutes=10))
def sweep_maintenance() -> int:
    return services.sweep_maintenance()
