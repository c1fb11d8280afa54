"""The demo simulator: plausible traffic in the wire format, and the incidents it promises, which
the real pipeline turns into alarms (an entrapment becomes a critical alarm)."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import pytest

from anju.core.tenancy import scopes_disabled
from anju.devices.ingest import Ingestor
from anju.devices.parsing import parse_topic
from anju.devices.simulator import SimDevice, Simulator
from tests.personas import World

from .factories import make_device

START = 1_795_000_000.0


def fleet() -> list[SimDevice]:
    lift = SimDevice(1, "demo", "lift-1-1", "lift", state={"floors": 18, "floor": 1, "target": 1, "door_open": 1,
                                                            "load": 0.0})  # fmt: skip
    camera = SimDevice(2, "demo", "cam-lift", "camera", state={"watches": "lift"})
    kinds = ["pump", "tank", "water_meter", "electricity_meter", "smoke_detector", "leak_sensor", "door_controller"]
    return [lift, camera, *(SimDevice(3 + n, "demo", f"d{n}", kind) for n, kind in enumerate(kinds))]


def run(simulator: Simulator, seconds: int) -> list[tuple[float, str, dict]]:
    out = []
    for step in range(seconds):
        now = START + step
        for topic, payload in simulator.tick(now):
            out.append((now, topic, json.loads(payload)))
    return out


def test_every_message_is_valid_and_sequence_numbers_increase_per_device() -> None:
    messages = run(Simulator(fleet(), scenario_every=600), 600)
    last: dict[str, int] = {}
    for _, topic, body in messages:
        parsed = parse_topic(topic)
        assert body["seq"] == last.get(parsed.device_code, 0) + 1
        last[parsed.device_code] = body["seq"]
    by_device = Counter(parse_topic(topic).device_code for _, topic, _ in messages)
    assert by_device["lift-1-1"] >= 290  # every two seconds
    assert 9 <= by_device["d2"] <= 12  # the water meter, every minute


def test_the_lift_moves_between_floors_and_meters_only_count_up() -> None:
    messages = run(Simulator(fleet(), scenario_every=10**6), 400)
    floors = {body["data"]["floor"] for _, topic, body in messages if "lift-1-1/telemetry" in topic}
    assert len(floors) > 3 and all(1 <= floor <= 18 for floor in floors)
    readings = [body["data"]["reading"] for _, topic, body in messages if "/d2/telemetry" in topic]
    assert readings == sorted(readings) and readings[-1] > readings[0]


def test_a_cycle_holds_an_entrapment_a_fire_test_a_leak_and_an_ebike() -> None:
    messages = run(Simulator(fleet(), scenario_every=600), 600)
    events = [(body["event"], body.get("state")) for _, topic, body in messages if topic.endswith("/event")]
    assert ("lift.fault.04", "raise") in events and ("lift.fault.04", "clear") in events
    assert ("fire.alarm", "raise") in events and ("fire.alarm", "clear") in events
    assert ("leak.detected", "raise") in events
    assert events.count(("camera.ebike_in_lift", "active")) == 3
    assert ("camera.ebike_in_lift", "inactive") in events
    trapped = [body["data"] for now, topic, body in messages
               if "lift-1-1/telemetry" in topic and START + 40 <= now <= START + 110]  # fmt: skip
    assert trapped and all(d["moving"] == 0 and d["door_open"] == 0 and d["occupied"] == 1 for d in trapped)


@pytest.mark.django_db
def test_a_simulated_entrapment_becomes_a_critical_alarm(world: World) -> None:
    pytest.importorskip("anju.devices.alarms.pipeline")
    from anju.devices.alarms.models import Alarm

    community = world.a.community
    lift, _ = make_device(community, code="lift-1-1", kind="lift", attrs={"floors": 18})
    simulator = Simulator.from_database([community.code], scenario_every=600)
    ingestor = Ingestor()
    now = dt.datetime.now(dt.UTC).timestamp() - 300
    for step in range(0, 200):
        for topic, payload in simulator.tick(now + step):
            ingestor.accept_mqtt(topic, payload, dt.datetime.fromtimestamp(now + step + 0.1, dt.UTC))
        if step % 10 == 9:
            ingestor.flush()
    ingestor.flush()
    with scopes_disabled():
        alarms = {alarm.alarm_type: alarm.severity for alarm in Alarm.objects.filter(device=lift)}
    assert alarms.get("lift.entrapment") == "critical"
