"""Alarm pages, the API and the residents' outage list, as the personas who use them."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from anju.core.tenancy import community_scope, scopes_disabled
from anju.devices.alarms.models import Alarm, Rule
from anju.devices.alarms.pipeline import process

from .helpers import make_device, message


@pytest.fixture
def lift(world):
    return make_device(world.a, "lift", "lift-1", name="1号楼1号梯")


@pytest.fixture
def fault(lift):
    process([message(lift, 0, event="lift.fault.03"), message(lift, 1, event="lift.fault.03")])
    with scopes_disabled():
        return Alarm.objects.get(device=lift)


def client_for(world, persona: str) -> Client:
    client = Client()
    client.force_login(world.user(persona))
    return client


@pytest.mark.django_db
def test_live_list_filters_and_renders_its_table_alone_for_htmx(world, fault):
    client = client_for(world, "steward")
    url = reverse("console:alarms_list", args=[world.a.community.pk])
    page = client.get(url)
    body = page.content.decode()
    assert page.status_code == 200
    assert f'data-alarm="{fault.pk}"' in body and "开门故障" in body
    assert 'hx-trigger="every 5s"' in body and "htmx" in body
    partial = client.get(url, HTTP_HX_REQUEST="true")
    assert partial.status_code == 200 and "<html" not in partial.content.decode()
    assert f'data-alarm="{fault.pk}"' in partial.content.decode()
    assert f'data-alarm="{fault.pk}"' not in client.get(url, {"severity": "critical"}).content.decode()
    assert f'data-alarm="{fault.pk}"' in client.get(url, {"state": "all", "severity": "major"}).content.decode()
    assert client.get(url, {"state": "nonsense", "page": "x"}).status_code == 200


@pytest.mark.django_db
def test_technician_handles_an_alarm_from_the_detail_page(world, fault):
    client = client_for(world, "technician")
    url = reverse("console:alarms_detail", args=[world.a.community.pk, fault.pk])
    page = client.get(url)
    assert page.status_code == 200 and 'data-event="raised"' in page.content.decode()
    assert client.post(url, {"action": "acknowledge"}).status_code == 302
    assert client.post(url, {"action": "start"}).status_code == 302
    response = client.post(url, {"action": "resolve", "outcome": "fixed", "note": "门机皮带更换"})
    assert response.status_code == 302
    with scopes_disabled():
        fault.refresh_from_db()
    assert fault.state == "resolved" and fault.outcome == "fixed" and fault.assigned_to == world.user("technician")
    again = client.post(url, {"action": "resolve", "outcome": "fixed"}, follow=True)
    assert "此告警已关闭" in again.content.decode()


@pytest.mark.django_db
def test_a_steward_may_look_but_not_act(world, fault):
    client = client_for(world, "steward")
    url = reverse("console:alarms_detail", args=[world.a.community.pk, fault.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"action": "acknowledge"}).status_code == 403
    with scopes_disabled():
        assert Alarm.objects.get(pk=fault.pk).acknowledged_at is None


@pytest.mark.django_db
def test_resolve_without_an_outcome_shows_the_error_and_changes_nothing(world, fault):
    client = client_for(world, "technician")
    url = reverse("console:alarms_detail", args=[world.a.community.pk, fault.pk])
    response = client.post(url, {"action": "resolve", "outcome": "bogus"})
    assert response.status_code == 200 and "请选择处理结果" in response.content.decode()
    with scopes_disabled():
        assert Alarm.objects.get(pk=fault.pk).state == "active"


@pytest.mark.django_db
def test_manager_edits_the_entrapment_template_and_a_device_override(world, lift):
    client = client_for(world, "manager_x")
    community_id = world.a.community.pk
    edit = reverse("console:alarms_rule_edit", args=[community_id]) + "?kind=lift&key=entrapment"
    assert client.get(edit).status_code == 200
    refused = client.post(edit, {"enabled": "on", "severity": "critical", "seconds": "60"})
    assert refused.status_code == 200
    saved = client.post(edit, {"enabled": "on", "severity": "critical", "seconds": "40", "note": "维保合同"})
    assert saved.status_code == 302
    device_edit = reverse("console:alarms_device_rules", args=[community_id, lift.pk]) + "?key=entrapment"
    assert client.post(device_edit, {"enabled": "on", "severity": "critical", "seconds": "25"}).status_code == 302
    with community_scope(community_id):
        rows = list(Rule.objects.order_by("pk").values_list("device_id", "version", "params"))
    assert [(device, version, params["seconds"]) for device, version, params in rows] == [
        (None, 1, 40),
        (lift.pk, 1, 25),
    ]
    listing = client.get(reverse("console:alarms_device_rules", args=[community_id, lift.pk])).content.decode()
    assert 'data-rule="entrapment" data-source="device"' in listing
    assert client.post(device_edit, {"action": "remove_override"}).status_code == 302
    rules_page = client.get(reverse("console:alarms_rules", args=[community_id])).content.decode()
    assert "小区模板" in rules_page


@pytest.mark.django_db
def test_only_managers_edit_rules(world):
    client = client_for(world, "technician")
    edit = reverse("console:alarms_rule_edit", args=[world.a.community.pk]) + "?kind=lift&key=entrapment"
    assert client.get(edit).status_code == 200
    assert client.post(edit, {"enabled": "on", "severity": "minor", "seconds": "30"}).status_code == 403
    with scopes_disabled():
        assert not Rule.objects.exists()


@pytest.mark.django_db
def test_camera_precision_page(world):
    camera = make_device(world.a, "camera", "cam-1", name="地库摄像机")
    process([message(camera, 0, event="camera.fire_exit_blocked", state="active")])
    with scopes_disabled():
        alarm = Alarm.objects.get(device=camera)
    client = client_for(world, "guard")
    detail = reverse("console:alarms_detail", args=[world.a.community.pk, alarm.pk])
    assert "误报" in client.get(detail).content.decode()
    assert client.post(detail, {"action": "false_alarm"}).status_code == 302
    page = client.get(reverse("console:alarms_precision", args=[world.a.community.pk])).content.decode()
    assert "地库摄像机" in page and "data-precision>0%" in page


@pytest.mark.django_db
def test_api_list_acknowledge_resolve(world, fault):
    client = client_for(world, "technician")
    base = f"/api/v1/communities/{world.a.community.pk}/alarms"
    listing = client.get(base).json()
    assert [item["id"] for item in listing["items"]] == [fault.pk]
    assert listing["items"][0]["repeat_count"] == 2 and listing["items"][0]["type_label"] == "开门故障"
    assert client.get(base, {"severity": "critical"}).json()["items"] == []
    ack = client.post(f"{base}/{fault.pk}/acknowledge")
    assert ack.status_code == 200 and ack.json()["state"] == "acknowledged"
    again = client.post(f"{base}/{fault.pk}/acknowledge")
    assert again.status_code == 409 and again.json()["code"] == "alarm_state"
    bad = client.post(
        f"{base}/{fault.pk}/resolve", data=json.dumps({"outcome": "maybe"}), content_type="application/json"
    )
    assert bad.status_code == 422
    done = client.post(
        f"{base}/{fault.pk}/resolve", data=json.dumps({"outcome": "false_alarm"}), content_type="application/json"
    )
    assert done.status_code == 200 and done.json()["outcome"] == "false_alarm"
    steward = client_for(world, "steward")
    assert steward.post(f"{base}/{fault.pk}/acknowledge").status_code == 403


@pytest.mark.django_db
def test_residents_see_outages_of_their_own_building_only(world):
    own = make_device(world.a, "lift", "lift-1", building=0, name="1栋电梯")
    other = make_device(world.a, "lift", "lift-2", building=1, name="2栋电梯")
    process([message(own, 0, event="lift.fault.01"), message(other, 0, event="lift.fault.01")])
    client = client_for(world, "resident_a")  # lives in building 1 (world.a.buildings[0])
    page = client.get(reverse("portal:alarms_outages")).content.decode()
    assert "1栋电梯" in page and "2栋电梯" not in page
    api = client.get("/api/v1/me/outages").json()
    assert [item["device_name"] for item in api] == ["1栋电梯"]
    assert "1栋电梯" not in client_for(world, "resident_b").get(reverse("portal:alarms_outages")).content.decode()
