"""Working calendars edited by managers (console page and API): office hours, public holidays and
make-up working days (调休) change the deadlines of orders reported afterwards, never of orders
already reported; bad input is refused in Chinese (page) or as a 4xx (API) and changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django import forms
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from anju.core.models import AuditEntry
from anju.core.tenancy import community_scope
from anju.workorders.forms import parse_days
from anju.workorders.models import Category, WorkingCalendar
from anju.workorders.sla import add_working_minutes
from tests.api.conftest import Api, assert_error

from .helpers import resident_report

pytestmark = pytest.mark.django_db


def test_days_are_read_one_by_one_or_as_runs() -> None:
    text = "2027-02-10~2027-02-12\n2027-10-01，2027-10-02 2027-05-01..2027-05-02、2027-06-09至2027-06-09"
    assert [d.isoformat() for d in parse_days(text)] == [
        "2027-02-10",
        "2027-02-11",
        "2027-02-12",
        "2027-10-01",
        "2027-10-02",
        "2027-05-01",
        "2027-05-02",
        "2027-06-09",
    ]
    assert parse_days("  ") == []
    for bad in ("2027-02-30", "明天", "2027-02-16~2027-02-10", "2027-01-01~2027-03-01"):
        with pytest.raises(forms.ValidationError):
            parse_days(bad)


def _manager_page(world) -> tuple[Client, str]:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(world.user("manager_x"))
    url = reverse("console:workorders_settings", args=[world.a.community.pk])
    assert client.get(url).status_code == 200  # creates the default categories and calendar
    return client, url


def _office(world) -> WorkingCalendar:  # type: ignore[no-untyped-def]
    with community_scope(world.a.community.pk):
        return Category.objects.select_related("calendar").get(code="greenery").calendar  # type: ignore[return-value]


def test_holidays_entered_on_the_page_move_the_next_orders_deadlines(world) -> None:  # type: ignore[no-untyped-def]
    client, url = _manager_page(world)
    office = _office(world)
    before = resident_report(world, category="greenery", description="草坪枯黄")
    today = timezone.localdate()
    run = f"{today}~{today + dt.timedelta(days=9)}"
    prefix = f"cal{office.pk}"
    form = {
        f"{prefix}-name": "办公时间",
        f"{prefix}-weekdays": ["0", "1", "2", "3", "4", "5", "6"],
        f"{prefix}-starts_at": "09:00",
        f"{prefix}-ends_at": "18:00",
        f"{prefix}-holidays": run,
        f"{prefix}-extra_workdays": "",
        "action": f"calendar:{office.pk}",
    }
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    office.refresh_from_db()
    assert office.holidays == [(today + dt.timedelta(days=n)).isoformat() for n in range(10)]
    assert (office.weekdays, office.starts_at) == ([0, 1, 2, 3, 4, 5, 6], dt.time(9))

    after = resident_report(world, category="greenery", description="树枝挡路")
    first_working_moment = timezone.make_aware(dt.datetime.combine(today + dt.timedelta(days=10), dt.time(9)))
    assert after.response_due_at > first_working_moment
    assert after.response_due_at == add_working_minutes(after.created_at, 24 * 60, office)
    before.refresh_from_db()
    assert before.response_due_at < first_working_moment  # reported earlier: its deadline stands
    entry = AuditEntry.objects.get(action="workorders.save_calendar")
    assert entry.after["holidays"] == office.holidays and entry.before["starts_at"] == "08:30:00"


def test_a_new_calendar_and_refusals_in_chinese(world) -> None:  # type: ignore[no-untyped-def]
    client, url = _manager_page(world)
    office = _office(world)
    form = {
        "calnew-name": "物业全天",
        "calnew-weekdays": ["0", "1", "2", "3", "4", "5"],
        "calnew-starts_at": "07:00",
        "calnew-ends_at": "21:00",
        "calnew-holidays": "2027-02-10~2027-02-16",
        "calnew-extra_workdays": "2027-02-07",
        "action": "calendar:new",
    }
    assert client.post(url, form).status_code == 302
    with community_scope(world.a.community.pk):
        created = WorkingCalendar.objects.get(name="物业全天")
    assert (len(created.holidays), created.extra_workdays) == (7, ["2027-02-07"])

    refusals = [
        ({"calnew-holidays": "2027-02-30"}, "无法识别"),
        ({"calnew-ends_at": "06:00"}, "工作日的结束时间必须晚于开始时间"),
        ({"calnew-extra_workdays": "2027-02-10"}, "不能既是节假日又是工作日"),
        ({"calnew-name": office.name}, "已有同名的日历"),
        ({"calnew-weekdays": []}, "这个字段是必填项"),
    ]
    for change, message in refusals:
        page = client.post(url, {**form, "calnew-name": "夜班", **change})
        assert page.status_code == 200 and message in page.content.decode(), (change, message)
    with community_scope(world.a.community.pk):
        assert sorted(WorkingCalendar.objects.values_list("name", flat=True)) == sorted([office.name, "物业全天"])
    assert AuditEntry.objects.filter(action="workorders.save_calendar").count() == 1


def test_calendars_over_the_api(world) -> None:  # type: ignore[no-untyped-def]
    manager = Api(world, "manager_x")
    base = f"/communities/{world.a.community.pk}/workorders/settings"
    assert manager.get(base).status_code == 200
    body = {
        "name": "夜间值班",
        "weekdays": [0, 1, 2, 3, 4, 5, 6],
        "starts_at": "20:00",
        "ends_at": "23:00",
        "holidays": ["2027-01-01"],
        "extra_workdays": [],
    }
    created = manager.post(base + "/calendars", body)
    assert created.status_code == 201, created.content
    calendar_id = created.json()["id"]
    replaced = manager.call(
        "put", f"{base}/calendars/{calendar_id}", {**body, "holidays": ["2027-01-02", "2027-01-01"]}
    )
    assert replaced.status_code == 200 and replaced.json()["holidays"] == ["2027-01-01", "2027-01-02"]
    assert calendar_id in {c["id"] for c in manager.get(base).json()["calendars"]}

    assert_error(manager.call("put", f"{base}/calendars/{calendar_id}", {**body, "ends_at": "19:00"}), 400)
    assert_error(manager.post(base + "/calendars", {**body, "weekdays": [7]}), 400)
    assert_error(manager.post(base + "/calendars", {**body, "holidays": ["2027-13-01"]}), 422)
    assert_error(manager.call("put", f"{base}/calendars/999999", body), 404)
    with community_scope(world.a.community.pk):
        assert WorkingCalendar.objects.get(pk=calendar_id).holidays == ["2027-01-01", "2027-01-02"]
    for persona in ("steward", "technician", "resident_a", "manager_y"):
        refused = Api(world, persona).post(base + "/calendars", {**body, "name": persona})
        assert refused.status_code in (403, 404), (persona, refused.status_code)
    with community_scope(world.a.community.pk):
        assert not WorkingCalendar.objects.filter(
            name__in=["steward", "technician", "resident_a", "manager_y"]
        ).exists()
