"""Building blocks for the work-order tests: real images, extra technicians, orders in a state."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from anju.core.models import Role, User
from anju.core.services import add_membership, create_user
from anju.core.tenancy import community_scope
from anju.workorders import services
from anju.workorders.models import WorkOrder
from tests.personas import CONTRACT_START, PASSWORD, World


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (32, 24), color: str = "teal") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


def upload(name: str = "leak.png", content: bytes | None = None, content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes() if content is None else content, content_type=content_type)


def add_technician(world: World, username: str, *, estate: str = "a") -> User:
    user = create_user(username=username, password=PASSWORD, display_name=username, actor=None)
    add_membership(
        user=user,
        organization=world.company_x,
        role=Role.TECHNICIAN,
        community_ids=[getattr(world, estate).community.pk],
        starts_on=CONTRACT_START,
        actor=None,
    )
    return user


def resident_report(world: World, *, category: str = "water", description: str = "厨房水管漏水", **extra) -> WorkOrder:  # type: ignore[no-untyped-def]
    estate = world.a
    with community_scope(estate.community.pk):
        return services.report_order(
            community=estate.community,
            kind="repair",
            category_code=category,
            description=description,
            home=estate.homes[0],
            actor=world.user("resident_a"),
            **extra,
        )


def reload(order: WorkOrder) -> WorkOrder:
    with community_scope(order.community_id):
        return WorkOrder.objects.select_related("category", "assignee", "home__building").get(pk=order.pk)
