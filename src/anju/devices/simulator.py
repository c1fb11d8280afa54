"""Realistic device traffic for the demo: ``anju simulate`` publishes it over MQTT.

Each registered device gets a small behaviour model, advanced once per tick (default one second)
and published when its reporting interval is due:

* **lifts** travel between random floors (one floor per two seconds), stop with the doors open,
  take passengers on and off; telemetry every two seconds: ``floor``, ``speed_mps``, ``load_kg``,
  ``moving``, ``door_open``, ``occupied`` (0/1);
* **pumps** and **pressure sensors** follow the day's demand (``pressure_mpa``, ``flow_m3h``);
  **tanks** drain with use and refill when low (``level_pct``); **meters** count up with a daily
  pattern (``reading`` and ``flow_m3h`` or ``power_kw``); **electrical fire monitors** report
  residual current and cable temperature; everything else sends a status heartbeat.

A scenario cycle (default every ten minutes) injects the incidents the demo is about, one after
another: an **entrapment** (a lift stops between floors, doors shut, occupied, for 90 s, with
fault 04), a **fire-detector test** (``fire.alarm`` raised and cleared, marked as a test), a
**leak** in the pump room, and an **e-bike entering a lift** (the lift camera posts ``active``
three times, then ``inactive``).

:class:`Simulator` is pure apart from its random generator: :meth:`Simulator.tick` returns the
``(topic, payload)`` pairs due at a given time, so tests drive it without a broker.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from anju.core.tenancy import scopes_disabled
from anju.devices.models import Device, DeviceKind, DeviceStream

INTERVALS = {
    DeviceKind.LIFT: 2.0,
    DeviceKind.ESCALATOR: 10.0,
    DeviceKind.PUMP: 15.0,
    DeviceKind.PRESSURE_SENSOR: 15.0,
    DeviceKind.TANK: 30.0,
    DeviceKind.WATER_METER: 60.0,
    DeviceKind.ELECTRICITY_METER: 60.0,
    DeviceKind.GAS_METER: 60.0,
    DeviceKind.HEAT_METER: 60.0,
    DeviceKind.ELECTRICAL_FIRE_MONITOR: 30.0,
    DeviceKind.LEAK_SENSOR: 60.0,
}
HEARTBEAT = 60.0


@dataclass
class SimDevice:
    id: int
    community_code: str
    code: str
    kind: str
    seq: int = 0
    next_at: float = 0.0
    state: dict[str, Any] = field(default_factory=dict)

    @property
    def topic_root(self) -> str:
        return f"anju/{self.community_code}/{self.code}"


def demand(now: float) -> float:
    """0..1: water and power use over a Beijing day (low at night, peaks morning and evening)."""
    hour = ((now / 3600.0) + 8) % 24
    return 0.15 + 0.45 * math.exp(-((hour - 7.5) ** 2) / 2) + 0.55 * math.exp(-((hour - 19.5) ** 2) / 3)


class Simulator:
    def __init__(self, devices: Iterable[SimDevice], *, seed: int = 7, scenario_every: float = 600.0) -> None:
        self.devices = list(devices)
        self.rng = random.Random(seed)
        self.scenario_every = scenario_every
        self.started: float | None = None
        # Replaying history at coarse steps: a lift sampled while stopped is reported with its
        # doors open and empty, so minutes between samples never read as an entrapment.
        self.calm = False
        self.incidents: list[tuple[float, str, SimDevice]] = []
        for device in self.devices:
            device.next_at = 0.0

    # --- loading -----------------------------------------------------------------------------------

    @classmethod
    def from_database(cls, community_codes: list[str] | None = None, **options: Any) -> Simulator:
        with scopes_disabled():
            devices = Device.objects.filter(retired_at__isnull=True).select_related("community", "building")
            if community_codes:
                devices = devices.filter(community__code__in=community_codes)
            high = dict(DeviceStream.objects.values_list("device_id", "high_seq"))
            sims = []
            for device in devices.order_by("community_id", "kind", "code"):
                sim = SimDevice(
                    device.pk, device.community.code, device.code, device.kind, seq=high.get(device.pk) or 0
                )
                if device.kind == DeviceKind.LIFT:
                    floors = int(
                        device.attrs.get("floors") or (device.building.floors_above if device.building else 10)
                    )
                    sim.state = {"floors": max(floors, 2), "floor": 1, "target": 1, "door_open": 1, "load": 0.0}
                sim.state["watches"] = device.attrs.get("watches", "")
                sims.append(sim)
        return cls(sims, **options)

    # --- scenarios ---------------------------------------------------------------------------------

    def _first(self, kind: str, **state: Any) -> SimDevice | None:
        for device in self.devices:
            if device.kind == kind and all(device.state.get(k) == v for k, v in state.items()):
                return device
        return None

    def _schedule_cycle(self, start: float) -> None:
        """The incidents of one cycle, spread through it."""
        plan = [
            (30.0, "entrapment", self._first(DeviceKind.LIFT)),
            (180.0, "fire_test", self._first(DeviceKind.SMOKE_DETECTOR) or self._first(DeviceKind.FIRE_PANEL)),
            (300.0, "leak", self._first(DeviceKind.LEAK_SENSOR)),
            (420.0, "ebike", self._first(DeviceKind.CAMERA, watches="lift")),
        ]
        scale = self.scenario_every / 600.0
        for offset, name, device in plan:
            if device is not None:
                self.incidents.append((start + offset * scale, name, device))

    # --- one step ----------------------------------------------------------------------------------

    def tick(self, now: float) -> list[tuple[str, bytes]]:
        """Advance every model to ``now``; return the messages due."""
        if self.started is None or now >= self.started + self.scenario_every:
            self.started = now
            self._schedule_cycle(now)
        out: list[tuple[str, bytes]] = []
        for at, name, device in list(self.incidents):
            if at <= now:
                self.incidents.remove((at, name, device))
                out += self._incident(name, device, now)
        for device in self.devices:
            self._advance(device, now)
            if device.state.pop("released", False):
                out.append(self._message(device, "event", now, event="lift.fault.04", state="clear"))
            if now >= device.next_at:
                device.next_at = now + INTERVALS.get(device.kind, HEARTBEAT)  # type: ignore[call-overload]
                out.append(self._report(device, now))
        return out

    def _message(self, device: SimDevice, channel: str, now: float, **body: Any) -> tuple[str, bytes]:
        device.seq += 1
        payload = {"seq": device.seq, "ts": round(now, 3), **body}
        return f"{device.topic_root}/{channel}", json.dumps(payload, separators=(",", ":")).encode()

    def _incident(self, name: str, device: SimDevice, now: float) -> list[tuple[str, bytes]]:
        state = device.state
        if name == "entrapment":
            state["trapped_until"] = now + 90
            state.update(door_open=0, load=max(state.get("load", 0.0), 75.0))
            return [self._message(device, "event", now, event="lift.fault.04", state="raise")]
        if name == "fire_test":
            self.incidents.append((now + 30, "fire_test_end", device))
            return [self._message(device, "event", now, event="fire.alarm", state="raise", data={"test": True})]
        if name == "fire_test_end":
            return [self._message(device, "event", now, event="fire.alarm", state="clear", data={"test": True})]
        if name == "leak":
            state["leak_until"] = now + 120
            return [self._message(device, "event", now, event="leak.detected", state="raise")]
        if name == "ebike":
            for second in (1, 2):
                self.incidents.append((now + second, "ebike_repeat", device))
            self.incidents.append((now + 8, "ebike_end", device))
            return [self._message(device, "event", now, event="camera.ebike_in_lift", state="active")]
        if name == "ebike_repeat":
            return [self._message(device, "event", now, event="camera.ebike_in_lift", state="active")]
        if name == "ebike_end":
            return [self._message(device, "event", now, event="camera.ebike_in_lift", state="inactive")]
        return []

    def _advance(self, device: SimDevice, now: float) -> None:
        if device.kind != DeviceKind.LIFT:
            return
        state = device.state
        if state.get("trapped_until"):
            if now < state["trapped_until"]:
                state["moving"] = 0
                return
            state.pop("trapped_until")
            state.update(door_open=1, released=True)
        last = state.get("moved_at", now - 2)
        if now - last < 2:
            return
        state["moved_at"] = now
        if state["floor"] == state["target"]:
            if state["door_open"]:
                state["door_open"] = 0
                state["load"] = self.rng.choice([0.0, 0.0, 70.0, 140.0, 210.0])
                state["target"] = self.rng.randint(1, state["floors"])
            else:
                state["door_open"] = 1 if self.rng.random() < 0.5 else 0
                if not state["door_open"] and state["load"] == 0:
                    state["target"] = self.rng.randint(1, state["floors"])
            state["moving"] = 0
        else:
            state["floor"] += 1 if state["target"] > state["floor"] else -1
            state["moving"] = 1
            state["door_open"] = 0

    def _report(self, device: SimDevice, now: float) -> tuple[str, bytes]:
        state = device.state
        rng = self.rng
        use = demand(now)
        kind = device.kind
        if kind == DeviceKind.LIFT:
            if self.calm and not state.get("moving"):
                state.update(door_open=1, load=0.0)
            data = {
                "floor": state["floor"],
                "speed_mps": 1.75 if state.get("moving") else 0.0,
                "load_kg": state.get("load", 0.0),
                "moving": state.get("moving", 0),
                "door_open": state.get("door_open", 0),
                "occupied": 1 if state.get("load", 0.0) > 0 else 0,
            }
            return self._message(device, "telemetry", now, data=data)
        if kind in (DeviceKind.PUMP, DeviceKind.PRESSURE_SENSOR):
            data = {
                "pressure_mpa": round(0.38 - 0.08 * use + rng.gauss(0, 0.004), 3),
                "flow_m3h": round(4 + 30 * use + rng.gauss(0, 0.8), 2),
            }
            if kind == DeviceKind.PUMP:
                data["current_a"] = round(8 + 12 * use + rng.gauss(0, 0.3), 1)
            return self._message(device, "telemetry", now, data=data)
        if kind == DeviceKind.TANK:
            level = state.get("level", 70.0) - 0.4 * use + (1.2 if state.get("refilling") else 0)
            state["refilling"] = level < 40 or (state.get("refilling") and level < 85)
            state["level"] = level
            return self._message(device, "telemetry", now, data={"level_pct": round(level, 1)})
        if kind in (DeviceKind.WATER_METER, DeviceKind.GAS_METER, DeviceKind.HEAT_METER):
            flow = max(0.0, 2 + 18 * use + rng.gauss(0, 0.3))
            state["reading"] = state.get("reading", 1000.0 + device.id * 37) + flow / 60
            return self._message(
                device, "telemetry", now, data={"reading": round(state["reading"], 3), "flow_m3h": round(flow, 2)}
            )
        if kind == DeviceKind.ELECTRICITY_METER:
            power = max(0.0, 20 + 160 * use + rng.gauss(0, 3))
            state["reading"] = state.get("reading", 50000.0 + device.id * 91) + power / 60
            return self._message(
                device, "telemetry", now, data={"reading": round(state["reading"], 2), "power_kw": round(power, 1)}
            )
        if kind == DeviceKind.ELECTRICAL_FIRE_MONITOR:
            data = {
                "residual_current_ma": round(60 + 80 * use + rng.gauss(0, 5), 1),
                "cable_temp_c": round(28 + 14 * use + rng.gauss(0, 0.5), 1),
            }
            return self._message(device, "telemetry", now, data=data)
        if kind == DeviceKind.LEAK_SENSOR:
            wet = 1 if state.get("leak_until", 0) > now else 0
            if not wet and state.pop("leak_until", None):
                return self._message(device, "event", now, event="leak.detected", state="clear")
            return self._message(device, "telemetry", now, data={"leak": wet, "battery_pct": 87})
        return self._message(device, "status", now, online=True)
