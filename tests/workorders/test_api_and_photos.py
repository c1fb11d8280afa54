"""The API (staff and /me), photo checks and storage, and refusals in the {code, message} shape."""

from __future__ import annotations

import io

import pytest
from django.core.files.storage import default_storage
from django.test import Client
from PIL import Image

from anju.core.tenancy import community_scope
from anju.workorders.models import State, WorkOrder, WorkOrderPhoto

from .helpers import image_bytes, reload, resident_report, upload

pytestmark = pytest.mark.django_db


def client_for(world, persona: str) -> Client:
    client = Client()
    client.force_login(world.user(persona))
    return client


def test_resident_reports_over_the_api_and_adds_photos(world, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }
    client = client_for(world, "resident_a")
    community = world.a.community
    categories = client.get("/api/v1/me/workorders/categories").json()
    assert {"water", "lift"} <= {c["code"] for c in categories}
    response = client.post(
        "/api/v1/me/workorders",
        {
            "community_id": community.pk,
            "category": "water",
            "description": "卫生间漏水",
            "home_id": world.a.homes[0].pk,
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    order = response.json()
    assert order["state"] == "submitted" and order["events"][0]["kind"] == "created"
    photos = [upload("a.png"), upload("b.jpg", image_bytes("JPEG"), "image/jpeg")]
    response = client.post(f"/api/v1/me/workorders/{order['id']}/photos", {"photos": photos})
    assert response.status_code == 200, response.content
    assert [p["content_type"] for p in response.json()["photos"]] == ["image/png", "image/jpeg"]
    with community_scope(community.pk):
        stored = list(WorkOrderPhoto.objects.filter(order_id=order["id"]))
    assert all(default_storage.exists(p.file.name) for p in stored)
    assert all(p.file.name.startswith(f"workorders/{community.pk}/") for p in stored)
    # The photo is served to the reporter through the portal, never as a public URL.
    assert client.get(f"/portal/workorders/photos/{stored[0].pk}/").status_code == 200
    assert client_for(world, "resident_b").get(f"/portal/workorders/photos/{stored[0].pk}/").status_code == 404
    listed = client.get("/api/v1/me/workorders").json()
    assert [o["id"] for o in listed["items"]] == [order["id"]]
    # Another resident neither sees nor touches it.
    other = client_for(world, "resident_b")
    assert other.get(f"/api/v1/me/workorders/{order['id']}").status_code == 404
    assert other.post(f"/api/v1/me/workorders/{order['id']}/confirm").status_code == 404


def test_photos_refused_when_not_images_too_big_or_too_many(world, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(tmp_path)}},
    }
    settings.ANJU_WORKORDER_PHOTO_MAX_BYTES = 50_000
    client = client_for(world, "resident_a")
    order = resident_report(world)
    url = f"/api/v1/me/workorders/{order.pk}/photos"
    not_image = client.post(url, {"photos": [upload("x.png", b"%PDF-1.4 not a picture")]})
    assert not_image.status_code == 400 and not_image.json()["code"] == "photo_not_image"
    big = io.BytesIO()
    Image.effect_noise((400, 400), 100).convert("RGB").save(big, format="PNG")
    assert len(big.getvalue()) > 50_000
    too_big = client.post(url, {"photos": [upload("big.png", big.getvalue())]})
    assert too_big.status_code == 400 and too_big.json()["code"] == "photo_too_large"
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, format="GIF")
    assert (
        client.post(url, {"photos": [upload("x.gif", gif.getvalue(), "image/gif")]}).json()["code"] == "photo_not_image"
    )
    too_many = client.post(url, {"photos": [upload(f"{i}.png") for i in range(7)]})
    assert too_many.status_code == 400 and too_many.json()["code"] == "too_many_photos"
    with community_scope(order.community_id):
        assert not WorkOrderPhoto.objects.filter(order=order).exists()
    assert not list(tmp_path.rglob("*.png"))


def test_staff_api_dispatch_work_and_resident_rating(world):
    manager, tech = client_for(world, "manager_x"), client_for(world, "technician")
    cid = world.a.community.pk
    order = resident_report(world, category="noise")
    base = f"/api/v1/communities/{cid}/workorders"
    board = manager.get(f"{base}/board").json()
    assert next(c for c in board if c["state"] == "submitted")["count"] == 1
    response = manager.post(
        f"{base}/{order.pk}/assign", {"assignee_id": world.user("technician").pk}, content_type="application/json"
    )
    assert response.status_code == 200 and response.json()["state"] == "assigned", response.content
    # The technician may not dispatch; the manager may not start someone else's job.
    assert (
        tech.post(f"{base}/{order.pk}/assign", {"assignee_id": 1}, content_type="application/json").status_code == 403
    )
    refused = manager.post(f"{base}/{order.pk}/start")
    assert refused.status_code == 403 and set(refused.json()) >= {"code", "message"}
    assert tech.post(f"{base}/{order.pk}/start").json()["state"] == "in_progress"
    illegal = tech.post(f"{base}/{order.pk}/start")
    assert illegal.status_code == 409 and illegal.json()["code"] == "illegal_transition"
    assert "不能" in illegal.json()["message"]
    done = tech.post(f"{base}/{order.pk}/resolve", {"note": "已处理"}, content_type="application/json")
    assert done.json()["state"] == "resolved"
    resident = client_for(world, "resident_a")
    rated = resident.post(
        f"/api/v1/me/workorders/{order.pk}/rate", {"rating": 4, "comment": "好"}, content_type="application/json"
    )
    assert rated.status_code == 200 and rated.json()["state"] == "closed" and rated.json()["rating"] == 4
    listed = manager.get(f"{base}?state=closed").json()
    assert [o["id"] for o in listed["items"]] == [order.pk]
    assert manager.get(f"{base}?state=open").json()["count"] == 0


def test_staff_file_on_behalf_and_foreign_ids_are_404(world):
    manager = client_for(world, "manager_x")
    cid = world.a.community.pk
    response = manager.post(
        f"/api/v1/communities/{cid}/workorders",
        {"category": "lift", "description": "2号楼电梯异响", "home_id": world.b.homes[0].pk},
        content_type="application/json",
    )
    assert response.status_code == 404 and response.json()["field"] == "home_id"
    response = manager.post(
        f"/api/v1/communities/{cid}/workorders",
        {"category": "lift", "description": "2号楼电梯异响", "home_id": world.a.homes[1].pk, "contact_name": "王阿姨"},
        content_type="application/json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["state"] == "accepted" and body["source"] == "staff" and body["priority"] == "urgent"
    unknown = manager.post(
        f"/api/v1/communities/{cid}/workorders",
        {"category": "nope", "description": "x"},
        content_type="application/json",
    )
    assert unknown.status_code == 400 and unknown.json()["code"] == "unknown_category"
    with community_scope(cid):
        assert WorkOrder.objects.count() == 1


def test_grab_over_the_api_and_resident_dispute(world):
    tech = client_for(world, "technician")
    cid = world.a.community.pk
    order = resident_report(world, category="doors_locks", description="门锁卡住")
    manager = client_for(world, "manager_x")
    manager.post(f"/api/v1/communities/{cid}/workorders/{order.pk}/accept", {}, content_type="application/json")
    grabbed = tech.post(f"/api/v1/communities/{cid}/workorders/{order.pk}/grab")
    assert grabbed.status_code == 200 and grabbed.json()["assignee"] == "technician"
    again = tech.post(f"/api/v1/communities/{cid}/workorders/{order.pk}/grab")
    assert again.status_code == 409
    tech.post(f"/api/v1/communities/{cid}/workorders/{order.pk}/start")
    tech.post(
        f"/api/v1/communities/{cid}/workorders/{order.pk}/resolve", {"note": "上油"}, content_type="application/json"
    )
    resident = client_for(world, "resident_a")
    disputed = resident.post(
        f"/api/v1/me/workorders/{order.pk}/dispute", {"reason": "还是卡"}, content_type="application/json"
    )
    assert disputed.status_code == 200 and disputed.json()["state"] == State.REOPENED
    assert reload(order).reopen_count == 1
