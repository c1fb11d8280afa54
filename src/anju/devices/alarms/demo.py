"""Demo alarms: a versioned rule template, and alarms in every state, made the way devices make them.

Runs after the device step (order 50), so the demo communities have lifts, cameras, pumps and fire
panels. Everything goes through the pipeline and the services: the entrapment below opens its lift
work order and calls the duty staff through the real after-commit dispatch.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from anju.core.demo.hooks import DemoContext, demo_step
from anju.core.permissions import Perm, access_for
from anju.devices.alarms import services
from anju.devices.alarms.models import Alarm
from anju.devices.alarms.pipeline import process
from anju.devices.messages import DeviceMessage
from anju.devices.models import Device

TRAPPED = {"moving": 0, "door_open": 0, "occupied": 1}


def _message(device: Device, at: dt.datetime, **fields: object) -> DeviceMessage:
    channel = "event" if "event" in fields else str(fields.pop("channel", "telemetry"))
    return DeviceMessage(
        community_id=device.community_id,
        device_id=device.pk,
        device_kind=device.kind,
        channel=channel,  # type: ignore[arg-type]
        received_at=at,
        sent_at=at,
        **fields,  # type: ignore[arg-type]
    )


def _latest(device: Device, alarm_type: str) -> Alarm | None:
    return Alarm.objects.filter(device=device, alarm_type=alarm_type).order_by("-pk").first()


@demo_step(order=60)
def seed_alarms(ctx: DemoContext) -> None:
    now = timezone.now()
    manager = ctx.staff.get("manager")
    technician = ctx.staff.get("technician")
    guard = ctx.staff.get("guard") or technician
    made = 0
    for code, community in ctx.communities.items():
        devices = {device.code: device for device in Device.objects.filter(community=community)}
        lifts = [device for device in devices.values() if device.kind == "lift"]
        cameras = [device for device in devices.values() if device.kind == "camera"]
        messages: list[DeviceMessage] = []
        if code == "highrise" and lifts and manager is not None:
            # The maintenance contract says 25 s, later relaxed to 30 s: two versions with reasons.
            for seconds, note in ((25, "维保合同约定25秒"), (30, "与维保单位复核后调整为30秒")):
                services.save_rule(
                    community=community,
                    device_kind="lift",
                    key="entrapment",
                    severity="critical",
                    enabled=True,
                    params={"seconds": seconds},
                    note=note,
                    actor=manager,
                )
        if lifts:
            # An entrapment going on right now: stopped between floors, doors shut, occupied.
            trapped = lifts[0]
            start = now - dt.timedelta(seconds=50)
            messages += [_message(trapped, start + dt.timedelta(seconds=s), points=TRAPPED) for s in (0, 20, 40, 49)]
        if len(lifts) > 1:
            messages += [
                _message(lifts[1], now - dt.timedelta(hours=3, seconds=s), event="lift.fault.02") for s in (0, 60, 120)
            ]
        if "pressure-supply" in devices:
            sensor = devices["pressure-supply"]
            messages.append(_message(sensor, now - dt.timedelta(seconds=30), points={"pressure_mpa": 0.11}))
        if "fire-panel" in devices:
            panel = devices["fire-panel"]
            messages += [
                _message(
                    panel,
                    now - dt.timedelta(days=1, minutes=5),
                    event="fire.alarm",
                    state="raise",
                    attrs={"test": True},
                ),
                _message(panel, now - dt.timedelta(days=1), event="fire.alarm", state="clear", attrs={"test": True}),
            ]
        if "leak-pump-room" in devices:
            leak = devices["leak-pump-room"]
            messages += [
                _message(leak, now - dt.timedelta(days=2, hours=1), event="leak.detected", state="raise"),
                _message(leak, now - dt.timedelta(days=2), event="leak.detected", state="clear"),
            ]
        for index, camera in enumerate(cameras[:3]):
            for episode in range(3):
                at = now - dt.timedelta(days=episode + 1, minutes=index * 7)
                event = "camera.ebike_in_lift" if camera.code.startswith("cam-lift") else "camera.fire_exit_blocked"
                messages += [
                    _message(camera, at + dt.timedelta(seconds=s), event=event, state="active") for s in (0, 1, 2)
                ]
                messages.append(_message(camera, at + dt.timedelta(seconds=30), event=event, state="inactive"))
        if cameras:
            event = "camera.ebike_in_lift" if cameras[0].code.startswith("cam-lift") else "camera.fire_exit_blocked"
            messages.append(_message(cameras[0], now - dt.timedelta(seconds=20), event=event, state="active"))
        if not messages:
            continue
        result = process(messages)
        made += len(result.raised)
        # People have handled some of it.
        if technician is not None and len(lifts) > 1:
            door = _latest(lifts[1], "lift.fault.02")
            if door is not None and door.is_open:
                services.acknowledge_alarm(door, actor=technician)
                services.resolve_alarm(door, outcome="fixed", note="调整门机皮带", actor=technician)
        handler = next(
            (user for user in (technician, manager) if user and access_for(user).has(Perm.HANDLE_ALARMS, community.pk)),
            None,
        )
        if handler is not None and "pressure-supply" in devices:
            low = _latest(devices["pressure-supply"], "water.pressure_low")
            if low is not None and low.is_open:
                services.start_alarm_work(low, actor=handler)
        if "fire-panel" in devices and guard is not None:
            test = _latest(devices["fire-panel"], "fire.alarm")
            if test is not None and test.state == "cleared":
                services.resolve_alarm(test, outcome="no_action", note="月度消防测试", actor=guard)
        if guard is not None:
            past = Alarm.objects.filter(device__in=cameras, review="pending", state="cleared").order_by("pk")
            for number, alarm in enumerate(past):
                services.review_alarm(alarm, genuine=number % 3 != 2, actor=guard)
    ctx.counts["alarms"] = made
    ctx.out(f"alarms: {made} raised")
