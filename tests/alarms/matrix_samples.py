"""Sample ids for the tenancy matrix: one device of the estate and an alarm on it, made through the
pipeline exactly as a device would cause it."""

from __future__ import annotations

from anju.core.tenancy import community_scope
from anju.devices.alarms.models import Alarm
from anju.devices.alarms.pipeline import process
from anju.devices.models import Device
from tests.personas import World

from .helpers import make_device, message


def samples(world: World, estate_name: str) -> dict[str, int]:
    estate = getattr(world, estate_name)
    code = f"alarm-matrix-{estate_name}"
    with community_scope(estate.community.pk):
        device = Device.objects.filter(code=code).first()
    if device is None:
        device = make_device(estate, "lift", code)
        process([message(device, 0, event="lift.fault.03")])
    with community_scope(estate.community.pk):
        alarm = Alarm.objects.filter(device=device).first()
    assert alarm is not None
    return {"device_id": device.pk, "alarm_id": alarm.pk}
