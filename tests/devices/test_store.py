"""Committing batches: duplicates dropped and counted, loss counted from sequence gaps in any
arrival order, counter epochs on a device reboot, dead letters kept, presence and reported modes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from anju.core.models import AuditEntry
from anju.core.tenancy import community_scope, scopes_disabled
from anju.devices.models import DeadLetter, Device, DeviceStream, Telemetry
from anju.devices.presence import sweep_offline
from anju.devices.store import SEQ_RESET_GAP, commit_batch
from tests.personas import World

from .factories import make_device, message

pytestmark = pytest.mark.django_db


def stream_of(device: Device) -> DeviceStream:
    with scopes_disabled():
        return DeviceStream.objects.get(device=device)


def test_a_batch_is_stored_once_and_redelivery_counts_duplicates(world: World) -> None:
    device, _ = make_device(world.a.community)
    now = timezone.now().replace(microsecond=0)
    batch = [message(device, seq, at=now - dt.timedelta(seconds=10 - seq)) for seq in range(1, 11)]
    first = commit_batch(batch)
    assert len(first.stored) == 10 and first.duplicates == 0
    again = commit_batch(batch[5:] + batch[5:6])  # a redelivery, with one message twice in the batch
    assert again.stored == [] and again.duplicates == 6
    stream = stream_of(device)
    assert (stream.received, stream.duplicates, stream.lost) == (10, 6, 0)
    with community_scope(world.a.community.pk):
        assert Telemetry.objects.filter(device=device).count() == 10


def test_loss_is_counted_from_gaps_whatever_the_arrival_order(world: World) -> None:
    device, _ = make_device(world.a.community)
    now = timezone.now()
    sent = [seq for seq in range(1, 101) if seq not in (17, 18, 60)]
    late = [seq for seq in sent if seq % 7 == 0]
    first = [seq for seq in sent if seq not in late]
    commit_batch([message(device, seq, at=now - dt.timedelta(seconds=200 - seq)) for seq in first])
    commit_batch([message(device, seq, at=now - dt.timedelta(seconds=200 - seq)) for seq in late])  # older, later
    stream = stream_of(device)
    assert stream.received == 97
    assert stream.lost == 3
    assert stream.duplicates == 0


def test_a_counter_restart_opens_a_new_epoch_and_keeps_earlier_losses(world: World) -> None:
    device, _ = make_device(world.a.community)
    now = timezone.now()
    before_reboot = [seq for seq in range(1, SEQ_RESET_GAP + 200) if seq != 500]  # one lost
    commit_batch([message(device, seq, at=now - dt.timedelta(seconds=5000 - seq)) for seq in before_reboot])
    after_reboot = [seq for seq in range(1, 21) if seq not in (4, 5)]  # two lost
    commit_batch([message(device, seq, at=now - dt.timedelta(seconds=30 - seq)) for seq in after_reboot])
    stream = stream_of(device)
    assert stream.lost == 3
    assert stream.received == len(before_reboot) + len(after_reboot)
    assert (stream.first_seq, stream.high_seq) == (1, 20)


def test_dead_letters_are_kept_beside_good_messages(world: World) -> None:
    device, _ = make_device(world.a.community)
    letter = DeadLetter(
        community=world.a.community, device=device, source="mqtt", topic="anju/x/y/telemetry", reason="bad_json"
    )
    result = commit_batch([message(device, 1, at=timezone.now())], [letter])
    assert len(result.stored) == 1 and result.dead_letters == 1
    with community_scope(world.a.community.pk):
        assert list(DeadLetter.objects.values_list("reason", flat=True)) == ["bad_json"]


def test_messages_mark_a_device_online_and_silence_marks_it_offline(world: World, monkeypatch) -> None:
    device, _ = make_device(world.a.community, heartbeat_seconds=30)
    handed: list = []
    monkeypatch.setattr("anju.devices.store._alarm_pipeline", lambda: handed.extend)
    now = timezone.now()
    commit_batch([message(device, 1, at=now)])
    with scopes_disabled():
        device.refresh_from_db()
    assert device.online and device.last_seen_at is not None
    assert [(m.channel, m.attrs.get("online")) for m in handed] == [("status", True), ("telemetry", None)]
    assert sweep_offline(now + dt.timedelta(seconds=60)) == 0  # two intervals: still online
    assert sweep_offline(now + dt.timedelta(seconds=95)) == 1
    assert sweep_offline(now + dt.timedelta(seconds=95)) == 0  # claimed once
    with scopes_disabled():
        device.refresh_from_db()
    assert not device.online
    assert handed[-1].channel == "status" and handed[-1].attrs["online"] is False


def test_a_reported_service_mode_updates_the_register_with_an_audit_row(world: World) -> None:
    device, _ = make_device(world.a.community, kind="lift", code="lift-1")
    commit_batch([message(device, 1, at=timezone.now(), channel="status", points={}, attrs={"mode": "maintenance"})])
    with scopes_disabled():
        device.refresh_from_db()
        assert device.service_mode == "maintenance"
        assert AuditEntry.objects.filter(action="device.mode_reported", object_id=str(device.pk)).count() == 1
    commit_batch([message(device, 2, at=timezone.now(), channel="status", points={}, attrs={"online": False})])
    with scopes_disabled():
        device.refresh_from_db()
    assert not device.online


def test_the_alarm_pipeline_gets_only_new_messages(world: World, monkeypatch) -> None:
    device, _ = make_device(world.a.community)
    batches: list[list] = []
    monkeypatch.setattr("anju.devices.store._alarm_pipeline", lambda: lambda messages: batches.append(list(messages)))
    now = timezone.now()
    commit_batch([message(device, 1, at=now), message(device, 2, at=now)])
    commit_batch([message(device, 2, at=now), message(device, 3, at=now)])
    telemetry = [[m.seq for m in batch if m.channel == "telemetry"] for batch in batches]
    assert telemetry == [[1, 2], [3]]


def test_a_failing_rule_does_not_lose_the_batch(world: World, monkeypatch) -> None:
    device, _ = make_device(world.a.community)

    def broken(messages):
        raise RuntimeError("rule bug")

    monkeypatch.setattr("anju.devices.store._alarm_pipeline", lambda: broken)
    result = commit_batch([message(device, 1, at=timezone.now())])
    assert len(result.stored) == 1
    with community_scope(world.a.community.pk):
        assert Telemetry.objects.filter(device=device).count() == 1
