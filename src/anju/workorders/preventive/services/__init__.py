"""Every write of preventive work, as ``services.<verb_object>``: routes and points, inspection plans
and rounds, maintenance plans. Each write is one transaction with its audit row."""

from anju.workorders.preventive.services.maintenance import (
    PRESETS,
    PlanRow,
    change_maintenance_interval,
    create_maintenance_plan,
    generate_maintenance_orders,
    maintenance_overview,
    next_due,
    sweep_maintenance,
)
from anju.workorders.preventive.services.rounds import (
    change_inspection_schedule,
    check_in,
    create_inspection_plan,
    flag_missed_rounds,
    generate_rounds,
    may_walk,
    schedule_in_force,
    set_plan_active,
)
from anju.workorders.preventive.services.routes import (
    add_point,
    create_route,
    new_point_token,
    normalize_token,
    reissue_point_token,
    set_point_active,
    set_route_active,
)

__all__ = [
    "PRESETS",
    "PlanRow",
    "add_point",
    "change_inspection_schedule",
    "change_maintenance_interval",
    "check_in",
    "create_inspection_plan",
    "create_maintenance_plan",
    "create_route",
    "flag_missed_rounds",
    "generate_maintenance_orders",
    "generate_rounds",
    "maintenance_overview",
    "may_walk",
    "new_point_token",
    "next_due",
    "normalize_token",
    "reissue_point_token",
    "schedule_in_force",
    "set_plan_active",
    "set_point_active",
    "set_route_active",
    "sweep_maintenance",
]
