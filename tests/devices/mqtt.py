"""Helpers for the tests over a real Mosquitto: a private broker, device clients, a worker thread."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from django.db import OperationalError, connections

from anju.devices.conf import parse_mqtt_url
from anju.devices.embedded import LocalMosquitto, mosquitto_available
from anju.devices.worker import IngestWorker


def require_mosquitto() -> None:
    if not mosquitto_available():
        if os.environ.get("CI") == "true":
            pytest.fail("Mosquitto is required in CI")
        pytest.skip("mosquitto is not installed")


def start_broker(directory: Path, settings) -> LocalMosquitto:
    require_mosquitto()
    broker = LocalMosquitto(directory)
    settings.ANJU_MQTT_AUTH_DIR = str(directory)
    settings.ANJU_MQTT_BROKER_PIDFILE = str(broker.pidfile)
    return broker.start()


def broker_fixture(tmp_path: Path, settings) -> Iterator[LocalMosquitto]:
    broker = start_broker(tmp_path / "broker", settings)
    try:
        yield broker
    finally:
        broker.stop()


def connect(port: int, username: str, password: str, client_id: str = "") -> tuple[mqtt.Client, mqtt.ReasonCode]:
    """A connected client with its loop running, and the broker's answer to the CONNECT."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
    client.username_pw_set(username, password)
    answered = threading.Event()
    outcome: list = []

    def on_connect(c, userdata, flags, reason, properties) -> None:
        outcome.append(reason)
        answered.set()

    client.on_connect = on_connect
    client.connect("127.0.0.1", port, keepalive=30)
    client.loop_start()
    assert answered.wait(5), "the broker did not answer CONNECT"
    return client, outcome[0]


def publish(client: mqtt.Client, topic: str, body: dict) -> None:
    info = client.publish(topic, json.dumps(body), qos=1)
    info.wait_for_publish(timeout=5)


def close(client: mqtt.Client) -> None:
    client.disconnect()
    client.loop_stop()


class WorkerThread:
    """An :class:`IngestWorker` in a thread of the test process (sharing the test database)."""

    def __init__(self, url: str, *, client_id: str = "test-ingest-1", batch_size: int = 200) -> None:
        self.worker = IngestWorker(parse_mqtt_url(url), client_id=client_id, batch_size=batch_size, max_delay=0.05)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            self.worker.run(stats_every=3600)
        except BaseException as error:  # reported by stop()
            self.error = error
        finally:
            connections.close_all()

    def start(self) -> WorkerThread:
        self.thread.start()
        assert self.worker.connected.wait(10), "the ingest worker did not connect"
        time.sleep(0.2)  # the SUBACK
        return self

    def stop(self) -> None:
        self.worker.stop()
        self.thread.join(15)
        if self.error is not None:
            raise self.error


def wait_for(condition: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except OperationalError:  # shared-cache SQLite: "table is locked" while the worker writes
            pass
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
