"""Forced doors and repeated denials become alarms on the controller's device; change notices go
out over MQTT to a real Mosquitto."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest
from django.utils import timezone

from anju.access import services, sync
from anju.core.tenancy import community_scope
from anju.devices import services as devices
from anju.devices.alarms.models import Alarm
from tests.personas import World

from .conftest import Doors, synced_controller

pytestmark = pytest.mark.django_db
MOSQUITTO = "/usr/sbin/mosquitto"


def test_forced_door_and_repeated_denials_raise_alarms_on_the_device(world: World, doors: Doors) -> None:
    with community_scope(world.a.community.pk):
        device, _credentials = devices.create_device(
            community=world.a.community, kind="door_controller", code="ctl-1", name="一号门禁控制器", actor=None
        )
    services.bind_controller_device(doors.controller, device=device, actor=None)
    with community_scope(world.a.community.pk):
        doors.controller.refresh_from_db()
    controller = synced_controller(doors)
    now = int(timezone.now().timestamp())
    controller.door_forced(doors.gate.pk, now)
    for second in range(4):  # below the threshold of five
        controller.present_card("BAD0CAFE", doors.unit_door.pk, now + second)
    first = services.ingest_events(doors.controller, controller.take_events())
    assert first.alarms == ["raised"]
    controller.acknowledge(10**6)
    controller.present_card("BAD0CAFE", doors.unit_door.pk, now + 10)  # the fifth within ten minutes
    second = services.ingest_events(doors.controller, controller.take_events())
    assert second.alarms == ["raised"]
    with community_scope(world.a.community.pk):
        alarms = {a.alarm_type: a for a in Alarm.objects.filter(device=device)}
    assert set(alarms) == {"door.forced", "door.repeated_denials"}
    assert alarms["door.forced"].attrs["door_id"] == doors.gate.pk
    assert alarms["door.repeated_denials"].attrs["denials"] == 5


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def broker() -> Iterator[int]:
    if not os.path.exists(MOSQUITTO):
        if os.environ.get("CI") == "true":
            pytest.fail("Mosquitto is required in CI")
        pytest.skip("Mosquitto is not installed")
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="access-mqtt-")
    conf = os.path.join(workdir, "mosquitto.conf")
    with open(conf, "w") as handle:
        handle.write(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    process = subprocess.Popen([MOSQUITTO, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def test_a_change_notice_reaches_the_controller_over_mqtt(
    world: World,
    doors: Doors,
    broker: int,
    settings,
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    from paho.mqtt import subscribe

    settings.MQTT_URL = f"mqtt://127.0.0.1:{broker}"
    with django_capture_on_commit_callbacks(execute=True):
        services.issue_credential(
            community=world.a.community, kind="card", person=world.a.people[0], card_number="12345678", actor=None
        )
    with community_scope(world.a.community.pk):
        head = sync.access_settings(world.a.community.pk).version
    # The notice is retained: a controller that subscribes afterwards still gets the newest version.
    message = subscribe.simple(
        sync.notice_topic(world.a.community.pk, doors.controller.code), hostname="127.0.0.1", port=broker, qos=1
    )
    assert message.payload == f'{{"version": {head}}}'.encode()
