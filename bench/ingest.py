"""Device ingestion benchmark: Mosquitto + ``anju ingest`` workers + PostgreSQL on this machine.

    python bench/ingest.py [--devices 2000] [--workers 2] [--generators 2] [--final 60]
                           [--rates 1000,2000,3000,4000,5000,6000,7000] [--step 15]

What it does, all in one run:

1. (Re)creates the database ``anju_bench_ingest`` (or uses ``--database-url``), migrates it, and
   registers ``--devices`` lifts in one community through the real service (credentials and the
   broker's password/ACL files included).
2. Starts its own Mosquitto on a free port with the tuned settings of
   :data:`anju.devices.embedded.TUNING` (in-flight window 5,000, queue 1,000,000 messages / 1 GiB,
   TCP_NODELAY) — Mosquitto's defaults (20 in flight, 1,000 queued then dropped) stall or drop
   QoS 1 at these rates.
3. **Raw ceiling**: a bare paho subscriber (QoS 1, counts and acknowledges, nothing else) while the
   load generators publish as fast as they can: ``raw_rate`` is what it received per second.
4. **Pipeline**: ``--workers`` ``anju ingest`` processes (shared subscription, persistent sessions,
   batches committed with COPY, alarm rules evaluated on every batch, then acknowledged), and the
   generators step the publish rate through ``--rates`` (``--step`` seconds each). A step is
   *sustained* when every message published was committed (loss 0), none twice (dup 0), the p99
   publish→commit latency is at most 2 s, and the generators achieved at least 95% of the rate.
   The highest sustained rate is then held for ``--final`` seconds and that run is reported.

Messages are ~160-byte JSON with six data points (a lift's floor, speed, load, moving, door,
occupied) and a sequence number; 1% are events (``lift.fault.02``). The generators publish as a
gateway account (one connection per generator process, for all devices), QoS 1, each message
stamped with its publish time; the workers write each committed message's latency to a report
file. Loss and duplicates come from the database's own per-device counters.

Last line::

    BENCH ingest rate=… seconds=… loss=… dup=… p50_ms=… p99_ms=… cpu_pct=… raw_rate=… ratio=…

``cpu_pct`` is the whole machine's CPU use during the final run (100 = all cores busy);
``ratio`` = rate / raw_rate.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
COMMUNITY_CODE = "bench"
EVENT_SHARE = 0.01


# --- load generation (child processes) -----------------------------------------------------------


def payload(seq: int, now: float, rng: random.Random) -> tuple[str, bytes]:
    if rng.random() < EVENT_SHARE:
        body = {"seq": seq, "ts": round(now, 4), "event": "lift.fault.02", "state": "raise",
                "data": {"floor": rng.randint(1, 30), "door_open": 0}}  # fmt: skip
        return "event", json.dumps(body, separators=(",", ":")).encode()
    body = {
        "seq": seq,
        "ts": round(now, 4),
        "data": {
            "floor": rng.randint(1, 30),
            "speed_mps": round(rng.uniform(0, 2.5), 2),
            "load_kg": round(rng.uniform(0, 1000), 1),
            "moving": rng.randint(0, 1),
            "door_open": rng.randint(0, 1),
            "occupied": rng.randint(0, 1),
        },
    }
    return "telemetry", json.dumps(body, separators=(",", ":")).encode()


def generator(url: str, codes: list[str], start_seq: int, rate: float, seconds: float, result: Any, index: int) -> None:
    """Publish to ``codes`` round-robin at ``rate`` msg/s (0: as fast as possible) for ``seconds``."""
    import paho.mqtt.client as mqtt

    from anju.devices.conf import parse_mqtt_url

    broker = parse_mqtt_url(url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-gen-{index}-{os.getpid()}")
    client.username_pw_set(broker.username, broker.password)
    client.max_inflight_messages_set(2000)
    client.max_queued_messages_set(0)
    acked = [0]

    def on_publish(c: Any, userdata: Any, mid: int, reason: Any, properties: Any) -> None:
        acked[0] += 1

    client.on_publish = on_publish
    client.connect(broker.host, broker.port, keepalive=60)
    client.loop_start()
    rng = random.Random(index)
    roots = [f"anju/{COMMUNITY_CODE}/{code}/" for code in codes]
    seq = start_seq
    sent = 0
    started = time.time()
    deadline = started + seconds
    slice_seconds = 0.01
    while True:
        now = time.time()
        if now >= deadline:
            break
        due = int((now - started) * rate) if rate else sent + 200
        while sent < due:
            root = roots[sent % len(roots)]
            if sent % len(roots) == 0:
                seq += 1
            channel, data = payload(seq, time.time(), rng)
            client.publish(root + channel, data, qos=1)
            sent += 1
        if rate:
            time.sleep(slice_seconds)
        elif len(client._out_messages) > 20000:  # do not queue without bound when flat out
            time.sleep(0.001)
    elapsed = time.time() - started
    drain_until = time.time() + 30
    while acked[0] < sent and time.time() < drain_until:
        time.sleep(0.05)
    client.disconnect()
    client.loop_stop()
    result.put({"index": index, "sent": sent, "acked": acked[0], "seconds": elapsed, "last_seq": seq})


def bare_subscriber(url: str, seconds: float, ready: Any, result: Any) -> None:
    """Mosquitto's own C client subscribed with QoS 1 to everything, one line per message: the
    broker's and the generators' ceiling on this machine, with no Python in the receiving path."""
    from anju.devices.conf import parse_mqtt_url

    broker = parse_mqtt_url(url)
    command = [
        "mosquitto_sub", "-h", broker.host, "-p", str(broker.port), "-u", broker.username or "",
        "-P", broker.password or "", "-q", "1", "-t", "anju/#", "-F", "%l", "-i", "bench-bare",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, bufsize=1 << 20)
    assert process.stdout is not None
    time.sleep(1.0)  # connected and subscribed
    ready.set()
    count, first, last = 0, 0.0, 0.0
    deadline = time.time() + seconds
    stream = process.stdout
    stopper = threading.Timer(seconds, process.terminate)
    stopper.start()
    for _line in stream:
        now = time.time()
        if count == 0:
            first = now
        count += 1
        last = now
        if now > deadline:
            break
    process.terminate()
    process.wait(10)
    stopper.cancel()
    result.put({"count": count, "seconds": max(last - first, 1e-9)})


# --- measuring -------------------------------------------------------------------------------------


def cpu_times() -> tuple[int, int]:
    with open("/proc/stat") as handle:
        fields = [int(value) for value in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def read_reports(paths: list[Path], since: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    points = 0
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if record["t"] >= since:
                latencies.extend(record["lat"])
                points += record["points"]
    return latencies, points


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="anju-bench-ingest-"))
        self.codes: list[str] = []
        self.seq = 0
        self.workers: list[subprocess.Popen[bytes]] = []
        self.reports = [self.tmp / f"worker-{n}.jsonl" for n in range(args.workers)]

    def log(self, text: str) -> None:
        print(text, flush=True)

    # setup
    def database(self) -> str:
        url = self.args.database_url
        if not url:
            import psycopg

            name = "anju_bench_ingest"
            with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                conn.execute(f"CREATE DATABASE {name}")
            url = f"postgres://postgres@127.0.0.1:5432/{name}"
        return url

    def setup(self) -> None:
        os.environ["DATABASE_URL"] = self.database()
        os.environ.setdefault("ANJU_DATA_DIR", str(self.tmp / "data"))
        os.environ["DJANGO_SETTINGS_MODULE"] = "anju.settings"
        import django

        django.setup()
        from django.core.management import call_command

        from anju.devices.embedded import LocalMosquitto

        self.log("migrating …")
        call_command("migrate", verbosity=0)
        self.broker = LocalMosquitto(self.tmp / "broker")
        os.environ["ANJU_MQTT_AUTH_DIR"] = str(self.broker.directory)
        self.register_devices()
        self.broker.start()  # reads the files just written; later changes are signalled
        os.environ["ANJU_MQTT_BROKER_PIDFILE"] = str(self.broker.pidfile)
        self.log(f"mosquitto on port {self.broker.port}, tuning: {self.broker.tuning}")

    def register_devices(self) -> None:
        from anju.core.services import create_district
        from anju.core.tenancy import community_scope
        from anju.devices.broker import deferred_broker_sync
        from anju.devices.services import create_device
        from anju.estates.services import create_community

        started = time.time()
        district = create_district(name="基准区", code="999999", actor=None)
        community = create_community(name="基准小区", code=COMMUNITY_CODE, district=district, actor=None)
        self.codes = [f"lift-{n:05d}" for n in range(self.args.devices)]
        with deferred_broker_sync(), community_scope(community.pk):
            for code in self.codes:
                create_device(community=community, kind="lift", code=code, name=code, heartbeat_seconds=600, actor=None)
        self.log(f"registered {len(self.codes)} devices in {time.time() - started:.1f} s")

    # generators
    def publish(self, rate: float, seconds: float) -> dict[str, float]:
        """Publish at ``rate`` (0 = flat out) for ``seconds`` from the generator processes."""
        context = mp.get_context("fork")
        result = context.Queue()
        groups = [self.codes[n :: self.args.generators] for n in range(self.args.generators)]
        per_generator = rate / self.args.generators if rate else 0
        processes = [
            context.Process(
                target=generator,
                args=(self.broker.gateway_url, group, self.seq, per_generator, seconds, result, index),
            )
            for index, group in enumerate(groups)
        ]
        for process in processes:
            process.start()
        outcomes = [result.get(timeout=seconds + 120) for _ in processes]
        for process in processes:
            process.join(10)
        self.seq = max(outcome["last_seq"] for outcome in outcomes)
        sent = sum(outcome["sent"] for outcome in outcomes)
        acked = sum(outcome["acked"] for outcome in outcomes)
        elapsed = max(outcome["seconds"] for outcome in outcomes)
        return {"sent": sent, "acked": acked, "rate": sent / elapsed if elapsed else 0.0}

    def raw_ceiling(self) -> float:
        context = mp.get_context("fork")
        ready = context.Event()
        result = context.Queue()
        seconds = self.args.raw_seconds
        subscriber = context.Process(target=bare_subscriber, args=(self.broker.ingest_url, seconds + 15, ready, result))
        subscriber.start()
        ready.wait(10)
        published = self.publish(0, seconds)
        outcome = result.get(timeout=seconds + 60)
        subscriber.join(10)
        raw = outcome["count"] / outcome["seconds"]
        self.log(
            f"raw ceiling: generators published {published['sent']} at {published['rate']:.0f}/s; "
            f"the bare subscriber received {outcome['count']} at {raw:.0f}/s"
        )
        return raw

    # pipeline
    def start_workers(self) -> None:
        for index in range(self.args.workers):
            command = [
                sys.executable, "-m", "anju.manage", "ingest", "--url", self.broker.ingest_url,
                "--client-id", f"bench-ingest-{index}", "--batch-size", str(self.args.batch_size),
                "--max-delay", str(self.args.max_delay), "--report", str(self.reports[index]), "--stats-every", "3600",
            ]  # fmt: skip
            log = open(self.tmp / f"worker-{index}.log", "ab")  # noqa: SIM115
            self.workers.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy()))
        deadline = time.time() + 60
        while time.time() < deadline:
            logs = [(self.tmp / f"worker-{n}.log").read_bytes() for n in range(self.args.workers)]
            if all(b"subscribed" in text for text in logs):
                return
            time.sleep(0.2)
        raise RuntimeError("ingest workers did not subscribe")

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()

    def counters(self) -> tuple[int, int, int]:
        from django.db import connection
        from django.db.models import Sum

        from anju.core.tenancy import scopes_disabled
        from anju.devices.models import DeviceStream

        with scopes_disabled():
            totals = DeviceStream.objects.aggregate(r=Sum("received"), d=Sum("duplicates"))
            lost = sum(stream.lost for stream in DeviceStream.objects.only("first_seq", "high_seq", "lost_before",
                                                                              "epoch_received"))  # fmt: skip
        connection.close()
        return totals["r"] or 0, totals["d"] or 0, lost

    def step(self, rate: float, seconds: float) -> dict[str, float]:
        before_received, before_dup, _ = self.counters()
        since = time.time()
        cpu_before = cpu_times()
        published = self.publish(rate, seconds)
        cpu_after = cpu_times()
        # Let the pipeline finish what was published (it must, within a few seconds, to pass).
        expected = before_received + published["acked"]
        deadline = time.time() + 15
        received = before_received
        while time.time() < deadline:
            received, _, _ = self.counters()
            if received >= expected:
                break
            time.sleep(0.5)
        received, duplicates, lost_total = self.counters()
        time.sleep(2.0)  # idle: the next step starts from an empty pipeline
        latencies, points = read_reports(self.reports, since)
        busy = (cpu_after[0] - cpu_before[0]) / max(cpu_after[1] - cpu_before[1], 1) * 100
        outcome = {
            "target": rate,
            "rate": published["rate"],
            "sent": published["sent"],
            "acked": published["acked"],
            "stored": received - before_received,
            "loss": published["sent"] - (received - before_received),
            "dup": duplicates - before_dup,
            "lost_by_seq": lost_total,
            "p50_ms": percentile(latencies, 0.50),
            "p99_ms": percentile(latencies, 0.99),
            "points": points,
            "cpu_pct": busy,
            "seconds": seconds,
        }
        outcome["ok"] = (
            outcome["loss"] == 0
            and outcome["dup"] == 0
            and outcome["p99_ms"] <= 2000
            and outcome["rate"] >= 0.95 * rate
        )
        self.log(
            "step target={target:.0f}/s achieved={rate:.0f}/s sent={sent} stored={stored} loss={loss} dup={dup} "
            "p50={p50_ms:.0f}ms p99={p99_ms:.0f}ms points={points} cpu={cpu_pct:.0f}% ok={ok}".format(**outcome)
        )
        return outcome

    def alarms_written(self) -> int:
        try:
            from anju.core.tenancy import scopes_disabled
            from anju.devices.alarms.models import Alarm
        except ImportError:
            return 0
        with scopes_disabled():
            return Alarm.objects.count()

    def run(self) -> str:
        self.setup()
        try:
            raw = self.raw_ceiling()
            self.start_workers()
            time.sleep(1.0)
            self.step(500, 5)  # warm-up: connections, caches, the first partitions touched
            best: dict[str, float] | None = None
            for rate in self.args.rates:
                outcome = self.step(rate, self.args.step)
                if not outcome["ok"]:
                    break
                best = outcome
            # Hold the best step for the final duration; if that does not hold, go down the rates.
            candidates = [rate for rate in self.args.rates if best is not None and rate <= best["target"]]
            final = None
            for rate in reversed(candidates or [self.args.rates[0] // 2]):
                final = self.step(rate, self.args.final)
                if final["ok"]:
                    break
            assert final is not None
            self.log(f"alarms written during the run: {self.alarms_written()}; workers' files in {self.tmp}")
        finally:
            self.stop_workers()
            self.broker.stop()
        rate = final["target"] if final["ok"] else 0
        return (
            f"BENCH ingest rate={rate:.0f} seconds={final['seconds']:.0f} loss={final['loss']} dup={final['dup']} "
            f"p50_ms={final['p50_ms']:.0f} p99_ms={final['p99_ms']:.0f} cpu_pct={final['cpu_pct']:.0f} "
            f"raw_rate={raw:.0f} ratio={rate / raw if raw else 0:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--generators", type=int, default=2)
    parser.add_argument("--rates", default="1000,2000,3000,4000,5000,6000,7000")
    parser.add_argument("--step", type=float, default=15.0)
    parser.add_argument("--final", type=float, default=60.0)
    parser.add_argument("--raw-seconds", type=float, default=10.0)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--max-delay", type=float, default=0.1)
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    args.rates = [int(rate) for rate in args.rates.split(",")]
    line = Bench(args).run()
    print(line, flush=True)


if __name__ == "__main__":
    main()
