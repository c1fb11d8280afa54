"""The periodic jobs: silence, no data, overdue durations, escalation."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from anju.core import sms
from anju.core.models import Notification
from anju.core.tenancy import community_scope, scopes_disabled
from anju.devices.alarms import tasks
from anju.devices.alarms.models import Alarm, AlarmEvent
from anju.devices.alarms.pipeline import process
from anju.devices.models import Device

from .helpers import make_device, message


def all_alarms(device):
    with scopes_disabled():
        return list(Alarm.objects.filter(device=device).order_by("pk"))


@pytest.mark.django_db
def test_a_camera_that_never_says_inactive_is_cleared_after_silence(world):
    camera = make_device(world.a, "camera", "cam-1")
    now = timezone.now()
    process([message(camera, now - dt.timedelta(seconds=s), event="camera.fall", state="active") for s in (90, 80, 70)])
    assert tasks.clear_silent_alarms() == 1
    [alarm] = all_alarms(camera)
    assert alarm.state == "cleared"
    # Cleared at the end of the silence (last post + 60 s), not at the moment the sweep ran.
    assert alarm.cleared_at == alarm.last_occurred_at + dt.timedelta(seconds=60)
    assert tasks.clear_silent_alarms() == 0


@pytest.mark.django_db
def test_an_active_camera_episode_is_not_cleared_early(world):
    camera = make_device(world.a, "camera", "cam-1")
    process([message(camera, timezone.now() - dt.timedelta(seconds=10), event="camera.fall", state="active")])
    assert tasks.clear_silent_alarms() == 0
    assert all_alarms(camera)[0].state == "active"


@pytest.mark.django_db
def test_no_data_alarm_for_a_silent_device_cleared_by_its_next_message(world):
    tank = make_device(world.a, "tank", "tank-1")
    quiet = make_device(world.a, "tank", "tank-2")
    never = make_device(world.a, "tank", "tank-3")
    with scopes_disabled():
        Device.objects.filter(pk=tank.pk).update(last_seen_at=timezone.now() - dt.timedelta(hours=2))
        Device.objects.filter(pk=quiet.pk).update(last_seen_at=timezone.now() - dt.timedelta(minutes=5))
    assert tasks.raise_overdue_conditions() == 1
    [alarm] = all_alarms(tank)
    assert alarm.alarm_type == "device.no_data"
    assert all_alarms(quiet) == [] and all_alarms(never) == []
    assert tasks.raise_overdue_conditions() == 0, "already open"
    process([message(tank, timezone.now(), points={"level_pct": 50})])
    assert all_alarms(tank)[0].state == "cleared"


@pytest.mark.django_db
def test_maintenance_mode_suppresses_no_data(world):
    tank = make_device(world.a, "tank", "tank-1")
    with scopes_disabled():
        Device.objects.filter(pk=tank.pk).update(
            last_seen_at=timezone.now() - dt.timedelta(hours=2), service_mode="maintenance"
        )
    assert tasks.raise_overdue_conditions() == 0


@pytest.mark.django_db
def test_a_lift_that_falls_silent_while_trapped_still_raises_the_entrapment(world):
    lift = make_device(world.a, "lift", "lift-1")
    started = timezone.now() - dt.timedelta(seconds=40)
    process([message(lift, started, points={"moving": 0, "door_open": 0, "occupied": 1})])
    with scopes_disabled():
        Device.objects.filter(pk=lift.pk).update(last_seen_at=started)
    assert all_alarms(lift) == []
    assert tasks.raise_overdue_conditions() == 1
    [alarm] = all_alarms(lift)
    assert alarm.alarm_type == "lift.entrapment" and alarm.attrs["held_seconds"] >= 40


@pytest.mark.django_db
def test_unacknowledged_critical_alarm_escalates_once_per_level(world, settings):
    lift = make_device(world.a, "lift", "lift-1")
    process([message(lift, timezone.now(), event="lift.fault.05")])
    [alarm] = all_alarms(lift)
    assert alarm.severity == "critical"
    assert tasks.escalate_unacknowledged() == 0, "not yet due"
    with scopes_disabled():
        Alarm.objects.filter(pk=alarm.pk).update(raised_at=timezone.now() - dt.timedelta(minutes=6))
    sms.outbox.clear()
    assert tasks.escalate_unacknowledged() == 1
    assert tasks.escalate_unacknowledged() == 0, "level 1 done, level 2 not due yet"
    manager = world.user("manager_x")
    assert Notification.objects.filter(recipient=manager, kind="alarm_escalation").count() == 1
    assert not Notification.objects.filter(recipient=world.user("steward"), kind="alarm_escalation").exists()
    with scopes_disabled():
        Alarm.objects.filter(pk=alarm.pk).update(raised_at=timezone.now() - dt.timedelta(minutes=11))
    assert tasks.escalate_unacknowledged() == 1
    with community_scope(lift.community_id):
        alarm.refresh_from_db()
        assert alarm.escalation_level == 2
        assert AlarmEvent.objects.filter(alarm=alarm, kind="escalated").count() == 2


@pytest.mark.django_db
def test_acknowledged_and_warning_alarms_do_not_escalate(world):
    from anju.devices.alarms.services import acknowledge_alarm

    lift = make_device(world.a, "lift", "lift-1")
    meter = make_device(world.a, "water_meter", "m-1")
    process([message(lift, timezone.now(), event="lift.fault.05")])
    process([message(meter, 0, points={"reading": 10.0}), message(meter, 60, points={"reading": 900.0})])
    with community_scope(lift.community_id):
        acknowledge_alarm(Alarm.objects.get(device=lift), actor=world.user("technician"))
    with scopes_disabled():
        Alarm.objects.update(raised_at=timezone.now() - dt.timedelta(days=1))
        assert Alarm.objects.get(device=meter).severity == "warning"
    assert tasks.escalate_unacknowledged() == 0
