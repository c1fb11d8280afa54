"""The console pages and the API: the printed QR code leads to a scan page that checks in; codes
are only shown to managers; foreign tokens and forged codes are refused."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
import zxingcpp
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from anju.core.services import issue_api_token
from anju.core.tenancy import community_scope
from anju.workorders.preventive import services
from anju.workorders.preventive.models import CheckIn, InspectionPlan, MaintenancePlan, Round, Route

from .conftest import Patrol, make_patrol


@pytest.fixture
def live_patrol(world) -> tuple[Patrol, Round]:
    """A patrol whose round is open right now (the pages use the real clock): the window opens an
    hour ago and lasts three hours, on whichever local day it opened."""
    opens = timezone.localtime() - dt.timedelta(hours=1)
    closes = opens + dt.timedelta(hours=3)
    with community_scope(world.a.community.pk):
        patrol = make_patrol(
            world,
            window=(opens.time().replace(second=0, microsecond=0), closes.time().replace(second=0, microsecond=0)),
            starts_on=opens.date(),
        )
        services.generate_rounds(now=opens - dt.timedelta(minutes=1))
        round_ = Round.objects.get(plan=patrol.plan, day=opens.date())
    assert round_.is_open_at(timezone.now())
    return patrol, round_


def client_for(world, persona: str) -> Client:
    client = Client()
    client.force_login(world.user(persona))
    return client


def png_bytes(colour: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_printed_qr_code_leads_to_a_check_in(world, live_patrol) -> None:
    patrol, round_ = live_patrol
    cid = world.a.community.pk
    point = patrol.points[1]
    manager = client_for(world, "manager_x")
    png = manager.get(reverse("console:preventive_point_qr", args=[cid, point.pk]))
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert len(decoded) == 1
    url = decoded[0].text
    assert url == f"http://testserver/console/c/{cid}/preventive/scan/{point.token}/"

    guard = client_for(world, "guard")
    page = guard.get(url)
    assert page.status_code == 200
    assert point.name in page.content.decode()
    response = guard.post(url, {"token": point.token, "round_id": round_.pk, "result": "ok", "note": ""})
    assert response.status_code == 302
    assert response["Location"] == reverse("console:preventive_round", args=[cid, round_.pk])
    with community_scope(cid):
        checkin = CheckIn.objects.get()
    assert (checkin.point, checkin.round, checkin.method, checkin.checked_by) == (
        point,
        round_,
        "scan",
        world.user("guard"),
    )
    again = guard.get(url)
    assert "data-no-round" in again.content.decode()  # nothing left to do here


def test_the_sticker_sheet_shows_every_active_point_with_its_code_to_managers_only(world, live_patrol) -> None:
    patrol, _ = live_patrol
    cid = world.a.community.pk
    url = reverse("console:preventive_route_sheet", args=[cid, patrol.route.pk])
    sheet = client_for(world, "manager_x").get(url).content.decode()
    assert sheet.count("<svg") == 3
    for point in patrol.points:
        assert point.code_for_typing in sheet
    assert client_for(world, "guard").get(url).status_code == 403
    route_page = client_for(world, "guard").get(reverse("console:preventive_route", args=[cid, patrol.route.pk]))
    assert route_page.status_code == 200
    assert all(point.token not in route_page.content.decode() for point in patrol.points)


def test_a_foreign_or_made_up_token_in_the_scan_url_is_a_404(world, live_patrol) -> None:
    cid = world.a.community.pk
    with community_scope(world.b.community.pk):
        route_b = services.create_route(community=world.b.community, name="B", actor=None)
        foreign = services.add_point(route=route_b, name="B1", actor=None)
    guard = client_for(world, "guard")
    for token in (foreign.token, "ZZZZZZZZZZZZZZZZ"):
        assert guard.get(reverse("console:preventive_scan", args=[cid, token])).status_code == 404


def test_tapping_a_point_and_typing_a_wrong_code_is_refused_on_the_form(world, live_patrol) -> None:
    patrol, round_ = live_patrol
    cid = world.a.community.pk
    url = reverse("console:preventive_round", args=[cid, round_.pk])
    guard = client_for(world, "guard")
    response = guard.post(url, {"point": patrol.points[0].pk, "token": "WRONG-CODE", "result": "ok"})
    assert response.status_code == 200
    assert "该编码不属于本路线的点位" in response.content.decode()
    response = guard.post(
        url, {"point": patrol.points[0].pk, "token": patrol.points[0].code_for_typing, "result": "ok"}
    )
    assert response.status_code == 302
    with community_scope(cid):
        assert CheckIn.objects.get().method == "typed"


def test_a_photo_must_be_an_image(world, live_patrol) -> None:
    patrol, round_ = live_patrol
    cid = world.a.community.pk
    url = reverse("console:preventive_round", args=[cid, round_.pk])
    guard = client_for(world, "guard")
    fake = SimpleUploadedFile("x.jpg", b"not an image at all", content_type="image/jpeg")
    response = guard.post(
        url, {"point": patrol.points[0].pk, "token": patrol.points[0].token, "result": "ok", "photo": fake}
    )
    assert response.status_code == 200 and "无法识别该照片" in response.content.decode()
    with community_scope(cid):
        assert CheckIn.objects.count() == 0
    real = SimpleUploadedFile("x.png", png_bytes(), content_type="image/png")
    response = guard.post(
        url, {"point": patrol.points[0].pk, "token": patrol.points[0].token, "result": "ok", "photo": real}
    )
    assert response.status_code == 302
    with community_scope(cid):
        assert CheckIn.objects.get().photo.name.startswith("preventive/")


def test_managers_create_routes_points_and_plans_in_the_console(world) -> None:
    cid = world.a.community.pk
    manager = client_for(world, "manager_x")
    response = manager.post(reverse("console:preventive_routes", args=[cid]), {"name": "地库巡查", "description": ""})
    assert response.status_code == 302
    with community_scope(cid):
        route = Route.objects.get(name="地库巡查")
    response = manager.post(
        reverse("console:preventive_route", args=[cid, route.pk]),
        {"action": "add_point", "name": "B1 入口", "building": world.a.buildings[1].pk},
    )
    assert response.status_code == 302
    response = manager.post(
        reverse("console:preventive_plans", args=[cid]),
        {
            "name": "地库周检",
            "route": route.pk,
            "starts_on": "2030-03-01",
            "frequency": "weekly",
            "weekdays": ["1", "4"],
            "window_start": "22:00",
            "window_end": "02:00",
            "assignee_role": "guard",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    with community_scope(cid):
        plan = InspectionPlan.objects.get(name="地库周检")
        schedule = plan.schedules.get()
    assert schedule.weekdays == [1, 4] and schedule.rule().overnight
    # A steward may look but not configure.
    steward = client_for(world, "steward")
    assert steward.get(reverse("console:preventive_plans", args=[cid])).status_code == 200
    assert steward.post(reverse("console:preventive_routes", args=[cid]), {"name": "x"}).status_code == 403


def test_the_plan_form_shows_refusals_in_chinese(world) -> None:
    cid = world.a.community.pk
    with community_scope(cid):
        route = services.create_route(community=world.a.community, name="r", actor=None)
    response = client_for(world, "manager_x").post(
        reverse("console:preventive_plans", args=[cid]),
        {
            "name": "x",
            "route": route.pk,
            "starts_on": "2030-03-01",
            "frequency": "weekly",
            "window_start": "08:00",
            "window_end": "09:00",
            "assignee_role": "guard",
        },
    )
    assert response.status_code == 200
    assert "每周计划至少选择一天" in response.content.decode()


def test_the_api_checks_in_and_refuses_forged_tokens(world, live_patrol) -> None:
    patrol, round_ = live_patrol
    cid = world.a.community.pk
    _, secret = issue_api_token(user=world.user("guard"), name="patrol app", actor=world.user("guard"))
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    client = Client()
    listed = client.get(f"/api/v1/communities/{cid}/preventive/rounds?day={round_.day.isoformat()}", **auth).json()
    assert [item["id"] for item in listed["items"]] == [round_.pk]
    detail = client.get(f"/api/v1/communities/{cid}/preventive/rounds/{round_.pk}", **auth).json()
    assert [p["name"] for p in detail["points"]] == ["南门", "泵房", "电梯机房"]
    assert "token" not in json.dumps(detail)
    url = f"/api/v1/communities/{cid}/preventive/rounds/{round_.pk}/checkins"
    forged = client.post(
        url, data={"token": "ABCDABCDABCDABCD", "result": "ok"}, content_type="application/json", **auth
    )
    assert forged.status_code == 400 and forged.json()["code"] == "wrong_point"
    good = client.post(
        url, data={"token": patrol.points[0].token, "result": "ok"}, content_type="application/json", **auth
    )
    assert good.status_code == 201
    assert good.json()["round"]["points_checked"] == 1 and good.json()["round"]["state"] == "in_progress"
    twice = client.post(
        url, data={"token": patrol.points[0].token, "result": "ok"}, content_type="application/json", **auth
    )
    assert twice.status_code == 409 and twice.json()["code"] == "already_checked"


def test_maintenance_list_flags_statutory_plans_and_refuses_a_longer_interval(world) -> None:
    cid = world.a.community.pk
    with community_scope(cid):
        patrol = make_patrol(world)
    manager = client_for(world, "manager_x")
    response = manager.post(
        reverse("console:preventive_maintenance", args=[cid]),
        {
            "name": "电梯维保",
            "kind": "lift_maintenance",
            "common_part": patrol.lift.pk,
            "first_due_on": "2030-06-01",
            "every": "20",
            "unit": "days",
        },
    )
    assert response.status_code == 200 and "TSG T5002" in response.content.decode()
    with community_scope(cid):
        assert not MaintenancePlan.objects.exists()


def test_the_rounds_page_shows_any_day_and_the_missed_ones(world, patrol) -> None:
    services.generate_rounds(now=dt.datetime(2030, 3, 9, 22, 0, tzinfo=dt.UTC))  # 06:00 on the 10th in Shanghai
    services.flag_missed_rounds(now=dt.datetime(2030, 3, 10, 3, 0, tzinfo=dt.UTC))
    cid = world.a.community.pk
    guard = client_for(world, "guard")
    with community_scope(cid):
        missed = Round.objects.get(day=dt.date(2030, 3, 10))
        upcoming = Round.objects.get(day=dt.date(2030, 3, 11))
    page = guard.get(reverse("console:preventive_rounds", args=[cid]), {"day": "2030-03-11"}).content.decode()
    assert f'data-round="{upcoming.pk}" data-state="scheduled"' in page
    assert f'<tr data-round="{missed.pk}">' in page  # in the missed list
    today = guard.get(reverse("console:preventive_rounds", args=[cid]), {"day": "not-a-day"})
    assert today.status_code == 200 and f'data-round="{upcoming.pk}" data-state' not in today.content.decode()


def test_a_night_round_begun_yesterday_and_still_open_is_on_todays_list(world, live_patrol) -> None:
    """A 22:00-02:00 round seen at 00:10 belongs to yesterday's schedule, yet it is what the guard is
    walking now: today's page and today's API list show it. (The round is moved to yesterday in the
    database so the case holds whatever hour the suite runs.)"""
    _patrol, round_ = live_patrol
    cid = world.a.community.pk
    today = timezone.localdate()
    with community_scope(cid):
        Round.objects.filter(pk=round_.pk).update(day=today - dt.timedelta(days=1))
    guard = client_for(world, "guard")
    page = guard.get(reverse("console:preventive_rounds", args=[cid])).content.decode()
    assert f'data-round="{round_.pk}"' in page
    tomorrow = guard.get(reverse("console:preventive_rounds", args=[cid]), {"day": str(today + dt.timedelta(days=1))})
    assert f'data-round="{round_.pk}"' not in tomorrow.content.decode()
    _, secret = issue_api_token(user=world.user("guard"), name="phone", actor=world.user("guard"))
    listed = Client().get(f"/api/v1/communities/{cid}/preventive/rounds", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert round_.pk in [r["id"] for r in listed.json()["items"]]  # with today's own round, after midnight
    with community_scope(cid):
        Round.objects.filter(pk=round_.pk).update(window_ends_at=timezone.now() - dt.timedelta(minutes=1))
    assert (
        f'data-round="{round_.pk}"' not in guard.get(reverse("console:preventive_rounds", args=[cid])).content.decode()
    )


def test_plan_page_changes_the_schedule_from_a_day_and_pauses(world, patrol) -> None:
    cid = world.a.community.pk
    url = reverse("console:preventive_plan", args=[cid, patrol.plan.pk])
    manager = client_for(world, "manager_x")
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    response = manager.post(
        url,
        {
            "action": "change",
            "effective_from": tomorrow.isoformat(),
            "frequency": "monthly",
            "month_days": "1，15",
            "window_start": "09:00",
            "window_end": "11:00",
            "assignee_role": "guard",
        },
    )
    assert response.status_code == 302
    with community_scope(cid):
        added = patrol.plan.schedules.get(effective_from=tomorrow)
        assert patrol.plan.schedules.count() == 2
    assert added.frequency == "monthly" and added.month_days == [1, 15]
    page = manager.get(url).content.decode()
    assert page.count("data-schedule=") == 2
    yesterday = manager.post(
        url,
        {
            **{"action": "change"},
            "effective_from": "2000-01-01",
            "frequency": "daily",
            "window_start": "09:00",
            "window_end": "11:00",
            "assignee_role": "guard",
        },
    )
    assert yesterday.status_code == 200 and "新排班最早从今天开始" in yesterday.content.decode()
    assert manager.post(url, {"action": "pause"}).status_code == 302
    with community_scope(cid):
        patrol.plan.refresh_from_db()
    assert not patrol.plan.active


def test_maintenance_pages_show_next_due_and_take_a_new_interval(world, patrol) -> None:
    cid = world.a.community.pk
    manager = client_for(world, "manager_x")
    first_due = timezone.localdate() + dt.timedelta(days=30)
    response = manager.post(
        reverse("console:preventive_maintenance", args=[cid]),
        {
            "name": "电梯维保",
            "kind": "lift_maintenance",
            "common_part": patrol.lift.pk,
            "first_due_on": first_due.isoformat(),
        },
    )
    assert response.status_code == 302
    with community_scope(cid):
        plan = MaintenancePlan.objects.get(name="电梯维保")
    listing = manager.get(reverse("console:preventive_maintenance", args=[cid])).content.decode()
    assert f'data-plan="{plan.pk}" data-overdue="0"' in listing and first_due.isoformat() in listing
    url = reverse("console:preventive_maintenance_plan", args=[cid, plan.pk])
    new_first = first_due + dt.timedelta(days=5)
    response = manager.post(url, {"first_due_on": new_first.isoformat(), "every": "10", "unit": "days"})
    assert response.status_code == 302
    longer = manager.post(
        url, {"first_due_on": (new_first + dt.timedelta(days=1)).isoformat(), "every": "1", "unit": "months"}
    )
    assert longer.status_code == 200 and "TSG T5002" in longer.content.decode()
    with community_scope(cid):
        assert [(s.every, s.unit) for s in plan.schedules.order_by("effective_from")] == [(15, "days"), (10, "days")]


def test_retiring_a_route_stops_its_rounds_and_keeps_history(world, patrol) -> None:
    services.generate_rounds(now=dt.datetime(2030, 3, 9, 22, 0, tzinfo=dt.UTC))  # 06:00 on the 10th
    cid = world.a.community.pk
    url = reverse("console:preventive_route", args=[cid, patrol.route.pk])
    assert client_for(world, "guard").post(url, {"action": "retire"}).status_code == 403
    assert client_for(world, "manager_x").post(url, {"action": "retire"}).status_code == 302
    with community_scope(cid):
        assert set(Round.objects.filter(route=patrol.route).values_list("state", flat=True)) == {"cancelled"}
    assert services.generate_rounds(now=dt.datetime(2030, 3, 9, 22, 0, tzinfo=dt.UTC)) == 0
    page = client_for(world, "manager_x").get(url).content.decode()
    assert "data-retired" in page
