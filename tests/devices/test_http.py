"""HTTP ingestion with the device token, and camera pushes with their quirks."""

from __future__ import annotations

import io
import json
import time

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image

from anju.core.tenancy import community_scope, scopes_disabled
from anju.devices.models import DeadLetter, DeviceStream, Telemetry
from tests.personas import World

from .factories import make_device

pytestmark = pytest.mark.django_db


def post_json(client: Client, url: str, body, token: str | None = None, **extra):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json", **headers, **extra)


def test_a_device_posts_telemetry_with_its_token(world: World) -> None:
    device, credentials = make_device(world.a.community)
    client = Client()
    now = time.time()
    response = post_json(
        client,
        "/hooks/devices/telemetry/",
        {"messages": [{"seq": seq, "ts": now - 10 + seq, "data": {"pressure_mpa": 0.3}} for seq in (1, 2, 4)]},
        credentials.http_token,
    )
    assert response.status_code == 202
    assert response.json() == {"stored": 3, "duplicates": 0, "refused": 0}
    again = post_json(client, "/hooks/devices/telemetry/", {"seq": 2, "ts": now - 8, "data": {"pressure_mpa": 0.3}},
                      credentials.http_token)  # fmt: skip
    assert again.json()["duplicates"] == 1
    with scopes_disabled():
        stream = DeviceStream.objects.get(device=device)
    assert (stream.received, stream.lost, stream.duplicates) == (3, 1, 1)


def test_unknown_missing_and_rotated_tokens_are_refused_and_store_nothing(world: World) -> None:
    device, credentials = make_device(world.a.community)
    client = Client()
    body = {"seq": 1, "data": {"x": 1}}
    assert post_json(client, "/hooks/devices/telemetry/", body).status_code == 401
    assert post_json(client, "/hooks/devices/telemetry/", body, "anjud_nope").status_code == 401
    assert post_json(client, "/hooks/devices/telemetry/", body, "anju_" + credentials.http_token).status_code == 401
    from anju.devices.services import rotate_device_credentials

    with community_scope(world.a.community.pk):
        rotate_device_credentials(device, actor=None)
    assert post_json(client, "/hooks/devices/telemetry/", body, credentials.http_token).status_code == 401
    assert client.get("/hooks/devices/telemetry/").status_code == 405
    with scopes_disabled():
        assert Telemetry.objects.count() == 0


def test_the_token_also_works_as_a_header_or_query_parameter(world: World) -> None:
    _, credentials = make_device(world.a.community)
    client = Client()
    body = json.dumps({"seq": 1, "data": {"x": 1}})
    by_header = client.post("/hooks/devices/status/", body, content_type="application/json",
                            HTTP_X_DEVICE_TOKEN=credentials.http_token)  # fmt: skip
    assert by_header.status_code == 202
    by_query = client.post(f"/hooks/devices/status/?token={credentials.http_token}", json.dumps({"seq": 2}),
                           content_type="application/json")  # fmt: skip
    assert by_query.status_code == 202


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "bad_json"),
        ({"seq": "one"}, "bad_seq"),
        ({"seq": 1, "ts": "2020-01-01T00:00:00+08:00"}, "too_old"),
        ({"seq": 1, "data": {"x": [1, 2]}}, "bad_data"),
    ],
)
def test_invalid_messages_are_answered_400_and_kept_as_dead_letters(world: World, body, reason: str) -> None:
    device, credentials = make_device(world.a.community)
    response = post_json(Client(), "/hooks/devices/telemetry/", body, credentials.http_token)
    assert response.status_code == 400
    assert response.json()["code"] == reason
    with community_scope(world.a.community.pk):
        letter = DeadLetter.objects.get()
        assert (letter.reason, letter.device_id, letter.source) == (reason, device.pk, "http")
        assert Telemetry.objects.count() == 0


def test_good_messages_beside_bad_ones_are_kept(world: World) -> None:
    _, credentials = make_device(world.a.community)
    response = post_json(
        Client(), "/hooks/devices/event/",
        {"messages": [{"seq": 1, "event": "pump.fault", "state": "raise"}, {"seq": 2}, "junk"]},
        credentials.http_token,
    )  # fmt: skip
    assert response.status_code == 202
    assert response.json() == {"stored": 1, "duplicates": 0, "refused": 2}


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


HIK_XML = """<?xml version="1.0" encoding="UTF-8"?>
<EventNotificationAlert version="2.0" xmlns="http://www.hikvision.com/ver20/XMLSchema">
<ipAddress>10.0.0.21</ipAddress><channelID>1</channelID>
<dateTime>{when}</dateTime><activePostCount>{count}</activePostCount>
<eventType>ebike</eventType><eventState>{state}</eventState>
<eventDescription>E-bike & rider <lift car></eventDescription>
</EventNotificationAlert>"""


def hik(when: str, count: int = 1, state: str = "active") -> str:
    return HIK_XML.format(when=when, count=count, state=state)


def test_hikvision_multipart_with_unescaped_xml_and_a_snapshot(world: World, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    device, credentials = make_device(world.a.community, code="cam-lift-1", kind="camera", attrs={"watches": "lift"})
    local = timezone.localtime().replace(microsecond=0).isoformat()
    response = Client().post(
        f"/hooks/cameras/hikvision/?token={credentials.http_token}",
        {
            "ebike": io.BytesIO(hik(local).encode()),
            "ebike.jpg": io.BytesIO(jpeg()),
        },
    )
    assert response.status_code == 202, response.content
    with community_scope(world.a.community.pk):
        row = Telemetry.objects.get(device=device)
    assert row.kind == "event"
    assert row.data["event"] == "camera.ebike_in_lift" and row.data["state"] == "active"
    assert "&" in row.data["description"]
    assert (tmp_path / row.data["snapshot"]).read_bytes()[:3] == b"\xff\xd8\xff"


def test_repeated_active_posts_are_kept_once_each_and_identical_reposts_dropped(world: World) -> None:
    device, credentials = make_device(world.a.community, code="cam-2", kind="camera")
    client = Client()
    base = timezone.localtime().replace(microsecond=0)
    url = f"/hooks/cameras/hikvision/?token={credentials.http_token}"
    for second in range(3):
        when = (base + timezone.timedelta(seconds=second)).isoformat()
        assert client.post(url, hik(when, second + 1), content_type="application/xml").status_code == 202
    repeat = client.post(url, hik((base + timezone.timedelta(seconds=2)).isoformat(), 3), content_type="text/xml")
    assert repeat.json()["duplicates"] == 1
    with community_scope(world.a.community.pk):
        events = list(Telemetry.objects.filter(device=device).values_list("data", flat=True))
    assert len(events) == 3
    assert {e["event"] for e in events} == {"camera.ebike_in_corridor"}


def test_a_camera_without_offset_or_with_a_wrong_clock_is_read_sensibly(world: World) -> None:
    device, credentials = make_device(world.a.community, code="cam-3", kind="camera")
    client = Client()
    url = f"/hooks/cameras/hikvision/?token={credentials.http_token}"
    naive_beijing = timezone.localtime().replace(microsecond=0, tzinfo=None).isoformat()
    assert client.post(url, hik(naive_beijing), content_type="application/xml").status_code == 202
    assert client.post(url, hik("2019-03-01T08:00:00+08:00", 2), content_type="application/xml").status_code == 202
    with community_scope(world.a.community.pk):
        rows = list(Telemetry.objects.filter(device=device).order_by("ts"))
    assert len(rows) == 2
    assert all(abs((row.ts - timezone.now()).total_seconds()) < 120 for row in rows)
    assert any(row.data.get("camera_time", "").startswith("2019-03-01") for row in rows)


def test_hikvision_json_and_dahua_posts(world: World) -> None:
    device, credentials = make_device(world.a.community, code="cam-4", kind="camera")
    client = Client()
    token = credentials.http_token
    hik_json = {"EventNotificationAlert": {"eventType": "fireEscapeDetection", "eventState": "active", "channelID": 2}}
    assert post_json(client, "/hooks/cameras/hikvision/", hik_json, token).status_code == 202
    dahua_json = {"Code": "FallDetection", "Action": "Start", "Index": 0}
    assert post_json(client, "/hooks/cameras/dahua/", dahua_json, token).status_code == 202
    dahua_text = "Code=FallDetection;action=Stop;index=0"
    assert client.post("/hooks/cameras/dahua/", dahua_text, content_type="text/plain",
                       HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 202  # fmt: skip
    with community_scope(world.a.community.pk):
        seen = sorted((row["event"], row["state"]) for row in Telemetry.objects.filter(device=device).values_list(
            "data", flat=True))  # fmt: skip
    assert seen == [("camera.fall", "active"), ("camera.fall", "inactive"), ("camera.fire_exit_blocked", "active")]


def test_a_push_without_an_event_or_with_a_fake_snapshot_is_a_dead_letter(world: World) -> None:
    _, credentials = make_device(world.a.community, code="cam-5", kind="camera")
    client = Client()
    url = f"/hooks/cameras/hikvision/?token={credentials.http_token}"
    assert client.post(url, "<x>nothing</x>", content_type="application/xml").status_code == 400
    fake = client.post(url, {"a": io.BytesIO(hik(timezone.localtime().isoformat()).encode()),
                             "b.jpg": io.BytesIO(b"\xff\xd8\xff" + b"garbage")})  # fmt: skip
    assert fake.status_code == 400 and fake.json()["code"] == "bad_snapshot"
    with community_scope(world.a.community.pk):
        assert sorted(DeadLetter.objects.values_list("reason", flat=True)) == ["bad_camera_event", "bad_snapshot"]
