"""Demo devices: what a property company would have connected in each demo community.

Per lift common part a lift (with a camera in the first car of each community), in the pump room
two pumps, a supply-pressure sensor, a roof tank and a leak sensor, on the fire system a panel, two
smoke detectors and an electrical fire monitor, per building a water and an electricity meter, and
a door controller and a camera at the gate. Each gets credentials (the plain text is discarded:
the simulator publishes through the gateway account) and a day of telemetry history, produced by
the simulator's own models so the charts look like the live ones.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from anju.core.demo.hooks import DemoContext, demo_step
from anju.devices.broker import deferred_broker_sync
from anju.devices.ingest import DeviceDirectory, Ingestor
from anju.devices.models import Device
from anju.devices.services import create_device
from anju.devices.simulator import SimDevice, Simulator
from anju.estates.models import Building, CommonPart, Community

HISTORY_HOURS = {"small": 6, "medium": 24, "large": 24}
HISTORY_STEP_SECONDS = {"small": 600, "medium": 300, "large": 300}
VENDORS = {
    "lift": ("日立电梯", "HGP"),
    "pump": ("格兰富", "CR 32-4"),
    "pressure_sensor": ("西门子", "SITRANS P"),
    "tank": ("安居自控", "LT-200"),
    "leak_sensor": ("安居自控", "WL-1"),
    "fire_panel": ("海湾", "GST200"),
    "smoke_detector": ("海湾", "JTY-GD-G3"),
    "electrical_fire_monitor": ("安科瑞", "ARCM300"),
    "water_meter": ("宁波水表", "LXS-50"),
    "electricity_meter": ("正泰", "DTSU666"),
    "door_controller": ("安居门禁", "AC-2"),
    "camera": ("海康威视", "DS-2CD3T47"),
}


def _register(community: Community, ctx: DemoContext) -> list[Device]:
    parts = list(CommonPart.objects.filter(community=community).select_related("building", "unit"))
    by_kind: dict[str, list[CommonPart]] = {}
    for part in parts:
        by_kind.setdefault(part.kind, []).append(part)
    installed = dt.date(community.built_year or 2015, 6, 1)
    specs: list[dict] = []
    for index, lift in enumerate(by_kind.get("lift", [])):
        building = lift.building
        suffix = f"{building.number}-{lift.unit.number}" if building and lift.unit else str(index + 1)
        specs.append(
            {
                "kind": "lift",
                "code": f"lift-{suffix}",
                "name": f"{lift.name}",
                "common_part": lift,
                "attrs": {"floors": building.floors_above if building else 10},
                "heartbeat_seconds": 30,
            }
        )
        if index == 0:
            specs.append(
                {
                    "kind": "camera",
                    "code": f"cam-lift-{suffix}",
                    "name": f"{lift.name}轿厢摄像机",
                    "common_part": lift,
                    "attrs": {"watches": "lift"},
                    "heartbeat_seconds": 120,
                }
            )
    pump_room = next(iter(by_kind.get("pump_room", [])), None)
    fire = next(iter(by_kind.get("fire_system", [])), None)
    gate = next(iter(by_kind.get("gate", [])), None)
    specs += [
        {"kind": "pump", "code": "pump-1", "name": "1号供水泵", "common_part": pump_room, "heartbeat_seconds": 30},
        {"kind": "pump", "code": "pump-2", "name": "2号供水泵", "common_part": pump_room, "heartbeat_seconds": 30},
        {"kind": "pressure_sensor", "code": "pressure-supply", "name": "供水总管压力", "common_part": pump_room},
        {"kind": "tank", "code": "tank-roof", "name": "生活水箱", "common_part": pump_room},
        {"kind": "leak_sensor", "code": "leak-pump-room", "name": "泵房水浸", "common_part": pump_room,
         "heartbeat_seconds": 300},
        {"kind": "fire_panel", "code": "fire-panel", "name": "火灾报警控制器", "common_part": fire},
        {"kind": "smoke_detector", "code": "smoke-1", "name": "地下车库烟感1", "common_part": fire},
        {"kind": "smoke_detector", "code": "smoke-2", "name": "地下车库烟感2", "common_part": fire},
        {"kind": "electrical_fire_monitor", "code": "efm-1", "name": "配电房电气火灾监控", "common_part": fire},
        {"kind": "door_controller", "code": "door-gate", "name": "南大门门禁", "common_part": gate},
        {"kind": "camera", "code": "cam-gate", "name": "南大门摄像机", "common_part": gate, "heartbeat_seconds": 120},
    ]  # fmt: skip
    for building in Building.objects.filter(community=community).order_by("sort_key"):
        specs.append(
            {"kind": "water_meter", "code": f"wm-{building.number}", "name": f"{building.number}号楼总水表",
             "building": building, "heartbeat_seconds": 180}
        )  # fmt: skip
        specs.append(
            {"kind": "electricity_meter", "code": f"em-{building.number}", "name": f"{building.number}号楼总电表",
             "building": building, "heartbeat_seconds": 180}
        )  # fmt: skip
    devices = []
    for spec in specs:
        vendor, model = VENDORS.get(spec["kind"], ("", ""))
        device, _credentials = create_device(
            community=community,
            vendor=vendor,
            model_name=model,
            installed_on=installed,
            maintainer="杭州安捷机电维保有限公司" if spec["kind"] == "lift" else "",
            maintenance_contract_ends_on=dt.date(timezone.now().year + 1, 12, 31) if spec["kind"] == "lift" else None,
            actor=ctx.staff.get("admin"),
            **spec,
        )
        devices.append(device)
    return devices


def _history(community: Community, devices: list[Device], ctx: DemoContext) -> int:
    """A simulated past, replayed through the real ingest path (validation, counters, rules)."""
    hours = HISTORY_HOURS.get(ctx.size, 6)
    step = HISTORY_STEP_SECONDS.get(ctx.size, 600)
    sims = []
    for device in devices:
        sim = SimDevice(device.pk, community.code, device.code, device.kind)
        if device.kind == "lift":
            sim.state = {
                "floors": int(device.attrs.get("floors", 10)),
                "floor": 1,
                "target": 1,
                "door_open": 1,
                "load": 0.0,
            }
        sims.append(sim)
    simulator = Simulator(sims, seed=ctx.rng.randint(0, 10**6), scenario_every=10**9)
    simulator.started = 0.0  # no incidents in the history
    simulator.calm = True
    now = timezone.now().timestamp()
    directory = DeviceDirectory()
    directory.load()
    ingestor = Ingestor(directory)
    moment = now - hours * 3600
    stored = 0
    while moment < now - 60:
        for sim in simulator.devices:
            sim.next_at = 0.0  # one report per device per step
        for topic, payload in simulator.tick(moment):
            ingestor.accept_mqtt(topic, payload, dt.datetime.fromtimestamp(moment + 0.2, dt.UTC))
        if len(ingestor) >= 2000:
            stored += len(ingestor.flush().stored)
        moment += step
    stored += len(ingestor.flush().stored)
    return stored


@demo_step(order=50)
def seed_devices(ctx: DemoContext) -> None:
    registered = messages = 0
    with deferred_broker_sync():
        for community in ctx.communities.values():
            devices = _register(community, ctx)
            registered += len(devices)
            messages += _history(community, devices, ctx)
    ctx.counts["devices"] = registered
    ctx.out(f"devices: {registered} registered, {messages} messages of history")
