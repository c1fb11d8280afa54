"""``anju simulate``: publish realistic device traffic for the demo (see :mod:`anju.devices.simulator`)."""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType
from typing import Any

import paho.mqtt.client as mqtt
from django.core.management.base import BaseCommand, CommandError, CommandParser

from anju.devices import conf
from anju.devices.simulator import Simulator


class Command(BaseCommand):
    help = "Publish simulated lifts, pumps, meters, sensors and cameras for the demo communities over MQTT."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--url", default=None, help="mqtt://gateway-user:password@host:port (default: MQTT_URL)")
        parser.add_argument("--community", action="append", default=[], help="Community code (repeatable).")
        parser.add_argument("--tick", type=float, default=1.0, help="Seconds between steps.")
        parser.add_argument("--scenario-every", type=float, default=600.0, help="Seconds between incident cycles.")
        parser.add_argument("--duration", type=float, default=0.0, help="Stop after this many seconds (0: run on).")
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args: Any, **options: Any) -> None:
        url = options["url"] or conf.simulator_url()
        if not url:
            raise CommandError("No broker: set MQTT_URL (or ANJU_SIMULATOR_MQTT_URL) or pass --url.", returncode=2)
        try:
            broker = conf.parse_mqtt_url(url)
        except ValueError as error:
            raise CommandError(str(error), returncode=2) from None
        if options["tick"] <= 0 or options["scenario_every"] <= 0:
            raise CommandError("--tick and --scenario-every must be positive.", returncode=2)
        simulator = Simulator.from_database(
            options["community"] or None, seed=options["seed"], scenario_every=options["scenario_every"]
        )
        if not simulator.devices:
            raise CommandError("No devices to simulate: run “anju seed_demo” first.", returncode=2)
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="", protocol=mqtt.MQTTv311)
        if broker.username:
            client.username_pw_set(broker.username, broker.password)
        if broker.tls:
            client.tls_set()
        client.connect(broker.host, broker.port, keepalive=30)
        client.loop_start()
        stopping = threading.Event()

        def stop(signum: int, frame: FrameType | None) -> None:
            stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"simulating {len(simulator.devices)} devices → {broker.host}:{broker.port}")
        self.stdout.flush()
        started = time.time()
        published = 0
        while not stopping.is_set():
            now = time.time()
            for topic, payload in simulator.tick(now):
                client.publish(topic, payload, qos=1)
                published += 1
            if options["duration"] and now - started >= options["duration"]:
                break
            stopping.wait(options["tick"])
        client.disconnect()
        client.loop_stop()
        self.stdout.write(f"published {published} messages")
