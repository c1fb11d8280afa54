"""Sample ids for the tenancy matrix: a real order (with a photo and a follow-up) of the estate's
community, made through the services."""

from __future__ import annotations

from typing import Any

from anju.core.tenancy import community_scope
from anju.workorders import services
from anju.workorders.models import Category, FollowUp, WorkingCalendar, WorkOrderPhoto
from tests.personas import World

from .helpers import upload


def samples(world: World, estate_name: str) -> dict[str, Any]:
    estate = getattr(world, estate_name)
    community = estate.community
    with community_scope(community.pk):
        order = services.create_order(
            community=community,
            kind="repair",
            category_code="other",
            description=f"matrix {estate_name}",
            home=estate.homes[0],
            source="staff",
            source_ref=f"matrix:{estate_name}",
            actor=None,
            photos=[upload()],
        )
        photo = WorkOrderPhoto.objects.filter(order=order).first()
        follow_up, _created = FollowUp.objects.get_or_create(
            order=order, defaults={"community": community, "reason": "sample", "due_on": order.created_at.date()}
        )
        category = Category.objects.get(code="other")
        calendar = WorkingCalendar.objects.first()
    return {
        "order_id": order.pk,
        "photo_id": photo.pk if photo else 0,
        "follow_up_id": follow_up.pk,
        "workorder_category_id": category.pk,
        "workorder_calendar_id": calendar.pk if calendar else 0,
    }
