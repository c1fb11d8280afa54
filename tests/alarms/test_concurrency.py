"""Several ingest workers at once on PostgreSQL: real threads, real row locks.

With MQTT shared subscriptions one device's consecutive messages reach different workers; the
pipeline's per-device locks must keep the alarms exactly as one worker would have made them.
"""

from __future__ import annotations

import random
import threading

import pytest
from django.db import connection, connections

from anju.core.tenancy import scopes_disabled
from anju.devices.alarms.models import OPEN_STATES, Alarm, DeviceRuleState
from anju.devices.alarms.pipeline import process

from .helpers import make_device, message

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL row locks (SQLite serialises writers anyway)"
)


def run_workers(batches: list[list], workers: int) -> list[BaseException]:
    errors: list[BaseException] = []
    queue = list(batches)
    lock = threading.Lock()

    def work() -> None:
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    batch = queue.pop()
                process(batch)
        except BaseException as exc:  # reported to the test thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@pytest.mark.django_db(transaction=True)
def test_alarm_storm_across_four_workers_leaves_one_open_alarm_per_device_and_type():
    from tests.personas import build_world

    world = build_world()
    rng = random.Random(7)
    devices = [make_device(world.a, "pressure_sensor", f"storm-{i}", building=None) for i in range(500)]
    messages = []
    final_low = {}
    for device in devices:
        values = [rng.choice((0.05, 0.3)) for _ in range(8)]
        for step, value in enumerate(values):
            messages.append(message(device, step * 400 + rng.random(), points={"pressure_mpa": value}))
        final_low[device.pk] = values[-1] < 0.15
    # Interleave as a shared subscription would: mostly in order, each batch a mix of devices.
    messages.sort(key=lambda m: m.received_at)
    batches = [messages[i : i + 200] for i in range(0, len(messages), 200)]
    rng.shuffle(batches)
    errors = run_workers(batches, workers=4)
    assert errors == []
    with scopes_disabled():
        open_rows = list(Alarm.objects.filter(state__in=OPEN_STATES).values_list("device_id", "alarm_type"))
        assert len(open_rows) == len(set(open_rows))
        assert {device_id for device_id, _type in open_rows} == {pk for pk, low in final_low.items() if low}
        assert DeviceRuleState.objects.count() == 500


@pytest.mark.django_db(transaction=True)
def test_one_camera_episode_split_across_workers_is_one_alarm():
    from tests.personas import build_world

    world = build_world()
    camera = make_device(world.a, "camera", "cam-1")
    posts = [message(camera, t, event="camera.ebike_in_lift", state="active") for t in range(60)]
    errors = run_workers([posts[i::6] for i in range(6)], workers=6)
    assert errors == []
    with scopes_disabled():
        [alarm] = Alarm.objects.filter(device=camera)
    assert alarm.repeat_count == 60 and alarm.state == "active"
