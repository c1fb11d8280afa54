"""Sample ids for the tenancy matrix: one device of the estate, registered through the service."""

from __future__ import annotations

from anju.core.tenancy import community_scope
from anju.devices.models import Device
from tests.personas import World

from .factories import make_device


def samples(world: World, estate_name: str) -> dict[str, int]:
    estate = getattr(world, estate_name)
    code = f"matrix-{estate_name}"
    with community_scope(estate.community.pk):
        existing = Device.objects.filter(code=code).first()
    if existing is None:
        existing, _ = make_device(estate.community, code=code, building=estate.buildings[0])
    return {"device_id": existing.pk}
