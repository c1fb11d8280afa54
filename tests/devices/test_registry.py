"""The registry's services, the broker files they provision, and the console pages and API."""

from __future__ import annotations

import datetime as dt
import re
import signal
import subprocess
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from anju.core.errors import Conflict, DomainError
from anju.core.models import AuditEntry
from anju.core.tenancy import community_scope, scopes_disabled
from anju.devices import broker
from anju.devices.models import Device
from anju.devices.services import authenticate_device, create_device, retire_device, rotate_device_credentials
from anju.devices.store import commit_batch
from anju.estates.services import create_common_part
from tests.personas import World

from .factories import make_device, message

pytestmark = pytest.mark.django_db


def test_credentials_are_stored_only_as_hashes(world: World) -> None:
    device, credentials = make_device(world.a.community, code="lift-1", kind="lift")
    assert credentials.mqtt_username == f"{world.a.community.code}.lift-1"
    assert credentials.topic_root == f"anju/{world.a.community.code}/lift-1"
    with scopes_disabled():
        row = Device.objects.get(pk=device.pk)
        assert credentials.http_token not in (row.token_digest, row.token_prefix)
        assert credentials.mqtt_password not in row.mqtt_password_hash
        assert authenticate_device(credentials.http_token) == row
        audit = AuditEntry.objects.get(action="device.create", object_id=str(device.pk))
    text = str(audit.after)
    assert credentials.http_token not in text and credentials.mqtt_password not in text


def test_mosquitto_accepts_the_password_hash_anju_computes(tmp_path: Path) -> None:
    """The $7$ hash is written by Python; mosquitto_passwd's own verification path is the broker,
    exercised in test_mqtt. Here: the format is exactly what mosquitto_passwd writes."""
    hashed = broker.mosquitto_password_hash("s3cret", salt=b"0123456789ab")
    assert re.fullmatch(r"\$7\$101\$[A-Za-z0-9+/=]{16}\$[A-Za-z0-9+/=]{88}", hashed)
    assert hashed == broker.mosquitto_password_hash("s3cret", salt=b"0123456789ab")
    assert hashed != broker.mosquitto_password_hash("s3cret")


def test_codes_are_unique_per_community_and_topic_safe(world: World) -> None:
    make_device(world.a.community, code="pump-1")
    with pytest.raises(Conflict):
        make_device(world.a.community, code="pump-1")
    make_device(world.b.community, code="pump-1")  # another community may reuse it
    for bad in ("pump/1", "pump+", "泵1", "a#", ""):
        with pytest.raises(DomainError) as caught:
            make_device(world.a.community, code=bad)
        assert caught.value.field == "code"


def test_a_place_from_another_community_is_refused(world: World) -> None:
    with pytest.raises(DomainError) as caught:
        make_device(world.a.community, code="x-1", building=world.b.buildings[0])
    assert caught.value.field == "building"


def test_auth_files_list_each_device_with_only_its_own_topics(world: World, tmp_path: Path) -> None:
    (tmp_path / "passwd.static").write_text("anju-ingest:$7$101$abc$def\n")
    (tmp_path / "acl.static").write_text("user anju-ingest\ntopic read anju/#\n")
    make_device(world.a.community, code="lift-1", kind="lift")
    retired, _ = make_device(world.a.community, code="old-1")
    with community_scope(world.a.community.pk):
        retire_device(retired, actor=None)
    assert broker.write_auth_files(tmp_path) == 1
    passwd = (tmp_path / "passwd").read_text().splitlines()
    acl = (tmp_path / "acl").read_text()
    code = world.a.community.code
    assert passwd[0].startswith("anju-ingest:") and passwd[1].startswith(f"{code}.lift-1:$7$101$")
    assert len(passwd) == 2
    assert f"user {code}.lift-1\ntopic write anju/{code}/lift-1/#\ntopic read anju/{code}/lift-1/command/#" in acl
    assert "old-1" not in acl
    assert acl.startswith("user anju-ingest\ntopic read anju/#")


def test_sync_rewrites_the_files_and_signals_the_broker(world: World, tmp_path: Path, settings) -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    received: list[int] = []
    try:
        (tmp_path / "broker.pid").write_text(str(sleeper.pid))
        settings.ANJU_MQTT_AUTH_DIR = str(tmp_path)
        settings.ANJU_MQTT_BROKER_PIDFILE = str(tmp_path / "broker.pid")
        make_device(world.a.community, code="meter-9", kind="water_meter")
        assert broker.sync_broker_auth() == 1
        sleeper.wait(5)
        received.append(sleeper.returncode)
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
    assert received == [-signal.SIGHUP]
    assert "meter-9" in (tmp_path / "acl").read_text()


def test_many_devices_are_provisioned_with_one_rewrite(world: World, tmp_path: Path, settings, monkeypatch) -> None:
    settings.ANJU_MQTT_AUTH_DIR = str(tmp_path)
    writes: list[Path] = []
    real = broker.write_auth_files
    monkeypatch.setattr(broker, "write_auth_files", lambda directory: writes.append(directory) or real(directory))
    with broker.deferred_broker_sync():
        for number in range(5):
            make_device(world.a.community, code=f"m-{number}", kind="water_meter")
            broker.sync_broker_auth()
    assert len(writes) == 1
    assert (tmp_path / "acl").read_text().count("user ") == 5


def test_retired_devices_lose_their_credentials(world: World) -> None:
    device, credentials = make_device(world.a.community)
    with community_scope(world.a.community.pk):
        retire_device(device, actor=None)
        with pytest.raises(Conflict):
            rotate_device_credentials(device, actor=None)
    with scopes_disabled():
        assert authenticate_device(credentials.http_token) is None


# --- Pages ------------------------------------------------------------------------------------------


def console(world: World, persona: str = "manager_x") -> Client:
    client = Client()
    client.force_login(world.user(persona))
    return client


def test_the_device_list_filters_and_shows_status(world: World) -> None:
    community = world.a.community
    lift, _ = make_device(community, code="lift-1", kind="lift", building=world.a.buildings[0])
    make_device(community, code="pump-1", kind="pump")
    commit_batch([message(lift, 1, at=timezone.now())])
    client = console(world)
    page = client.get(f"/console/c/{community.pk}/devices/?status=online")
    body = page.content.decode()
    assert page.status_code == 200
    assert f'data-device="{lift.pk}"' in body and "pump-1" not in body
    assert 'data-status="online"' in body
    assert 'data-online="1" data-total="2"' in body


def test_the_device_detail_draws_svg_charts_from_telemetry(world: World) -> None:
    pump, _ = make_device(world.a.community, code="pump-1", kind="pump")
    now = timezone.now()
    commit_batch(
        [message(pump, seq, at=now - dt.timedelta(minutes=60 - seq), points={"pressure_mpa": 0.25 + seq / 1000,
                 "flow_m3h": 10.0}) for seq in range(1, 41)]
    )  # fmt: skip
    body = console(world).get(f"/console/c/{world.a.community.pk}/devices/{pump.pk}/").content.decode()
    charts = re.findall(r'<svg [^>]*data-metric="([^"]+)" data-points="(\d+)"', body)
    assert dict(charts) == {"flow_m3h": "40", "pressure_mpa": "40"}
    assert "<polyline" in body
    assert "data-received>40<" in body.replace(" ", "")


def test_the_device_map_groups_devices_by_building(world: World) -> None:
    community = world.a.community
    with community_scope(community.pk):
        room = create_common_part(community=community, name="泵房", kind="pump_room", actor=None)
    in_building, _ = make_device(community, code="lift-1", kind="lift", building=world.a.buildings[1])
    shared, _ = make_device(community, code="pump-1", kind="pump", common_part=room)
    body = console(world).get(f"/console/c/{community.pk}/devices/map/").content.decode()
    building_panel = body.split(f'data-panel="building-{world.a.buildings[1].pk}"')[1].split("</section>")[0]
    shared_panel = body.split('data-panel="shared"')[1].split("</section>")[0]
    assert f'data-device="{in_building.pk}"' in building_panel
    assert f'data-device="{shared.pk}"' in shared_panel


def test_registering_a_device_on_the_console_shows_its_credentials_once(world: World) -> None:
    community = world.a.community
    client = console(world)
    response = client.post(
        f"/console/c/{community.pk}/devices/new/",
        {"kind": "tank", "code": "tank-1", "name": "1号水箱", "heartbeat_seconds": "60"},
    )
    assert response.status_code == 200
    token = re.search(r"data-http-token>([^<]+)<", response.content.decode()).group(1)
    with scopes_disabled():
        assert authenticate_device(token).code == "tank-1"
    duplicate = client.post(
        f"/console/c/{community.pk}/devices/new/",
        {"kind": "tank", "code": "tank-1", "name": "又一个", "heartbeat_seconds": "60"},
    )
    assert duplicate.status_code == 200 and "data-http-token" not in duplicate.content.decode()
    with scopes_disabled():
        assert Device.objects.filter(code="tank-1").count() == 1


def test_staff_without_manage_permission_cannot_register_or_rotate(world: World) -> None:
    device, credentials = make_device(world.a.community)
    client = console(world, "technician")
    assert client.get(f"/console/c/{world.a.community.pk}/devices/").status_code == 200
    assert client.post(f"/console/c/{world.a.community.pk}/devices/new/", {"kind": "pump"}).status_code == 403
    assert client.post(f"/console/c/{world.a.community.pk}/devices/{device.pk}/credentials/").status_code == 403
    with scopes_disabled():
        assert authenticate_device(credentials.http_token) is not None


def test_managers_rotate_credentials_and_set_maintenance_mode(world: World) -> None:
    device, credentials = make_device(world.a.community, code="lift-1", kind="lift")
    client = console(world)
    base = f"/console/c/{world.a.community.pk}/devices/{device.pk}/"
    rotated = client.post(base + "credentials/")
    assert rotated.status_code == 200
    with scopes_disabled():
        assert authenticate_device(credentials.http_token) is None
    assert client.post(base + "mode/", {"service_mode": "maintenance"}).status_code == 302
    assert client.post(base + "mode/", {"service_mode": "party"}).status_code == 302
    with scopes_disabled():
        assert Device.objects.get(pk=device.pk).service_mode == "maintenance"


# --- API ----------------------------------------------------------------------------------------------


def test_api_registers_lists_and_reads_devices(world: World) -> None:
    community = world.a.community
    client = console(world)
    created = client.post(
        f"/api/v1/communities/{community.pk}/devices",
        {"kind": "water_meter", "code": "wm-1", "name": "总水表", "building_id": world.a.buildings[0].pk},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["http_token"].startswith("anjud_") and data["mqtt_password"]
    device_id = data["device"]["id"]
    listing = client.get(f"/api/v1/communities/{community.pk}/devices?kind=water_meter").json()
    assert [item["code"] for item in listing["items"]] == ["wm-1"]
    assert "mqtt_password" not in listing["items"][0]
    detail = client.get(f"/api/v1/communities/{community.pk}/devices/{device_id}").json()
    assert detail["stream"] == {"received": 0, "lost": 0, "duplicates": 0, "last_message_at": None}
    rotated = client.post(f"/api/v1/communities/{community.pk}/devices/{device_id}/credentials")
    assert rotated.status_code == 201 and rotated.json()["http_token"] != data["http_token"]
    patched = client.patch(
        f"/api/v1/communities/{community.pk}/devices/{device_id}",
        {"service_mode": "out_of_service", "vendor": "宁波水表"},
        content_type="application/json",
    )
    assert patched.status_code == 200 and patched.json()["service_mode"] == "out_of_service"


def test_api_refuses_bad_input_with_codes_and_stores_nothing(world: World) -> None:
    community = world.a.community
    client = console(world)
    url = f"/api/v1/communities/{community.pk}/devices"
    assert (
        client.post(url, {"kind": "toaster", "code": "t", "name": "t"}, content_type="application/json").status_code
        == 422
    )
    bad_code = client.post(url, {"kind": "pump", "code": "a/b", "name": "x"}, content_type="application/json")
    assert bad_code.status_code == 400 and bad_code.json()["field"] == "code"
    foreign = client.post(url, {"kind": "pump", "code": "p", "name": "x", "building_id": world.b.buildings[0].pk},
                          content_type="application/json")  # fmt: skip
    assert foreign.status_code == 404
    with scopes_disabled():
        assert Device.objects.count() == 0


def test_api_telemetry_of_a_device(world: World) -> None:
    pump, _ = make_device(world.a.community)
    now = timezone.now()
    commit_batch([message(pump, seq, at=now - dt.timedelta(seconds=30 - seq)) for seq in range(1, 6)])
    body = console(world).get(f"/api/v1/communities/{world.a.community.pk}/devices/{pump.pk}/telemetry?limit=2").json()
    assert body["count"] == 5
    assert [item["seq"] for item in body["items"]] == [5, 4]


def test_create_device_refuses_a_unit_of_another_building(world: World) -> None:
    community = world.a.community
    with community_scope(community.pk):
        unit = world.a.homes[0].unit
        other_building = world.a.buildings[1]
        with pytest.raises(DomainError):
            create_device(community=community, kind="lift", code="l", name="l", building=other_building, unit=unit,
                          actor=None)  # fmt: skip
