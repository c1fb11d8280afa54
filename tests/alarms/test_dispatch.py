"""Critical alarms open a work order (linked both ways) and call the duty staff; outages tell the
residents and withdraw the notice when over. All after commit, each alarm claimed once."""

from __future__ import annotations

import pytest

from anju.community.models import Announcement
from anju.core import sms
from anju.core.models import Notification
from anju.core.tenancy import community_scope, scopes_disabled
from anju.devices.alarms import dispatch, tasks
from anju.devices.alarms.models import Alarm, AlarmEvent
from anju.devices.alarms.pipeline import process
from anju.devices.alarms.services import resolve_alarm
from anju.workorders.models import WorkOrder

from .helpers import make_device, message

TRAPPED = {"moving": 0, "door_open": 0, "occupied": 1}


@pytest.fixture
def lift(world):
    return make_device(world.a, "lift", "lift-3", name="3号电梯")


@pytest.mark.django_db
def test_entrapment_opens_a_work_order_calls_the_duty_staff_and_tells_the_building(
    world, lift, django_capture_on_commit_callbacks
):
    sms.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        process([message(lift, 0, points=TRAPPED), message(lift, 31, points=TRAPPED)])
    community_id = world.a.community.pk
    with community_scope(community_id):
        alarm = Alarm.objects.get(device=lift)
        order = WorkOrder.objects.get(source_ref=f"alarm:{alarm.pk}")
        assert alarm.work_order_id == order.pk and alarm.dispatched_at is not None
        assert order.source == "alarm" and order.category.code == "lift" and order.building_id == lift.building_id
        kinds = set(AlarmEvent.objects.filter(alarm=alarm).values_list("kind", flat=True))
        assert {"raised", "work_order", "notified", "notice"} <= kinds
        notice = Announcement.objects.get(source_ref=f"alarm:{alarm.pk}")
        assert notice.category == "outage" and "3号电梯" in notice.title and notice.withdrawn_at is None
    for persona in ("technician", "guard", "manager_x"):
        assert Notification.objects.filter(recipient=world.user(persona), kind="alarm").exists(), persona
    assert not Notification.objects.filter(recipient=world.user("finance"), kind="alarm").exists()
    assert sms.outbox, "critical alarms are also texted"
    # Dispatch is claimed once: running it again (the sweep, a second worker) does nothing.
    assert dispatch.dispatch_alarms([alarm.pk]) == 0
    with community_scope(community_id):
        assert WorkOrder.objects.filter(source_ref=f"alarm:{alarm.pk}").count() == 1
    # The doors open: the alarm clears and the residents' notice is withdrawn.
    with django_capture_on_commit_callbacks(execute=True):
        process([message(lift, 60, points={**TRAPPED, "door_open": 1})])
    with community_scope(community_id):
        assert Announcement.objects.get(source_ref=f"alarm:{alarm.pk}").withdrawn_at is not None


@pytest.mark.django_db
def test_a_major_alarm_opens_no_work_order(world, lift, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        process([message(lift, 0, event="lift.fault.02")])
    with community_scope(world.a.community.pk):
        alarm = Alarm.objects.get(device=lift)
        assert alarm.work_order_id is None
        assert not WorkOrder.objects.filter(source_ref=f"alarm:{alarm.pk}").exists()


@pytest.mark.django_db
def test_the_sweep_dispatches_what_a_dead_process_left(world, lift):
    process([message(lift, 0, event="lift.fault.11")])  # committed, but its after-commit never ran
    with scopes_disabled():
        alarm = Alarm.objects.get(device=lift)
        Alarm.objects.filter(pk=alarm.pk).update(raised_at=alarm.raised_at.replace(year=2020))
    assert alarm.dispatched_at is None
    assert tasks.dispatch_missed() == 1
    assert tasks.dispatch_missed() == 0
    with community_scope(world.a.community.pk):
        assert WorkOrder.objects.get(source_ref=f"alarm:{alarm.pk}").pk == Alarm.objects.get(pk=alarm.pk).work_order_id


@pytest.mark.django_db
def test_resolving_an_outage_withdraws_the_notice(world, lift, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        process([message(lift, 0, event="lift.fault.01")])
    community_id = world.a.community.pk
    with community_scope(community_id):
        alarm = Alarm.objects.get(device=lift)
        assert Announcement.objects.get(source_ref=f"alarm:{alarm.pk}").withdrawn_at is None
        with django_capture_on_commit_callbacks(execute=True):
            resolve_alarm(alarm, outcome="fixed", actor=world.user("technician"))
        assert Announcement.objects.get(source_ref=f"alarm:{alarm.pk}").withdrawn_at is not None
