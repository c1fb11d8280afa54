"""The CLI and the periodic jobs: refusals exit with code 2; the jobs are registered and run."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from anju.core.periodic import JOBS, run_job
from anju.core.tenancy import scopes_disabled
from anju.devices.models import Device, TelemetryHourly
from anju.devices.partitions import hour_floor
from anju.devices.store import commit_batch
from tests.personas import World

from .factories import make_device, message

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("ingest", {}),
        ("ingest", {"url": "http://nope"}),
        ("ingest", {"url": "mqtt://127.0.0.1:1", "batch_size": 0}),
        ("simulate", {}),
        ("simulate", {"url": "mqtt://127.0.0.1:1", "tick": 0}),
    ],
)
def test_command_refusals_exit_with_code_2(command: str, options: dict, monkeypatch) -> None:
    monkeypatch.delenv("MQTT_URL", raising=False)
    monkeypatch.delenv("ANJU_SIMULATOR_MQTT_URL", raising=False)
    with pytest.raises(CommandError) as caught:
        call_command(command, **options)
    assert caught.value.returncode == 2


def test_simulate_without_devices_exits_with_code_2(world: World) -> None:
    with pytest.raises(CommandError) as caught:
        call_command("simulate", url="mqtt://127.0.0.1:1")
    assert caught.value.returncode == 2


def test_the_device_jobs_are_registered_and_run(world: World) -> None:
    assert {"devices.offline_sweep", "devices.partitions", "devices.rollup"} <= set(JOBS)
    device, _ = make_device(world.a.community, heartbeat_seconds=5)
    long_ago = timezone.now() - dt.timedelta(hours=2)
    commit_batch([message(device, 1, at=long_ago, points={"pressure_mpa": 0.4})])
    with scopes_disabled():
        Device.objects.filter(pk=device.pk).update(last_seen_at=long_ago)
    assert run_job("devices.offline_sweep", force=True) == 1
    assert run_job("devices.rollup", force=True) >= 1
    assert run_job("devices.partitions", force=True) is not None
    with scopes_disabled():
        assert not Device.objects.get(pk=device.pk).online
        assert TelemetryHourly.objects.get(device=device).hour == hour_floor(long_ago)


def test_the_demo_starts_an_embedded_broker_when_none_is_configured(settings, tmp_path, monkeypatch) -> None:
    from anju.core.management.commands.rundemo import start_device_broker
    from anju.devices.embedded import mosquitto_available

    if not mosquitto_available():
        pytest.skip("mosquitto is not installed")
    for name in ("MQTT_URL", "ANJU_SIMULATOR_MQTT_URL", "ANJU_MQTT_AUTH_DIR", "ANJU_MQTT_BROKER_PIDFILE"):
        monkeypatch.setenv(name, "")
    settings.DATA_DIR = tmp_path
    lines: list[str] = []
    broker = start_device_broker(lines.append)
    try:
        import os

        from .mqtt import connect

        assert os.environ["MQTT_URL"] == broker.ingest_url
        assert (tmp_path / "mqtt" / "acl").exists()
        client, reason = connect(broker.port, broker.gateway.username, broker.gateway.password)
        assert not reason.is_failure
        client.disconnect()
        client.loop_stop()
        assert len(lines) == 1
    finally:
        broker.stop()
