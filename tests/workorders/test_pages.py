"""Console and portal pages: what each role sees and may do, with plain form posts (no JavaScript)."""

from __future__ import annotations

import pytest
from django.test import Client

from anju.core.tenancy import community_scope
from anju.workorders.models import FollowUp, State, WorkOrder

from .helpers import add_technician, reload, resident_report, upload

pytestmark = pytest.mark.django_db


def client_for(world, persona: str) -> Client:
    client = Client()
    client.force_login(world.user(persona))
    return client


def test_resident_reports_from_the_portal_with_a_photo(world, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }
    client = client_for(world, "resident_a")
    page = client.get("/portal/workorders/requests/new/")
    assert page.status_code == 200
    body = page.content.decode()
    assert f'value="home:{world.a.homes[0].pk}"' in body and "水管下水" in body
    response = client.post(
        "/portal/workorders/requests/new/",
        {
            "location": f"home:{world.a.homes[0].pk}",
            "kind": "repair",
            "category": "water",
            "description": "阳台水管滴水",
            "preferred_time": "周末",
            "photos": [upload("drip.png")],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    with community_scope(world.a.community.pk):
        order = WorkOrder.objects.get()
        assert order.photos.count() == 1
    assert order.reporter == world.user("resident_a") and order.preferred_time == "周末"
    detail = client.get(response["Location"]).content.decode()
    assert "阳台水管滴水" in detail and "待受理" in detail
    listing = client.get("/portal/workorders/requests/").content.decode()
    assert f'data-order="{order.pk}"' in listing
    # Someone else's home is not offered and not accepted.
    refused = client.post(
        "/portal/workorders/requests/new/",
        {"location": f"home:{world.b.homes[0].pk}", "kind": "repair", "category": "water", "description": "x"},
    )
    body = refused.content.decode()
    assert refused.status_code == 200 and ("form-errors" in body or "has-error" in body)
    with community_scope(world.a.community.pk):
        assert WorkOrder.objects.count() == 1


def test_a_not_image_upload_is_refused_on_the_form(world):
    client = client_for(world, "resident_a")
    response = client.post(
        "/portal/workorders/requests/new/",
        {
            "location": f"home:{world.a.homes[0].pk}",
            "kind": "repair",
            "category": "water",
            "description": "漏水",
            "photos": [upload("x.png", b"not an image at all")],
        },
    )
    assert response.status_code == 200
    assert "不是 JPEG、PNG 或 WebP 图片" in response.content.decode()
    with community_scope(world.a.community.pk):
        assert not WorkOrder.objects.exists()


def test_manager_dispatches_on_the_order_page_and_technician_works_it(world):
    order = resident_report(world, category="noise")
    manager = client_for(world, "manager_x")
    cid = world.a.community.pk
    url = f"/console/c/{cid}/workorders/{order.pk}/"
    page = manager.get(url).content.decode()
    assert 'value="assign"' in page and 'value="start"' not in page
    response = manager.post(url, {"action": "assign", "assign-assignee": world.user("technician").pk})
    assert response.status_code == 302
    assert reload(order).state == State.ASSIGNED
    tech = client_for(world, "technician")
    mine = tech.get(f"/console/c/{cid}/workorders/mine/").content.decode()
    assert f'data-order="{order.pk}"' in mine
    assert tech.post(url, {"action": "start"}).status_code == 302
    bad = tech.post(url, {"action": "resolve", "resolve-note": ""})
    assert bad.status_code == 400 and reload(order).state == State.IN_PROGRESS
    done = tech.post(url, {"action": "resolve", "resolve-note": "已协调", "resolve-photos": [upload("ok.png")]})
    assert done.status_code == 302
    order = reload(order)
    assert order.state == State.RESOLVED
    with community_scope(cid):
        assert order.photos.filter(stage="result").count() == 1
    # A step the state no longer allows is refused with the Chinese message, nothing changes.
    again = tech.post(url, {"action": "start"})
    assert again.status_code == 409 and "不能" in again.content.decode()
    # The technician cannot dispatch (403); the regulator sees but cannot act.
    assert tech.post(url, {"action": "assign", "assign-assignee": world.user("technician").pk}).status_code == 403
    assert client_for(world, "regulator").post(url, {"action": "close"}).status_code == 403


def test_board_list_and_htmx_refresh(world):
    resident_report(world, category="noise", description="楼上噪音")
    order = resident_report(world, category="water", description="水管爆裂")
    manager = client_for(world, "manager_x")
    cid = world.a.community.pk
    board = manager.get(f"/console/c/{cid}/workorders/").content.decode()
    assert "hx-get" in board and f'data-order="{order.pk}"' in board
    partial = manager.get(f"/console/c/{cid}/workorders/", HTTP_HX_REQUEST="true").content.decode()
    assert partial.lstrip().startswith('<div class="wo-board"') and "<html" not in partial
    filtered = manager.get(f"/console/c/{cid}/workorders/list/?category=water").content.decode()
    assert f'data-order="{order.pk}"' in filtered and "楼上噪音" not in filtered
    by_number = manager.get(f"/console/c/{cid}/workorders/list/?q=%23{order.pk}").content.decode()
    assert f'data-order="{order.pk}"' in by_number


def test_staff_file_on_behalf_from_the_console(world):
    manager = client_for(world, "manager_x")
    cid = world.a.community.pk
    response = manager.post(
        f"/console/c/{cid}/workorders/new/",
        {
            "kind": "complaint",
            "category": "noise",
            "home": "1-1-101",
            "description": "来电投诉噪音",
            "contact_name": "李先生",
        },
    )
    assert response.status_code == 302
    with community_scope(cid):
        order = WorkOrder.objects.get()
    assert order.home_id == world.a.homes[0].pk and order.kind == "complaint" and order.state == State.ACCEPTED
    unknown = manager.post(
        f"/console/c/{cid}/workorders/new/",
        {"kind": "repair", "category": "noise", "home": "9-9-999", "description": "x"},
    )
    assert unknown.status_code == 200 and "1-1-101" in unknown.content.decode()


def test_resident_confirms_rates_and_steward_follows_up_in_pages(world):
    tech = world.user("technician")
    order = resident_report(world, category="noise")
    from anju.workorders import services

    with community_scope(order.community_id):
        services.assign_order(order=reload(order), assignee=tech, actor=world.user("manager_x"))
        services.start_order(order=reload(order), actor=tech)
        services.resolve_order(order=reload(order), note="已处理", actor=tech)
    resident = client_for(world, "resident_a")
    url = f"/portal/workorders/requests/{order.pk}/"
    assert 'value="rate"' in resident.get(url).content.decode()
    assert resident.post(url, {"action": "rate", "rate-rating": "2", "rate-comment": "太慢"}).status_code == 302
    order = reload(order)
    assert order.state == State.CLOSED and order.rating == 2
    assert client_for(world, "resident_b").get(url).status_code == 404
    steward = client_for(world, "steward")
    cid = world.a.community.pk
    with community_scope(cid):
        follow_up = FollowUp.objects.get(order=order)
    page = steward.get(f"/console/c/{cid}/workorders/follow-ups/").content.decode()
    assert f'data-follow-up="{follow_up.pk}"' in page
    done = steward.post(
        f"/console/c/{cid}/workorders/follow-ups/",
        {"follow_up": follow_up.pk, "outcome": "电话回访，已道歉", "resident_satisfied": "true"},
    )
    assert done.status_code == 302
    follow_up.refresh_from_db()
    assert follow_up.status == "done" and follow_up.resident_satisfied is True
    quality = client_for(world, "manager_x").get(f"/console/c/{cid}/workorders/quality/").content.decode()
    assert "technician" in quality and "0.0%" in quality  # one order, rated 2: nobody satisfied


def test_grab_from_my_jobs(world):
    other = add_technician(world, "grabber")
    order = resident_report(world, category="doors_locks")
    manager = client_for(world, "manager_x")
    cid = world.a.community.pk
    manager.post(f"/console/c/{cid}/workorders/{order.pk}/", {"action": "accept"})
    tech = client_for(world, "technician")
    assert f'data-order="{order.pk}"' in tech.get(f"/console/c/{cid}/workorders/mine/").content.decode()
    assert tech.post(f"/console/c/{cid}/workorders/{order.pk}/", {"action": "grab"}).status_code == 302
    late = Client()
    late.force_login(other)
    refused = late.post(f"/console/c/{cid}/workorders/{order.pk}/", {"action": "grab"})
    assert refused.status_code == 409
    assert reload(order).assignee == world.user("technician")
