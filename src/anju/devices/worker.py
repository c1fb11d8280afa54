"""The MQTT ingest worker behind ``anju ingest``.

Delivery guarantees come from the broker and from acknowledging late:

* the worker connects with a fixed client id and ``clean_session=False``, so the broker keeps its
  subscription and queues messages while it is away (a restart, a deploy, a crash);
* it subscribes with QoS 1 to the shared subscription ``$share/<group>/anju/+/+/+``, so several
  workers (on one machine or many) split the stream, each message going to one of them;
* it uses paho's manual acknowledgement: the PUBACK for a message is sent only after the batch
  holding it has been committed. A worker killed mid-batch has acknowledged nothing of that
  batch; the broker redelivers it (to the restarted worker, or another member of the group), and
  the telemetry key (device, device time, sequence number) turns the redelivery into a counted,
  dropped duplicate instead of a second row.

paho's network loop runs in its own thread and only appends to a queue; the main thread drains
the queue into batches (up to ``batch_size`` messages or ``max_delay`` seconds after the first),
commits, acknowledges in arrival order (MQTT requires PUBACKs in order), and repeats.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from django.db import close_old_connections

from anju.devices.conf import BrokerAddress
from anju.devices.ingest import DeviceDirectory, Ingestor
from anju.devices.partitions import ensure_ingest_window

logger = logging.getLogger(__name__)

UTC = dt.UTC
TOPIC_FILTER = "anju/+/+/+"


def default_client_id() -> str:
    return f"anju-ingest-{socket.gethostname()}-1"


@dataclass
class WorkerStats:
    received: int = 0
    stored: int = 0
    points: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    batches: int = 0
    started: float = field(default_factory=time.monotonic)

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return (
            f"received={self.received} stored={self.stored} points={self.points} duplicates={self.duplicates} "
            f"dead_letters={self.dead_letters} batches={self.batches} rate={self.received / elapsed:.0f}/s"
        )


@dataclass(slots=True)
class _Inbound:
    topic: str
    payload: bytes
    mid: int
    qos: int
    received: float


class IngestWorker:
    def __init__(
        self,
        broker: BrokerAddress,
        *,
        client_id: str,
        group: str = "anju",
        batch_size: int = 2000,
        max_delay: float = 0.2,
        report_path: Path | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.broker = broker
        self.client_id = client_id
        self.subscription = f"$share/{group}/{TOPIC_FILTER}" if group else TOPIC_FILTER
        self.batch_size = batch_size
        self.max_delay = max_delay
        self.report = open(report_path, "a", encoding="utf-8") if report_path else None  # noqa: SIM115
        self.log = log or logger.info
        self.inbox: deque[_Inbound] = deque()
        self.arrived = threading.Condition()
        self.stopping = threading.Event()
        self.connected = threading.Event()
        self.stats = WorkerStats()
        self.directory = DeviceDirectory()
        self.client = self._client()

    def _client(self) -> mqtt.Client:
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=False,
            manual_ack=True,
            protocol=mqtt.MQTTv311,
        )
        if self.broker.username:
            client.username_pw_set(self.broker.username, self.broker.password)
        if self.broker.tls:
            client.tls_set()
        client.max_queued_messages_set(0)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.reconnect_delay_set(min_delay=1, max_delay=10)
        return client

    # --- paho's network thread -------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            self.log(f"MQTT connection refused: {reason}")
            return
        client.subscribe(self.subscription, qos=1)
        self.connected.set()
        self.log(
            f"connected to {self.broker.host}:{self.broker.port} as {self.client_id}, subscribed {self.subscription}"
        )

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        self.connected.clear()
        if not self.stopping.is_set():
            self.log(f"MQTT connection lost ({reason}); reconnecting")

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        item = _Inbound(message.topic, bytes(message.payload), message.mid, message.qos, time.time())
        with self.arrived:
            self.inbox.append(item)
            if len(self.inbox) >= self.batch_size:
                self.arrived.notify()

    # --- the main thread ---------------------------------------------------------------------------

    def _take_batch(self) -> list[_Inbound]:
        with self.arrived:
            if not self.inbox:
                self.arrived.wait(timeout=0.5)
                if not self.inbox:
                    return []
            oldest = self.inbox[0].received
        # Wait for a full batch, but no longer than max_delay after the oldest message arrived.
        deadline = oldest + self.max_delay
        with self.arrived:
            while len(self.inbox) < self.batch_size and not self.stopping.is_set():
                remaining = deadline - time.time()
                if remaining <= 0:
                    break
                self.arrived.wait(timeout=remaining)
            count = min(len(self.inbox), self.batch_size)
            return [self.inbox.popleft() for _ in range(count)]

    def process(self, batch: list[_Inbound]) -> None:
        ingestor = Ingestor(self.directory)
        for item in batch:
            ingestor.accept_mqtt(item.topic, item.payload, dt.datetime.fromtimestamp(item.received, UTC))
        result = ingestor.flush()
        committed = time.time()
        for item in batch:
            if item.qos > 0:
                self.client.ack(item.mid, item.qos)
        self.stats.received += len(batch)
        self.stats.stored += len(result.stored)
        self.stats.points += result.points
        self.stats.duplicates += result.duplicates
        self.stats.dead_letters += result.dead_letters
        self.stats.batches += 1
        if self.report is not None:
            latencies = [
                round((committed - m.sent_at.timestamp()) * 1000, 1) for m in result.stored if m.sent_at is not None
            ]
            record = {
                "t": committed,
                "pid": os.getpid(),
                "n": len(batch),
                "stored": len(result.stored),
                "points": result.points,
                "dup": result.duplicates,
                "dead": result.dead_letters,
                "lat": latencies,
            }
            self.report.write(json.dumps(record) + "\n")
            self.report.flush()

    def run(self, *, stats_every: float = 30.0) -> None:
        ensure_ingest_window()
        self.directory.load()
        self.client.connect(self.broker.host, self.broker.port, keepalive=30)
        self.client.loop_start()
        last_stats = time.monotonic()
        try:
            while not self.stopping.is_set():
                batch = self._take_batch()
                if batch:
                    close_old_connections()
                    self.process(batch)
                if time.monotonic() - last_stats > stats_every:
                    self.log(self.stats.line())
                    last_stats = time.monotonic()
                    ensure_ingest_window()
            # Drain what already arrived, then leave: unacknowledged messages stay with the broker.
            with self.arrived:
                rest = list(self.inbox)
                self.inbox.clear()
            for start in range(0, len(rest), self.batch_size):
                self.process(rest[start : start + self.batch_size])
        finally:
            self.client.disconnect()
            self.client.loop_stop()
            if self.report is not None:
                self.report.close()
            self.log(self.stats.line())

    def stop(self) -> None:
        self.stopping.set()
        with self.arrived:
            self.arrived.notify_all()
