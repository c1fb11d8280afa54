"""The one place preventive work meets the work-order core (``anju.workorders``).

Orders are opened only through :func:`anju.workorders.services.create_order` with ``source="plan"``
and a ``source_ref`` that names what made them, so opening twice returns the same order:

* ``plan:<maintenance plan id>:<due date>`` for a maintenance visit;
* ``inspection:<round id>:<point id>`` for a problem found on a round.

What became of an order is read back by that ``source_ref``.
"""

from __future__ import annotations

from typing import IO

from django.utils import translation
from django.utils.translation import gettext as _

from anju.core.models import User
from anju.estates.models import CommonPart
from anju.workorders.preventive.models import CheckIn, MaintenancePlan, MaintenanceVisit

# Work-order categories for an inspection point's place, by the kind of common part it is at.
CATEGORY_BY_PART_KIND: dict[str, str] = {
    CommonPart.Kind.LIFT: "lift",
    CommonPart.Kind.FIRE_SYSTEM: "fire",
    CommonPart.Kind.GREEN_SPACE: "greenery",
    CommonPart.Kind.GATE: "doors_locks",
    CommonPart.Kind.PUMP_ROOM: "water",
}
DEFAULT_CATEGORY = "public_area"


def finding_ref(checkin: CheckIn) -> str:
    return f"inspection:{checkin.round_id}:{checkin.point_id}"


def maintenance_ref(plan: MaintenancePlan, visit: MaintenanceVisit) -> str:
    return f"plan:{plan.pk}:{visit.due_on.isoformat()}"


def category_for_point(checkin: CheckIn) -> str:
    part = checkin.point.common_part
    return CATEGORY_BY_PART_KIND.get(part.kind, DEFAULT_CATEGORY) if part is not None else DEFAULT_CATEGORY


def open_finding_order(
    checkin: CheckIn, *, category_code: str = "", photo: IO[bytes] | None = None, actor: User
) -> str:
    """A repair order for a problem found at a point, with the finding's photo; returns its ``source_ref``."""
    from anju.workorders.services import create_order

    point = checkin.point
    with translation.override("zh-hans"):
        description = _("Found on inspection round %(round)s at %(point)s: %(note)s") % {
            "round": checkin.round,
            "point": point.name,
            "note": checkin.note[:1500],
        }
    part = point.common_part
    building = point.building or (part.building if part is not None else None)
    create_order(
        community=checkin.round.plan.community,
        kind="repair",
        category_code=category_code or category_for_point(checkin),
        description=description,
        building=building,
        common_part=point.common_part,
        source="plan",
        source_ref=finding_ref(checkin),
        location_note=point.name,
        photos=[photo] if photo is not None else (),
        actor=actor,
    )
    return finding_ref(checkin)


def open_maintenance_order(plan: MaintenancePlan, visit: MaintenanceVisit, *, actor: User | None) -> tuple[str, int]:
    """The scheduled order for one due date of a maintenance plan; returns its ref and id."""
    from anju.workorders.services import create_order

    with translation.override("zh-hans"):
        description = _("Scheduled maintenance due %(due)s: %(plan)s. %(instructions)s") % {
            "due": visit.due_on.isoformat(),
            "plan": plan.name,
            "instructions": plan.instructions,
        }
    part = plan.common_part
    if part is None and plan.device is not None:
        part = plan.device.common_part
    order = create_order(
        community=plan.community,
        kind="repair",
        category_code=plan.category_code,
        description=description.strip(),
        building=part.building if part is not None and part.building_id else None,
        common_part=part,
        source="plan",
        source_ref=maintenance_ref(plan, visit),
        actor=actor,
    )
    return maintenance_ref(plan, visit), order.pk


# States in which an order's work is finished (the resident or the system may still confirm it).
FINISHED_STATES = ("resolved", "confirmed", "closed")


def orders_finished(refs: list[str]) -> set[str]:
    """Of these ``source_ref`` s, the ones whose order's work is finished."""
    from anju.workorders.models import WorkOrder

    if not refs:
        return set()
    from anju.core.tenancy import scopes_disabled

    with scopes_disabled():
        return set(
            WorkOrder.objects.filter(source_ref__in=refs, state__in=FINISHED_STATES).values_list(
                "source_ref", flat=True
            )
        )
