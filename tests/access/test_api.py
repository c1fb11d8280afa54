"""The access API, the controller endpoints and the pages, through HTTP."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from anju.access import services
from anju.access.controller import OfflineController
from anju.access.events import decide_online
from anju.access.models import AccessEvent, Credential, DenyEntry, VisitorPass
from anju.core.models import AuditEntry
from anju.core.tenancy import community_scope
from anju.residents import services as residents
from tests.personas import World

from .conftest import Doors

pytestmark = pytest.mark.django_db


def client_for(world: World, persona: str) -> Client:
    client = Client()
    client.force_login(world.user(persona))
    return client


def post_json(client: Client, url: str, body: dict, **extra: str):  # type: ignore[no-untyped-def, type-arg]
    return client.post(url, data=json.dumps(body), content_type="application/json", **extra)


def test_resident_invites_over_the_api_and_the_guard_verifies(world: World, doors: Doors) -> None:
    resident = client_for(world, "resident_a")
    until = (timezone.now() + dt.timedelta(hours=3)).isoformat()
    response = post_json(
        resident,
        "/api/v1/me/access/passes",
        {"home_id": world.a.homes[0].pk, "visitor_name": "李叔", "valid_until": until},
    )
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["token"].startswith("AJ") and created["share_path"].startswith("/access/v/?t=")
    # The shared link shows the pass to anyone holding it, and nothing for a mangled token.
    assert Client().get(created["share_path"]).status_code == 200
    assert Client().get("/access/v/?t=" + created["token"][:-4] + "AAAA").status_code == 404
    # Another resident cannot invite to that home.
    other = post_json(
        client_for(world, "resident_b"),
        "/api/v1/me/access/passes",
        {"home_id": world.a.homes[0].pk, "valid_until": until},
    )
    assert other.status_code == 404

    guard = client_for(world, "guard")
    base = f"/api/v1/communities/{world.a.community.pk}/access"
    verdict = post_json(guard, f"{base}/desk/verify", {"scanned": created["token"]}).json()
    assert (verdict["allowed"], verdict["reason"], verdict["visitor_pass"]["id"]) == (True, "ok", created["id"])
    admitted = post_json(guard, f"{base}/desk/admit", {"visitor_pass_id": created["id"]})
    assert admitted.status_code == 201
    # The household sees the entry; staff without the log permission do not get the log.
    mine = resident.get("/api/v1/me/access/log").json()
    assert [e["visitor_pass_id"] for e in mine["items"]] == [created["id"]]
    assert client_for(world, "technician").get(f"{base}/log").status_code == 403
    log = client_for(world, "manager_x").get(f"{base}/log", {"door_id": doors.gate.pk}).json()
    assert log["count"] == 0  # the desk entry was not at a door
    assert client_for(world, "manager_x").get(f"{base}/log").json()["count"] == 1
    # Revoking from the portal refuses the pass at the desk.
    assert post_json(resident, f"/api/v1/me/access/passes/{created['id']}/revoke", {}).status_code == 200
    assert post_json(guard, f"{base}/desk/verify", {"scanned": created["code"]}).json()["reason"] == "revoked"


def test_staff_manage_doors_and_credentials_over_the_api(world: World, doors: Doors) -> None:
    manager = client_for(world, "manager_x")
    base = f"/api/v1/communities/{world.a.community.pk}/access"
    response = post_json(
        manager, f"{base}/doors", {"name": "2号楼单元门", "kind": "unit", "building_id": world.a.buildings[1].pk}
    )
    assert response.status_code == 400 and response.json()["field"] == "unit"
    made = post_json(
        manager, f"{base}/credentials", {"kind": "card", "person_id": world.a.people[0].pk, "card_number": "AB12CD34"}
    )
    assert made.status_code == 201 and made.json()["display"] == "****CD34"
    listed = manager.get(f"{base}/credentials", {"person_id": world.a.people[0].pk}).json()
    assert [c["display"] for c in listed["items"]] == ["****CD34"]
    ended = post_json(manager, f"{base}/credentials/{made.json()['id']}/end", {"reason": "lost"})
    assert ended.json()["ended_reason"] == "lost"
    # A steward may look but not issue.
    steward = client_for(world, "steward")
    assert steward.get(f"{base}/doors").status_code == 200
    assert (
        post_json(steward, f"{base}/credentials", {"kind": "qr", "person_id": world.a.people[0].pk}).status_code == 403
    )
    controller = post_json(manager, f"{base}/controllers", {"name": "北门控制器", "code": "north"})
    assert controller.status_code == 201 and controller.json()["token"].startswith("actl_")
    settings = manager.patch(
        f"{base}/settings", data=json.dumps({"log_retention_days": 90}), content_type="application/json"
    ).json()
    assert settings["log_retention_days"] == 90
    assert AuditEntry.objects.filter(action="access.settings.update").exists()


def test_controller_endpoints_sync_upload_and_decide(world: World, doors: Doors) -> None:
    services.issue_credential(
        community=world.a.community, kind="card", person=world.a.people[0], card_number="C0FFEE01", actor=None
    )
    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {doors.token}"}
    assert client.get("/access/controller/sync/").status_code == 401
    assert client.get("/access/controller/sync/", HTTP_AUTHORIZATION="Bearer actl_wrong").status_code == 401
    assert client.get("/access/controller/sync/?since=x", **auth).status_code == 400
    payload = client.get("/access/controller/sync/?since=0", **auth).json()
    controller = OfflineController(community_id=world.a.community.pk)
    controller.apply(payload)
    now = int(timezone.now().timestamp())
    assert controller.present_card("C0FFEE01", doors.gate.pk, now).allowed
    controller.door_forced(doors.gate.pk, now)
    for _ in range(5):
        controller.present_card("DEADBEEF", doors.gate.pk, now)
    body = {"events": controller.take_events()}
    first = client.post("/access/controller/events/", json.dumps(body), content_type="application/json", **auth).json()
    assert first["stored"] == 7 and first["acknowledged_up_to"] == 7
    # Forced door and repeated denials are reported to the alarm pipeline (unbound controller: no device yet).
    assert sorted(first["alarms"]) == ["no_device", "no_device"]
    again = client.post("/access/controller/events/", json.dumps(body), content_type="application/json", **auth).json()
    assert (again["stored"], again["duplicates"]) == (0, 7)
    assert (
        client.post("/access/controller/events/", "not json", content_type="application/json", **auth).status_code
        == 400
    )
    decided = post_json(
        client, "/access/controller/decide/", {"door_id": doors.unit_door.pk, "card": "C0FFEE01"}, **auth
    )
    assert decided.json() == {"allowed": True, "reason": "ok"}
    refused = post_json(
        client, "/access/controller/decide/", {"door_id": doors.other_entrance.pk, "card": "C0FFEE01"}, **auth
    )
    assert refused.json() == {"allowed": False, "reason": "no_right"}
    with community_scope(world.a.community.pk):
        assert AccessEvent.objects.filter(result="forced").count() == 1
        doors.gate.refresh_from_db()
        assert doors.gate.last_result in ("denied", "forced", "granted") and doors.gate.last_event_at is not None
        doors.controller.refresh_from_db()
        assert doors.controller.synced_version == payload["version"] and doors.controller.is_online


def test_pages_render_and_write_through_the_services(world: World, doors: Doors) -> None:
    cid = world.a.community.pk
    manager = client_for(world, "manager_x")
    page = manager.get(f"/console/c/{cid}/access/")
    assert page.status_code == 200 and "南门" in page.content.decode()
    issue = manager.post(
        f"/console/c/{cid}/access/people/{world.a.people[0].pk}/",
        {"action": "issue", "kind": "card", "card_number": "12AB34CD"},
    )
    assert issue.status_code == 302
    with community_scope(cid):
        card = Credential.objects.get(kind="card")
    assert card.card_masked == "****34CD"
    bad = manager.post(
        f"/console/c/{cid}/access/people/{world.a.people[0].pk}/", {"action": "issue", "kind": "plate", "plate": "x"}
    )
    assert bad.status_code == 200 and "京A12345" in bad.content.decode()
    # The guard registers a walk-in; the resident confirms it in the portal; the guard's check passes.
    guard = client_for(world, "guard")
    response = guard.post(
        f"/console/c/{cid}/access/guard/", {"action": "walk_in", "home": world.a.homes[0].pk, "visitor_name": "老同学"}
    )
    assert response.status_code == 302
    with community_scope(cid):
        walk_in = VisitorPass.objects.get(kind="walk_in")
    resident = client_for(world, "resident_a")
    portal = resident.get("/portal/access/visitors/").content.decode()
    assert "老同学" in portal
    assert (
        resident.post("/portal/access/visitors/", {"action": "accept", "visitor_pass": walk_in.pk}).status_code == 302
    )
    checked = guard.get(f"/console/c/{cid}/access/guard/", {"text": walk_in.code}).content.decode()
    assert 'data-allowed="yes"' in checked
    # The resident's QR page shows a code that refreshes itself.
    qr = resident.get("/portal/access/").content.decode()
    assert "<svg" in qr and 'http-equiv="refresh"' in qr
    # Staff without the guard-desk permission do not get the desk.
    assert client_for(world, "technician").get(f"/console/c/{cid}/access/guard/").status_code == 403


def test_invite_form_in_the_portal(world: World) -> None:
    resident = client_for(world, "resident_a")
    start = timezone.localtime(timezone.now() + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    end = timezone.localtime(timezone.now() + dt.timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M")
    response = resident.post(
        "/portal/access/visitors/",
        {
            "action": "invite",
            "home": world.a.homes[0].pk,
            "visitor_name": "表姐",
            "valid_from": start,
            "valid_until": end,
            "max_uses": 3,
        },
    )
    assert response.status_code == 302
    with community_scope(world.a.community.pk):
        visitor_pass = VisitorPass.objects.get()
    assert (visitor_pass.visitor_name, visitor_pass.max_uses) == ("表姐", 3)
    detail = resident.get(response["Location"]).content.decode()
    assert visitor_pass.code in detail and "<svg" in detail
    # Backwards window: refused with the reason on the form, nothing stored.
    refused = resident.post(
        "/portal/access/visitors/",
        {"action": "invite", "home": world.a.homes[0].pk, "valid_from": end, "valid_until": start, "max_uses": 1},
    )
    assert refused.status_code == 200
    with community_scope(world.a.community.pk):
        assert VisitorPass.objects.count() == 1


def test_shifts_and_the_deny_list_over_the_api(world: World, doors: Doors) -> None:
    manager = client_for(world, "manager_x")
    base = f"/api/v1/communities/{world.a.community.pk}/access"
    services.issue_credential(
        community=world.a.community, kind="card", user=world.user("technician"), card_number="7E7E7E7E", actor=None
    )
    defaults = {s["role"]: s for s in manager.get(f"{base}/shifts").json()}
    assert defaults["technician"]["start_time"] == "07:00:00"
    night = dt.datetime.combine(timezone.localdate(), dt.time(23, 30), tzinfo=timezone.get_current_timezone())
    if night <= timezone.now():  # the card was issued just now: its first night is tomorrow's
        night += dt.timedelta(days=1)
    with community_scope(world.a.community.pk):
        assert decide_online(doors.gate, card="7E7E7E7E", at=night).reason == "outside_shift"
    response = post_json(
        manager,
        f"{base}/shifts",
        {"role": "technician", "door_kinds": ["gate"], "start_time": "22:00", "end_time": "06:00"},
    )
    assert response.status_code == 201, response.content
    with community_scope(world.a.community.pk):
        assert decide_online(doors.gate, card="7E7E7E7E", at=night).allowed
        assert decide_online(doors.entrance, card="7E7E7E7E", at=night).reason == "no_right"
    assert (
        post_json(
            manager,
            f"{base}/shifts",
            {"role": "resident", "door_kinds": ["gate"], "start_time": "08:00", "end_time": "09:00"},
        ).status_code
        == 400
    )

    card = services.issue_credential(
        community=world.a.community, kind="card", person=world.a.people[0], card_number="D0D0D0D0", actor=None
    )
    denied = post_json(manager, f"{base}/deny", {"reason": "门禁卡挂失", "credential_id": card.pk})
    assert denied.status_code == 201
    with community_scope(world.a.community.pk):
        assert decide_online(doors.gate, card="D0D0D0D0").reason == "deny_list"
    lifted = post_json(manager, f"{base}/deny/{denied.json()['id']}/lift", {})
    assert lifted.json()["lifted_at"] is not None
    with community_scope(world.a.community.pk):
        assert decide_online(doors.gate, card="D0D0D0D0").allowed


def test_staff_cards_from_the_console(world: World, doors: Doors) -> None:
    cid = world.a.community.pk
    manager = client_for(world, "manager_x")
    page = manager.get(f"/console/c/{cid}/access/people/").content.decode()
    assert f'value="{world.user("guard").pk}"' in page  # the community's staff are offered
    assert f'value="{world.user("resident_a").pk}"' not in page
    response = manager.post(
        f"/console/c/{cid}/access/people/", {"user": world.user("guard").pk, "card_number": "9A9A9A9A"}
    )
    assert response.status_code == 302
    with community_scope(cid):
        from anju.access.events import decide_online

        assert Credential.objects.get(user=world.user("guard")).card_masked == "****9A9A"
        assert decide_online(doors.other_entrance, card="9A9A9A9A").allowed
    # Someone who may only look cannot issue.
    steward = client_for(world, "steward")
    refused = steward.post(f"/console/c/{cid}/access/people/", {"user": world.user("guard").pk, "card_number": "1"})
    assert refused.status_code == 403


def test_the_person_page_denies_and_lifts_and_the_door_follows(world: World, doors: Doors) -> None:
    cid = world.a.community.pk
    person = world.a.people[0]
    url = f"/console/c/{cid}/access/people/{person.pk}/"
    manager = client_for(world, "manager_x")
    assert manager.post(url, {"action": "issue", "kind": "card", "card_number": "5D5D5D5D"}).status_code == 302
    denied = manager.post(url, {"action": "deny", "reason": "多次尾随他人进门", "ends_on": ""})
    assert denied.status_code == 302
    with community_scope(cid):
        entry = DenyEntry.objects.get(person=person)
        assert decide_online(doors.gate, card="5D5D5D5D").reason == "deny_list"
    page = manager.get(url).content.decode()
    assert f'data-deny="{entry.pk}"' in page and "多次尾随他人进门" in page
    # A steward sees the entry but may not lift it; a made-up id is a 404; nothing changes.
    steward = client_for(world, "steward")
    assert steward.post(url, {"action": "lift", "deny_entry": entry.pk}).status_code == 403
    assert manager.post(url, {"action": "lift", "deny_entry": "99999x"}).status_code == 404
    with community_scope(cid):
        entry.refresh_from_db()
        assert entry.lifted_at is None
    lifted = manager.post(url, {"action": "lift", "deny_entry": entry.pk})
    assert lifted.status_code == 302
    with community_scope(cid):
        entry.refresh_from_db()
        assert entry.lifted_at is not None
        assert decide_online(doors.gate, card="5D5D5D5D").allowed
    assert f'data-deny="{entry.pk}"' not in manager.get(url).content.decode()
    assert AuditEntry.objects.filter(action="access.deny.lift", object_id=str(entry.pk)).count() == 1


def test_the_deny_list_page_shows_who_is_refused_now_and_lifts(world: World, doors: Doors) -> None:
    cid = world.a.community.pk
    url = f"/console/c/{cid}/access/deny/"
    neighbour = residents.create_person(community=world.a.community, name="邻居", actor=None)
    residents.add_occupancy(
        home=world.a.homes[1], person=neighbour, role="owner", starts_on=dt.date(2020, 1, 1), actor=None
    )
    with community_scope(cid):
        card = services.issue_credential(
            community=world.a.community, kind="card", person=neighbour, card_number="6C6C6C6C", actor=None
        )
        standing = services.add_deny_entry(
            community=world.a.community, person=world.a.people[0], reason="尾随", actor=None
        )
        on_card = services.add_deny_entry(community=world.a.community, credential=card, reason="挂失", actor=None)
        lapsed = services.add_deny_entry(
            community=world.a.community,
            user=world.user("technician"),
            reason="已过期",
            ends_at=timezone.now() + dt.timedelta(hours=1),
            actor=None,
        )
        DenyEntry.objects.filter(pk=lapsed.pk).update(ends_at=timezone.now() - dt.timedelta(minutes=1))
    manager = client_for(world, "manager_x")
    page = manager.get(url).content.decode()
    assert f'data-deny="{standing.pk}"' in page and f'data-deny="{on_card.pk}"' in page and "****6C6C" in page
    assert f'data-deny="{lapsed.pk}"' not in page
    # Stewards see it but may not lift; a guard of another company's community is not let in at all.
    steward = client_for(world, "steward")
    assert "尾随" in steward.get(url).content.decode() and "移出黑名单" not in steward.get(url).content.decode()
    assert steward.post(url, {"deny_entry": standing.pk}).status_code == 403
    assert client_for(world, "manager_y").get(url).status_code == 404
    assert manager.post(url, {"deny_entry": on_card.pk}).status_code == 302
    with community_scope(cid):
        assert decide_online(doors.gate, card="6C6C6C6C").allowed
        assert DenyEntry.objects.get(pk=standing.pk).lifted_at is None
    assert f'data-deny="{on_card.pk}"' not in manager.get(url).content.decode()
