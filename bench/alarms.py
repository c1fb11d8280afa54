"""Rules-and-alarms benchmark: how many device messages a second :func:`pipeline.process` takes on one core.

    python bench/alarms.py [--database anju_alarmbench] [--sqlite] [--messages 60000] [--batch 1000]

Untimed setup (fresh database each run): one community with 2,000 devices — 300 lifts, 300 pressure
sensors, 300 water meters, 200 pumps, 200 tanks, 200 electrical fire monitors, 200 cameras, 150 leak
sensors, 150 door controllers — inserted directly (the benchmark is about rules, not registration),
and one warm-up batch so every device has its rule-state row.

Timed: ``--messages`` messages shaped like ``bench/ingest.py``'s (telemetry with 6 data points, 1%
events), in batches of ``--batch`` as an ingest worker hands them over, through the real
:func:`anju.devices.alarms.pipeline.process` in this one process: lock the batch's devices, read
their rule state and open alarms, evaluate every rule in memory, write alarms, timeline, audit and
changed state set-based. About 2% of the readings cross a threshold, so alarms are raised, repeated
and cleared throughout (a flapping fleet, worse than a real day). ``cpu_pct`` is this process's CPU
time over wall time (the database works in its own processes).

The last line is::

    BENCH alarms rate=… points_per_s=… batch_p50_ms=… batch_p99_ms=… raised=… cleared=… cpu_pct=… devices=…

Target (issue 5): keep up with 5,000 messages/s (30,000 data points/s) on one core.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time

from _setup import start_django

FLEET = {
    "lift": 300,
    "pressure_sensor": 300,
    "water_meter": 300,
    "pump": 200,
    "tank": 200,
    "electrical_fire_monitor": 200,
    "camera": 200,
    "leak_sensor": 150,
    "door_controller": 150,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="anju_alarmbench")
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite file instead of PostgreSQL")
    parser.add_argument("--messages", type=int, default=60_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    start_django(database=args.database, sqlite=args.sqlite, prefix="alarm-bench-")
    rng = random.Random(args.seed)
    print("building the fleet (untimed) …", flush=True)
    devices = build()
    print(f"  {len(devices)} devices", flush=True)
    run(devices, rng, args.messages, args.batch)


def build() -> list[tuple[int, int, str]]:
    from anju.core.services import create_district
    from anju.core.tenancy import community_scope
    from anju.devices.models import Device
    from anju.estates import services as estates

    district = create_district(name="基准区", code="990005", actor=None)
    community = estates.create_community(name="告警基准小区", code="alarmbench", district=district, actor=None)
    rows = []
    for kind, count in FLEET.items():
        for n in range(count):
            code = f"{kind.replace('_', '-')}-{n}"
            rows.append(
                Device(community=community, kind=kind, code=code, name=code, mqtt_username=f"alarmbench.{code}")
            )
    with community_scope(community.pk):
        Device.objects.bulk_create(rows, batch_size=1000)
        return [(d.pk, community.pk, d.kind) for d in Device.objects.order_by("pk")]


def telemetry(kind: str, rng: random.Random, step: int) -> dict[str, float]:
    """Six data points per message; about 2% of readings cross a threshold."""
    odd = rng.random() < 0.02
    if kind == "lift":
        return {
            "moving": float(rng.random() < 0.5),
            "door_open": float(rng.random() < 0.4),
            "occupied": float(rng.random() < 0.5),
            "floor": float(rng.randint(1, 30)),
            "speed_mps": 1.75,
            "load_kg": rng.uniform(0, 800),
        }
    if kind in ("pressure_sensor", "pump"):
        return {
            "pressure_mpa": 0.08 if odd else rng.uniform(0.28, 0.34),
            "flow_m3h": rng.uniform(10, 12),
            "temp_c": rng.uniform(15, 20),
            "current_a": rng.uniform(8, 9),
            "voltage_v": rng.uniform(375, 385),
            "running": 1.0,
        }
    if kind == "water_meter":
        return {
            "reading": 1000.0 + step * 0.01 + (500 if odd else 0),
            "flow_m3h": rng.uniform(0.5, 1.5),
            "battery_pct": 80.0,
            "temp_c": 12.0,
            "pressure_mpa": 0.3,
            "signal_dbm": -70.0,
        }
    if kind == "tank":
        return {
            "level_pct": 10.0 if odd else rng.uniform(50, 80),
            "temp_c": 12.0,
            "a": 1.0,
            "b": 2.0,
            "c": 3.0,
            "d": 4.0,
        }
    if kind == "electrical_fire_monitor":
        return {
            "residual_current_ma": 400.0 if odd else rng.uniform(20, 80),
            "cable_temp_c": rng.uniform(30, 45),
            "voltage_v": 220.0,
            "current_a": rng.uniform(10, 60),
            "power_kw": rng.uniform(2, 12),
            "pf": 0.95,
        }
    if kind == "leak_sensor":
        return {"leak": 1.0 if odd else 0.0, "battery_pct": 90.0, "temp_c": 18.0, "a": 0.0, "b": 0.0, "c": 0.0}
    return {"battery_pct": 90.0, "temp_c": 18.0, "a": 0.0, "b": 0.0, "c": 0.0, "d": 0.0}


EVENTS = {
    "lift": ("lift.fault.02", None),
    "camera": ("camera.ebike_in_lift", "active"),
    "door_controller": ("door.denied", None),
    "pump": ("pump.fault", "raise"),
}


def messages(devices: list[tuple[int, int, str]], rng: random.Random, count: int, start: float):  # type: ignore[no-untyped-def]
    from anju.devices.messages import DeviceMessage

    out = []
    per_second = 5000
    for i in range(count):
        device_id, community_id, kind = devices[i % len(devices)]
        at = dt.datetime.fromtimestamp(start + i / per_second, dt.UTC)
        if rng.random() < 0.01 and kind in EVENTS:
            event, state = EVENTS[kind]
            out.append(
                DeviceMessage(community_id, device_id, kind, "event", at, at, i, {}, event, state)  # type: ignore[arg-type]
            )
        else:
            out.append(DeviceMessage(community_id, device_id, kind, "telemetry", at, at, i, telemetry(kind, rng, i)))
    return out


def run(devices: list[tuple[int, int, str]], rng: random.Random, count: int, batch: int) -> None:
    from anju.devices.alarms.pipeline import process

    start = time.time() - count / 5000 - 5
    warm = messages(devices, rng, len(devices), start - 60)
    process(warm)
    stream = messages(devices, rng, count, start)
    batches = [stream[i : i + batch] for i in range(0, len(stream), batch)]
    timings = []
    raised = cleared = 0
    cpu0 = time.process_time()
    wall0 = time.perf_counter()
    for chunk in batches:
        t0 = time.perf_counter()
        result = process(chunk)
        timings.append((time.perf_counter() - t0) * 1000)
        raised += len(result.raised)
        cleared += len(result.cleared)
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    rate = count / wall
    points = sum(len(m.points) for m in stream)
    timings.sort()
    p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
    print(
        f"BENCH alarms rate={rate:.0f} points_per_s={points / wall:.0f} "
        f"batch_p50_ms={statistics.median(timings):.1f} batch_p99_ms={p99:.1f} raised={raised} cleared={cleared} "
        f"cpu_pct={100 * cpu / wall:.0f} devices={len(devices)}"
    )


if __name__ == "__main__":
    main()
