"""The pipeline over the real database: messages in, exactly the alarms they imply out."""

from __future__ import annotations

import random

import pytest

from anju.core.models import AuditEntry
from anju.core.tenancy import community_scope, scopes_disabled
from anju.devices.alarms.models import OPEN_STATES, Alarm, AlarmEvent, AlarmState, DeviceRuleState
from anju.devices.alarms.pipeline import process
from anju.devices.services import set_service_mode

from .helpers import make_device, message

TRAPPED = {"moving": 0, "door_open": 0, "occupied": 1}


def alarms(device, **filters):
    with scopes_disabled():
        return list(Alarm.objects.filter(device=device, **filters).order_by("pk"))


@pytest.fixture
def lift(world):
    return make_device(world.a, "lift", "lift-1", name="1号楼电梯")


@pytest.fixture
def camera(world):
    return make_device(world.a, "camera", "cam-1", name="1号楼大堂摄像机")


@pytest.mark.django_db
def test_entrapment_raises_one_critical_alarm_after_the_setting(lift):
    result = process([message(lift, t, points=TRAPPED) for t in (0, 10, 20, 29)])
    assert result.raised == [] and alarms(lift) == []
    result = process([message(lift, t, points=TRAPPED) for t in (30, 35)])
    [alarm] = alarms(lift)
    assert result.raised == [alarm.pk]
    assert alarm.alarm_type == "lift.entrapment" and alarm.severity == "critical" and alarm.state == "active"
    assert alarm.rule_key == "entrapment" and alarm.rule_version == 0
    assert alarm.attrs["held_seconds"] == 30
    with community_scope(lift.community_id):
        assert [e.kind for e in AlarmEvent.objects.filter(alarm=alarm)] == ["raised"]
    assert AuditEntry.objects.filter(action="alarm.raised", object_id=str(alarm.pk)).count() == 1


@pytest.mark.django_db
def test_doors_opening_clear_the_entrapment(lift):
    process([message(lift, t, points=TRAPPED) for t in (0, 31)])
    result = process([message(lift, 40, points={**TRAPPED, "door_open": 1})])
    [alarm] = alarms(lift)
    assert result.cleared == [alarm.pk]
    assert (
        alarm.state == AlarmState.CLEARED and alarm.cleared_at.timestamp() == message(lift, 40).received_at.timestamp()
    )


@pytest.mark.django_db
def test_rule_state_survives_between_batches_and_is_one_row_per_device(lift):
    process([message(lift, 0, points=TRAPPED)])
    with scopes_disabled():
        state = DeviceRuleState.objects.get(device=lift).state
    assert state["entrapment"]["since"] == message(lift, 0).received_at.timestamp()
    process([message(lift, 31, points=TRAPPED)])  # a later batch, maybe another worker
    assert len(alarms(lift)) == 1
    with scopes_disabled():
        assert DeviceRuleState.objects.filter(device=lift).count() == 1


@pytest.mark.django_db
def test_a_late_batch_does_not_rewind_state(lift):
    """Worker 2 commits t=31 before worker 1 gets to t=5 (doors open): the entrapment stands."""
    process([message(lift, 0, points=TRAPPED), message(lift, 31, points=TRAPPED)])
    process([message(lift, 5, points={**TRAPPED, "door_open": 1})])
    [alarm] = alarms(lift)
    assert alarm.state == "active"


@pytest.mark.django_db
def test_repeated_fault_codes_are_one_alarm_with_a_repeat_count(lift):
    process([message(lift, t, event="lift.fault.03") for t in range(5)])
    process([message(lift, 10, event="lift.fault.03")])
    [alarm] = alarms(lift)
    assert alarm.repeat_count == 6 and alarm.severity == "major"
    assert alarm.last_occurred_at == message(lift, 10).received_at
    process([message(lift, 11, event="lift.fault.03", state="clear")])
    assert alarms(lift)[0].state == "cleared"


@pytest.mark.django_db
def test_maintenance_mode_suppresses_faults_but_not_trapped_passengers(lift):
    with community_scope(lift.community_id):
        set_service_mode(lift, "maintenance", actor=None)
    process([message(lift, 0, event="lift.fault.02"), message(lift, 1, event="lift.fault.11")])
    assert [a.alarm_type for a in alarms(lift)] == ["lift.fault.11"]


@pytest.mark.django_db
def test_a_status_message_switching_to_maintenance_applies_within_the_batch(lift):
    process(
        [
            message(lift, 0, channel="status", attrs={"service_mode": "maintenance"}),
            message(lift, 1, event="lift.fault.02"),
            message(lift, 2, channel="status", attrs={"service_mode": "normal"}),
            message(lift, 3, event="lift.fault.03"),
        ]
    )
    assert [a.alarm_type for a in alarms(lift)] == ["lift.fault.03"]


@pytest.mark.django_db
def test_flapping_within_the_window_reopens_the_same_alarm(world):
    sensor = make_device(world.a, "pressure_sensor", "p-1")
    low, ok = {"pressure_mpa": 0.1}, {"pressure_mpa": 0.3}
    process([message(sensor, 0, points=low), message(sensor, 10, points=ok)])
    process([message(sensor, 20, points=low)])
    [alarm] = alarms(sensor)
    assert alarm.state == "active" and alarm.repeat_count == 2 and alarm.cleared_at is None
    with community_scope(sensor.community_id):
        assert [e.kind for e in alarm.events.order_by("at", "pk")] == ["raised", "cleared", "reopened"]
    # Beyond the window (5 minutes) it is a new problem.
    process([message(sensor, 30, points=ok), message(sensor, 30 + 301, points=low)])
    assert [(a.state, a.repeat_count) for a in alarms(sensor)] == [("cleared", 2), ("active", 1)]


@pytest.mark.django_db
def test_camera_active_posts_are_one_episode_cleared_on_inactive(camera):
    posts = [
        message(camera, t, event="camera.ebike_in_lift", state="active", snapshot=f"snap/{t}.jpg") for t in range(10)
    ]
    process(posts[:4])
    process(posts[4:])
    [alarm] = alarms(camera)
    assert alarm.repeat_count == 10 and alarm.review == "pending" and alarm.snapshot == "snap/0.jpg"
    assert alarm.silence_seconds == 60
    process([message(camera, 12, event="camera.ebike_in_lift", state="inactive")])
    process([message(camera, 20, event="camera.ebike_in_lift", state="active")])
    first, second = alarms(camera)
    assert first.state == "cleared" and second.state == "active", "a new episode, not the old one reopened"


@pytest.mark.django_db
def test_fire_status_pairs_and_reset(world):
    panel = make_device(world.a, "fire_panel", "fire-1", building=None)
    process(
        [
            message(panel, 0, event="fire.alarm", state="raise"),
            message(panel, 1, event="fire.fault", state="raise"),
            message(panel, 2, event="fire.alarm", state="clear"),
        ]
    )
    by_type = {a.alarm_type: a.state for a in alarms(panel)}
    assert by_type == {"fire.alarm": "cleared", "fire.fault": "active"}
    process([message(panel, 3, event="fire.reset")])
    assert all(a.state == "cleared" for a in alarms(panel))


@pytest.mark.django_db
def test_a_clear_and_a_new_episode_in_one_batch_respect_the_constraint(camera):
    process(
        [
            message(camera, 0, event="camera.fall", state="active"),
            message(camera, 1, event="camera.fall", state="inactive"),
            message(camera, 2, event="camera.fall", state="active"),
            message(camera, 3, event="camera.fall", state="inactive"),
            message(camera, 4, event="camera.fall", state="active"),
        ]
    )
    states = [a.state for a in alarms(camera)]
    assert states == ["cleared", "cleared", "active"]


@pytest.mark.django_db
def test_storm_of_flapping_devices_leaves_one_open_alarm_per_device_and_type(world):
    """500 devices, each flapping its pressure across the limit, messages shuffled into batches
    processed in random order (as workers would commit them): never two open alarms for one
    (device, type), and each device ends as its newest reading says."""
    rng = random.Random(5)
    devices = [make_device(world.a, "pressure_sensor", f"storm-{i}", building=None) for i in range(500)]
    messages = []
    final_low = {}
    for device in devices:
        values = [rng.choice((0.05, 0.3)) for _ in range(6)]
        for step, value in enumerate(values):
            messages.append(message(device, step * 400 + rng.random(), points={"pressure_mpa": value}))
        final_low[device.pk] = values[-1] < 0.15
    rng.shuffle(messages)
    for start in range(0, len(messages), 250):
        process(messages[start : start + 250])
    with scopes_disabled():
        open_rows = list(Alarm.objects.filter(state__in=OPEN_STATES).values_list("device_id", "alarm_type"))
    assert len(open_rows) == len(set(open_rows))
    assert {device_id for device_id, _type in open_rows} <= {pk for pk, low in final_low.items() if low}


@pytest.mark.django_db
def test_a_fire_detector_test_is_only_a_warning(world):
    panel = make_device(world.a, "fire_panel", "fire-1", building=None)
    process([message(panel, 0, event="fire.alarm", state="raise", attrs={"test": True})])
    [alarm] = alarms(panel)
    assert alarm.severity == "warning" and alarm.attrs["test"] is True
