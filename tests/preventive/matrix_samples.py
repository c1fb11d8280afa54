"""Ids of one estate's preventive objects for the tenancy matrix (created through the services)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from anju.core.tenancy import community_scope
from anju.estates import services as estates
from anju.workorders.preventive import services
from anju.workorders.preventive.models import InspectionPlan, MaintenancePlan, Point, Round, Route

from ..personas import World


def samples(world: World, estate_name: str) -> dict[str, int | str]:
    estate = getattr(world, estate_name)
    community = estate.community
    with community_scope(community.pk):
        route = Route.objects.filter(name="matrix").first()
        if route is None:
            route = services.create_route(community=community, name="matrix", actor=None)
            services.add_point(route=route, name="gate", building=estate.buildings[0], actor=None)
            services.create_inspection_plan(
                route=route,
                name="matrix",
                frequency="daily",
                window_start=dt.time(8),
                window_end=dt.time(10),
                actor=None,
            )
            midnight = timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time(0)))
            services.generate_rounds(community_ids=[community.pk], now=midnight)
            lift = estates.create_common_part(community=community, name="matrix lift", kind="lift", actor=None)
            services.create_maintenance_plan(
                community=community,
                name="matrix",
                kind="lift_maintenance",
                common_part=lift,
                first_due_on=timezone.localdate() + dt.timedelta(days=30),
                actor=None,
            )
        point = Point.objects.get(route=route)
        return {
            "patrol_route_id": route.pk,
            "patrol_point_id": point.pk,
            "patrol_token": point.token,
            "patrol_round_id": Round.objects.filter(plan__route=route).order_by("pk").first().pk,  # type: ignore[union-attr]
            "inspection_plan_id": InspectionPlan.objects.get(route=route).pk,
            "maintenance_plan_id": MaintenancePlan.objects.get(name="matrix").pk,
        }
