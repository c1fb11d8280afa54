"""The console pages for the access settings and the staff shifts: a change made on a page takes
effect in the rule (online and on a synced controller), bad input is a Chinese form error that
stores nothing, and only those who manage access change anything."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from anju.access import services, sync
from anju.access.events import decide_online
from anju.access.models import AccessSettings, StaffShift
from anju.core.models import AuditEntry
from anju.core.tenancy import community_scope
from tests.personas import World

from .conftest import Doors, synced_controller

pytestmark = pytest.mark.django_db

CARD = "7E7E7E7E"


def client_for(world: World, persona: str) -> Client:
    client = Client()
    client.force_login(world.user(persona))
    return client


def local_moment(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=timezone.get_current_timezone())


def next_monday() -> dt.date:
    """A Monday a week or so ahead of today (the weekday, not the date, is what the tests need)."""
    today = timezone.localdate()
    return today + dt.timedelta(days=7 - today.weekday())


def test_manager_changes_access_settings_and_they_take_effect(world: World) -> None:
    cid = world.a.community.pk
    url = f"/console/c/{cid}/access/settings/"
    manager = client_for(world, "manager_x")
    page = manager.get(url).content.decode()
    assert 'data-setting="qr_lifetime_seconds">60<' in page and "保留" in page
    response = manager.post(
        url,
        {
            "log_retention_days": "90",
            "qr_lifetime_seconds": "120",
            "denial_alarm_threshold": "3",
            "denial_alarm_window_minutes": "5",
        },
    )
    assert response.status_code == 302
    with community_scope(cid):
        row = AccessSettings.objects.get()
        assert (row.log_retention_days, row.denial_alarm_threshold, row.denial_alarm_window_minutes) == (90, 3, 5)
        credential = services.ensure_qr_credential(world.a.people[0], actor=None)
        _token, lifetime = services.resident_qr(credential)
    assert lifetime == 120  # residents' QR codes now live two minutes
    assert AuditEntry.objects.filter(action="access.settings.update").count() == 1

    # Out of range: a Chinese error on the field, nothing stored.
    audit = AuditEntry.objects.count()
    bad = manager.post(
        url,
        {
            "log_retention_days": "0",
            "qr_lifetime_seconds": "5",
            "denial_alarm_threshold": "3",
            "denial_alarm_window_minutes": "5",
        },
    )
    body = bad.content.decode()
    assert bad.status_code == 200 and "确保该值大于或等于15" in body and "确保该值大于或等于1。" in body
    with community_scope(cid):
        assert AccessSettings.objects.get().qr_lifetime_seconds == 120
    assert AuditEntry.objects.count() == audit

    # A steward may look but not change; a resident does not get the page at all.
    steward = client_for(world, "steward")
    assert steward.get(url).status_code == 200 and '<form method="post">' not in steward.get(url).content.decode()
    refused = steward.post(
        url,
        {
            "log_retention_days": "1",
            "qr_lifetime_seconds": "15",
            "denial_alarm_threshold": "2",
            "denial_alarm_window_minutes": "1",
        },
    )
    assert refused.status_code == 403
    assert client_for(world, "resident_a").get(url).status_code in (403, 404)
    with community_scope(cid):
        assert AccessSettings.objects.get().log_retention_days == 90
    assert AuditEntry.objects.count() == audit


def _shift_form(**values: object) -> dict[str, object]:
    form: dict[str, object] = {
        "action": "set",
        "door_kinds": ["gate"],
        "weekdays": [str(day) for day in range(7)],
        "start_time": "22:00",
        "end_time": "06:00",
    }
    form.update(values)
    return form


def test_shifts_set_edit_and_end_on_the_console_take_effect_in_the_rule(world: World, doors: Doors) -> None:
    cid = world.a.community.pk
    url = f"/console/c/{cid}/access/shifts/"
    manager = client_for(world, "manager_x")
    services.issue_credential(
        community=world.a.community, kind="card", user=world.user("technician"), card_number=CARD, actor=None
    )
    monday = next_monday()
    monday_night = local_moment(monday, 23, 30)
    tuesday_night = local_moment(monday + dt.timedelta(days=1), 23, 30)
    tuesday_early = local_moment(monday + dt.timedelta(days=1), 2, 0)  # still Monday's overnight shift
    with community_scope(cid):
        assert decide_online(doors.gate, card=CARD, at=monday_night).reason == "outside_shift"  # default 07–21
    page = manager.get(url).content.decode()
    assert 'data-role="technician"' in page and "07:00–21:00" in page

    # Set: technicians at the gates overnight, every day.
    assert manager.post(url, _shift_form(role="technician")).status_code == 302
    with community_scope(cid):
        shift = StaffShift.objects.get(role="technician", ends_at__isnull=True)
        assert decide_online(doors.gate, card=CARD, at=monday_night).allowed
        assert decide_online(doors.entrance, card=CARD, at=monday_night).reason == "no_right"
        assert StaffShift.objects.filter(role="technician", ends_at__isnull=False).count() == 1  # the default, kept

    # Edit: Mondays only (the role is fixed by the shift being edited).
    edit_url = f"/console/c/{cid}/access/shifts/{shift.pk}/"
    edit_page = manager.get(edit_url).content.decode()
    assert 'name="role"' not in edit_page and 'value="22:00"' in edit_page
    assert manager.post(edit_url, _shift_form(weekdays=["0"])).status_code == 302
    with community_scope(cid):
        edited = StaffShift.objects.get(role="technician", ends_at__isnull=True)
        assert edited.weekdays == 0b0000001
        assert decide_online(doors.gate, card=CARD, at=monday_night).allowed
        assert decide_online(doors.gate, card=CARD, at=tuesday_early).allowed
        assert decide_online(doors.gate, card=CARD, at=tuesday_night).reason == "outside_shift"
    # The controller, after syncing, decides the same offline.
    controller = synced_controller(doors)
    assert controller.present_card(CARD, doors.gate.pk, int(monday_night.timestamp())).allowed
    assert not controller.present_card(CARD, doors.gate.pk, int(tuesday_night.timestamp())).allowed
    # The ended shift is history now: it cannot be edited.
    assert manager.get(edit_url).status_code == 404

    # End: technicians open nothing.
    assert manager.post(url, {"action": "end", "staff_shift": edited.pk}).status_code == 302
    with community_scope(cid):
        assert not StaffShift.objects.filter(role="technician", ends_at__isnull=True).exists()
        assert not decide_online(doors.gate, card=CARD, at=monday_night).allowed
    assert not synced_controller(doors).present_card(CARD, doors.gate.pk, int(monday_night.timestamp())).allowed
    assert AuditEntry.objects.filter(action="access.shift.end", object_id=str(edited.pk)).count() == 1
    # Ending it again is told, not a crash, and writes nothing.
    again = manager.post(url, {"action": "end", "staff_shift": edited.pk}, follow=True)
    assert again.status_code == 200 and "已经结束" in again.content.decode()
    assert AuditEntry.objects.filter(action="access.shift.end").count() == 1


def test_bad_shift_input_is_a_chinese_form_error_and_changes_nothing(world: World) -> None:
    cid = world.a.community.pk
    url = f"/console/c/{cid}/access/shifts/"
    manager = client_for(world, "manager_x")
    with community_scope(cid):
        sync.access_settings(cid)
        before = list(StaffShift.objects.values_list("pk", "ends_at"))
    audit = AuditEntry.objects.count()
    cases = [
        (_shift_form(role="technician", door_kinds=[]), "这个字段是必填项"),
        (_shift_form(role="technician", weekdays=[]), "这个字段是必填项"),
        (_shift_form(role="technician", start_time="25:00"), "输入一个有效的时间"),
        (_shift_form(role="technician", door_kinds=["window"]), "选择一个有效的选项"),
        (_shift_form(role="resident"), "选择一个有效的选项"),
    ]
    for form, message in cases:
        response = manager.post(url, form)
        assert response.status_code == 200 and message in response.content.decode(), form
    with community_scope(cid):
        assert list(StaffShift.objects.values_list("pk", "ends_at")) == before
    assert AuditEntry.objects.count() == audit


def test_only_managers_change_shifts(world: World) -> None:
    cid = world.a.community.pk
    url = f"/console/c/{cid}/access/shifts/"
    with community_scope(cid):
        sync.access_settings(cid)
        guard_shift = StaffShift.objects.get(role="guard", ends_at__isnull=True)
    steward = client_for(world, "steward")
    page = steward.get(url)
    assert page.status_code == 200 and 'name="door_kinds"' not in page.content.decode()
    assert steward.post(url, _shift_form(role="steward", door_kinds=["garage"])).status_code == 403
    assert steward.post(url, {"action": "end", "staff_shift": guard_shift.pk}).status_code == 403
    assert steward.post(f"{url}{guard_shift.pk}/", _shift_form()).status_code == 403
    resident = client_for(world, "resident_a")
    assert resident.get(url).status_code in (403, 404)
    assert resident.post(url, {"action": "end", "staff_shift": guard_shift.pk}).status_code in (403, 404)
    with community_scope(cid):
        assert StaffShift.objects.filter(ends_at__isnull=False).count() == 0
    # The manager's console menu links to both pages.
    manager_page = client_for(world, "manager_x").get(f"/console/c/{cid}/access/").content.decode()
    assert f"/console/c/{cid}/access/shifts/" in manager_page and f"/console/c/{cid}/access/settings/" in manager_page
