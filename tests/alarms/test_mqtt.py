"""Publish → alarm → work order, over a real Mosquitto and the real ingest worker.

The broker (own port, generated password and ACL files) and the worker thread are the device app's
test helpers; the worker commits each batch and hands it to the alarm pipeline, whose after-commit
dispatch opens the work order (inline: no Celery configured).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from anju.core.tenancy import scopes_disabled
from anju.devices.alarms.models import Alarm
from anju.workorders.models import WorkOrder
from tests.devices.factories import make_device
from tests.devices.mqtt import WorkerThread, broker_fixture, close, connect, publish, wait_for
from tests.personas import World

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def broker(tmp_path: Path, settings):
    yield from broker_fixture(tmp_path, settings)


def open_alarms(device, alarm_type):
    with scopes_disabled():
        return list(Alarm.objects.filter(device=device, alarm_type=alarm_type, state__in=("active", "acknowledged")))


def test_a_trapped_lift_published_over_mqtt_opens_one_alarm_and_one_work_order(world: World, broker) -> None:
    lift, credentials = make_device(world.a.community, code="lift-3", kind="lift", building=world.a.buildings[0])
    worker = WorkerThread(broker.ingest_url).start()
    client, reason = connect(broker.port, credentials.mqtt_username, credentials.mqtt_password)
    assert not reason.is_failure
    start = time.time() - 40
    try:
        for seq, offset in enumerate(range(0, 40, 4), start=1):
            data = {"moving": 0, "door_open": 0, "occupied": 1, "floor": 7}
            publish(client, f"{credentials.topic_root}/telemetry", {"seq": seq, "ts": start + offset, "data": data})
        wait_for(lambda: len(open_alarms(lift, "lift.entrapment")) == 1, what="the entrapment alarm")
        [alarm] = open_alarms(lift, "lift.entrapment")

        def linked() -> bool:
            with scopes_disabled():
                return Alarm.objects.filter(pk=alarm.pk, work_order__isnull=False).exists()

        wait_for(linked, what="the work order linked to the alarm")
        with scopes_disabled():
            order = WorkOrder.objects.get(source_ref=f"alarm:{alarm.pk}")
            assert Alarm.objects.get(pk=alarm.pk).work_order_id == order.pk
            assert order.category.code == "lift"
        # The doors open: the alarm clears; re-sent old messages change nothing.
        publish(client, f"{credentials.topic_root}/telemetry", {"seq": 11, "ts": start + 44, "data": {"door_open": 1}})
        wait_for(lambda: open_alarms(lift, "lift.entrapment") == [], what="the entrapment cleared")
        publish(client, f"{credentials.topic_root}/telemetry", {"seq": 5, "ts": start + 16, "data": {"door_open": 0}})
    finally:
        close(client)
        worker.stop()
    with scopes_disabled():
        assert Alarm.objects.filter(device=lift).count() == 1
        assert WorkOrder.objects.filter(source_ref__startswith="alarm:").count() == 1


def test_repeated_camera_posts_over_mqtt_are_one_episode(world: World, broker) -> None:
    camera, credentials = make_device(world.a.community, code="cam-1", kind="camera")
    worker = WorkerThread(broker.ingest_url).start()
    client, reason = connect(broker.port, credentials.mqtt_username, credentials.mqtt_password)
    assert not reason.is_failure
    now = time.time()
    try:
        for seq in range(1, 21):
            body = {"seq": seq, "ts": now - 30 + seq, "event": "camera.ebike_in_lift", "state": "active"}
            publish(client, f"{credentials.topic_root}/event", body)

        def repeats() -> int:
            with scopes_disabled():
                alarm = Alarm.objects.filter(device=camera).first()
            return alarm.repeat_count if alarm else 0

        wait_for(lambda: repeats() == 20, what="one alarm with 20 repeats")
        body = {"seq": 21, "ts": now - 5, "event": "camera.ebike_in_lift", "state": "inactive"}
        publish(client, f"{credentials.topic_root}/event", body)
        wait_for(lambda: open_alarms(camera, "camera.ebike_in_lift") == [], what="the episode ended")
    finally:
        close(client)
        worker.stop()
    with scopes_disabled():
        [alarm] = Alarm.objects.filter(device=camera)
    assert alarm.review == "pending" and alarm.state == "cleared"
