"""Ingestion over a real Mosquitto: ACLs, loss and duplicate counting, crash and restart.

Each test starts its own broker on a free port with generated password and ACL files (the ones
anju provisions), so nothing touches a system broker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from anju.core.tenancy import community_scope, scopes_disabled
from anju.devices.models import Device, DeviceStream, Telemetry
from anju.devices.services import rotate_device_credentials
from tests.personas import World

from .factories import make_device
from .mqtt import WorkerThread, broker_fixture, close, connect, publish, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker(tmp_path: Path, settings):
    yield from broker_fixture(tmp_path, settings)


def counters(device: Device) -> tuple[int, int, int]:
    with scopes_disabled():
        stream = DeviceStream.objects.get(device=device)
    return stream.received, stream.lost, stream.duplicates


def stored(device: Device) -> int:
    with scopes_disabled():
        return Telemetry.objects.filter(device=device).count()


def body(seq: int) -> dict:
    return {"seq": seq, "ts": time.time(), "data": {"pressure_mpa": 0.3 + seq / 1000, "pump": "running"}}


def test_published_messages_are_stored_and_loss_and_duplicates_counted(world: World, broker) -> None:
    device, credentials = make_device(world.a.community)
    topic = f"{credentials.topic_root}/telemetry"
    worker = WorkerThread(broker.ingest_url).start()
    client, reason = connect(broker.port, credentials.mqtt_username, credentials.mqtt_password)
    assert not reason.is_failure
    try:
        sent = {seq: body(seq) for seq in range(1, 51) if seq not in (10, 11)}
        for message in sent.values():
            publish(client, topic, message)
        for seq in range(20, 26):  # the device retries six messages it already sent
            publish(client, topic, sent[seq])
        wait_for(lambda: counters(device) == (48, 2, 6), what="counters 48 received, 2 lost, 6 duplicates")
    finally:
        close(client)
        worker.stop()
    assert stored(device) == 48


def test_a_device_cannot_publish_as_another_device(world: World, broker) -> None:
    honest, honest_credentials = make_device(world.a.community, code="meter-1", kind="water_meter")
    victim, victim_credentials = make_device(world.a.community, code="meter-2", kind="water_meter")
    other_community, other_credentials = make_device(world.b.community, code="meter-1", kind="water_meter")
    worker = WorkerThread(broker.ingest_url).start()
    client, reason = connect(broker.port, honest_credentials.mqtt_username, honest_credentials.mqtt_password)
    assert not reason.is_failure
    try:
        publish(client, f"{victim_credentials.topic_root}/telemetry", body(1))  # another device's topic
        publish(client, f"{other_credentials.topic_root}/telemetry", body(1))  # same code, other community
        publish(client, f"{honest_credentials.topic_root}/telemetry", body(1))  # its own, last
        wait_for(lambda: stored(honest) == 1, what="the honest message")
        time.sleep(0.5)
    finally:
        close(client)
        worker.stop()
    assert stored(victim) == 0
    assert stored(other_community) == 0
    _, refused = connect(broker.port, honest_credentials.mqtt_username, "wrong-password")
    assert refused.is_failure


def test_rotated_credentials_lock_the_old_password_out(world: World, broker) -> None:
    device, old = make_device(world.a.community)
    with community_scope(world.a.community.pk):
        new = rotate_device_credentials(device, actor=None)  # rewrites the files, SIGHUPs the broker
    time.sleep(0.5)
    _, refused = connect(broker.port, old.mqtt_username, old.mqtt_password)
    assert refused.is_failure
    client, accepted = connect(broker.port, new.mqtt_username, new.mqtt_password)
    assert not accepted.is_failure
    close(client)


def test_a_worker_that_dies_before_acknowledging_loses_nothing(world: World, broker) -> None:
    """The first worker commits batches but dies before any acknowledgement reaches the broker;
    the restarted worker (same client id, persistent session) gets every unacknowledged message
    again: all are stored exactly once and the redelivered ones are counted as duplicates."""
    device, credentials = make_device(world.a.community)
    topic = f"{credentials.topic_root}/telemetry"
    client, _ = connect(broker.port, credentials.mqtt_username, credentials.mqtt_password)
    first = WorkerThread(broker.ingest_url, client_id="crashy").start()
    first.worker.client.ack = lambda mid, qos: None  # acknowledgements never leave
    try:
        for seq in range(1, 201):
            publish(client, topic, body(seq))
        wait_for(lambda: stored(device) >= 100, what="the first worker to commit some")
        first.stop()
        for seq in range(201, 301):  # while no worker runs: the broker queues them
            publish(client, topic, body(seq))
        second = WorkerThread(broker.ingest_url, client_id="crashy").start()
        try:
            wait_for(lambda: counters(device)[0] == 300, what="all 300 stored")
        finally:
            second.stop()
    finally:
        close(client)
    received, lost, duplicates = counters(device)
    assert (received, lost) == (300, 0)
    assert duplicates >= 100  # what the first worker had committed came again
    assert stored(device) == 300


@pytest.mark.skipif(
    os.environ.get("DATABASE_URL", "") == "", reason="a second process cannot open the in-memory SQLite test database"
)
def test_killing_an_ingest_process_mid_stream_and_restarting_it_loses_nothing(world: World, broker, tmp_path) -> None:
    assert connection.vendor == "postgresql"
    device, credentials = make_device(world.a.community)
    topic = f"{credentials.topic_root}/telemetry"
    settings_dict = connection.settings_dict
    database_url = (
        f"postgres://{settings_dict['USER']}:{settings_dict['PASSWORD'] or ''}@{settings_dict['HOST'] or '127.0.0.1'}:"
        f"{settings_dict['PORT'] or 5432}/{settings_dict['NAME']}"
    )
    environment = {**os.environ, "DATABASE_URL": database_url}
    command = [
        sys.executable, "-m", "anju.manage", "ingest", "--url", broker.ingest_url,
        "--client-id", "killme", "--batch-size", "50", "--max-delay", "0.05",
    ]  # fmt: skip

    log = open(tmp_path / "ingest.log", "ab", buffering=0)  # noqa: SIM115

    def start() -> subprocess.Popen[bytes]:
        subscribed = (tmp_path / "ingest.log").read_bytes().count(b"subscribed")
        process = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)
        wait_for(
            lambda: (tmp_path / "ingest.log").read_bytes().count(b"subscribed") > subscribed,
            what="the worker process to subscribe",
        )
        return process

    worker = start()
    client, _ = connect(broker.port, credentials.mqtt_username, credentials.mqtt_password)
    try:
        total = 3000
        for seq in range(1, total + 1):
            publish(client, topic, body(seq))
            if seq == 1500:
                wait_for(lambda: stored(device) >= 300, what="the worker to commit some")
                worker.send_signal(signal.SIGKILL)
                worker.wait(10)
        worker = start()
        wait_for(lambda: counters(device)[0] == total, timeout=60, what="everything stored after the restart")
        received, lost, _redelivered = counters(device)
        assert (received, lost) == (total, 0)
        assert stored(device) == total
    finally:
        close(client)
        worker.send_signal(signal.SIGTERM)
        worker.wait(20)
        log.close()
