"""Finance pages, the resident portal, the API and the verify_ledger command, end to end."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from anju.billing import services
from anju.billing.models import Bill, BillRun, Credit, Reading
from anju.core.models import ApiToken
from anju.core.services import issue_api_token
from anju.core.tenancy import community_scope
from anju.residents import stewards

from .conftest import PERIOD, water_meter

pytestmark = pytest.mark.django_db


def client_for(world, persona: str) -> Client:
    client = Client()
    client.force_login(world.user(persona))
    return client


def test_finance_previews_and_issues_a_run_from_the_pages(billing, django_capture_on_commit_callbacks):
    world = billing.world
    cid = billing.community_id
    client = client_for(world, "finance")
    response = client.post(reverse("console:billing_runs", args=[cid]), {"period": "2026-09"})
    assert response.status_code == 302
    with community_scope(cid):
        run = BillRun.objects.get(period=PERIOD)
        assert run.status == BillRun.Status.PREVIEW and Bill.objects.count() == 0
    page = client.get(reverse("console:billing_run", args=[cid, run.pk]))
    assert "物业费" in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("console:billing_run", args=[cid, run.pk]))
    with community_scope(cid):
        run.refresh_from_db()
        assert run.status == BillRun.Status.ISSUED
        assert Bill.objects.filter(period=PERIOD).count() == len(world.a.homes)


def test_a_technician_may_enter_readings_but_not_run_bills(billing):
    world = billing.world
    cid = billing.community_id
    meter = water_meter(billing, 0)
    client = client_for(world, "technician")
    response = client.post(
        reverse("console:billing_readings", args=[cid]),
        {"meter": meter.code, "value": "12.50", "read_on": "2026-09-30"},
    )
    assert response.status_code == 302
    with community_scope(cid):
        assert Reading.objects.get(meter=meter).value == 12.5
    assert client.post(reverse("console:billing_runs", args=[cid]), {"period": "2026-09"}).status_code == 403


def test_reading_page_shows_the_refusal_in_chinese_and_stores_nothing(billing):
    cid = billing.community_id
    water_meter(billing, 0)
    client = client_for(billing.world, "finance")
    response = client.post(reverse("console:billing_readings", args=[cid]), {"meter": "W-0", "value": "abc"})
    assert response.status_code == 200
    assert "读数是最多两位小数的数字" in response.content.decode()
    with community_scope(cid):
        assert Reading.objects.count() == 0


def test_review_queue_accepts_a_held_reading(billing):
    cid = billing.community_id
    meter = water_meter(billing, 0)
    services.record_reading(community_id=cid, meter_id=meter.pk, read_on=dt.date(2026, 8, 31), value="50", actor=None)
    held = services.record_reading(
        community_id=cid, meter_id=meter.pk, read_on=dt.date(2026, 9, 30), value="20", actor=None
    )
    client = client_for(billing.world, "finance")
    assert "低于上次读数" in client.get(reverse("console:billing_review", args=[cid])).content.decode()
    client.post(reverse("console:billing_review", args=[cid]), {"reading": held.pk, "decision": "baseline"})
    with community_scope(cid):
        held.refresh_from_db()
    assert held.status == Reading.Status.BASELINE


def test_stewards_see_arrears_only_among_their_own_homes(world):
    today = timezone.localdate()
    cid = world.a.community.pk
    for index in (0, 3):
        services.charge_one_off(
            community_id=cid,
            home_id=world.a.homes[index].pk,
            amount_fen=1_000 * (index + 1),
            item="repair",
            description="x",
            source_ref=f"s:{index}",
            actor=None,
            due_on=today - dt.timedelta(days=40),
        )
    stewards.assign_steward(homes=[world.a.homes[0]], steward=world.user("steward"), actor=None)
    steward_page = client_for(world, "steward").get(reverse("console:billing_arrears", args=[cid])).content.decode()
    finance_page = client_for(world, "finance").get(reverse("console:billing_arrears", args=[cid])).content.decode()
    assert f'data-home="{world.a.homes[0].pk}"' in steward_page
    assert f'data-home="{world.a.homes[3].pk}"' not in steward_page
    assert f'data-home="{world.a.homes[3].pk}"' in finance_page
    other = client_for(world, "steward").get(reverse("console:billing_statement", args=[cid, world.a.homes[3].pk]))
    assert other.status_code == 404


def test_discount_requested_on_a_statement_is_approved_by_another_person(world):
    cid = world.a.community.pk
    home = world.a.homes[0]
    services.charge_one_off(
        community_id=cid, home_id=home.pk, amount_fen=5_000, item="repair", description="x", source_ref="d", actor=None
    )
    client_for(world, "finance").post(
        reverse("console:billing_statement", args=[cid, home.pk]), {"amount": "20.00", "reason": "停水补偿"}
    )
    with community_scope(cid):
        credit = Credit.objects.get()
    assert credit.amount_fen == 2_000 and credit.status == Credit.Status.REQUESTED
    # The finance clerk may not approve at all; the manager approves.
    assert (
        client_for(world, "finance")
        .post(reverse("console:billing_discounts", args=[cid]), {"credit": credit.pk, "decision": "approve"})
        .status_code
        == 403
    )
    client_for(world, "manager_x").post(
        reverse("console:billing_discounts", args=[cid]), {"credit": credit.pk, "decision": "approve"}
    )
    with community_scope(cid):
        credit.refresh_from_db()
        assert credit.status == Credit.Status.APPLIED
        assert Bill.objects.get(source_ref="d").paid_fen == 2_000


def test_a_resident_sees_their_bills_and_no_one_elses(world):
    cid = world.a.community.pk
    mine = services.charge_one_off(
        community_id=cid,
        home_id=world.a.homes[0].pk,
        amount_fen=12_345,
        item="repair",
        description="换锁",
        source_ref="mine",
        actor=None,
    )
    theirs = services.charge_one_off(
        community_id=cid,
        home_id=world.a.homes[1].pk,
        amount_fen=500,
        item="repair",
        description="别人",
        source_ref="theirs",
        actor=None,
    )
    client = client_for(world, "resident_a")
    page = client.get(reverse("portal:billing_bills")).content.decode()
    assert "123.45" in page and "别人" not in page
    assert "换锁" in client.get(reverse("portal:billing_bill", args=[mine.pk])).content.decode()
    assert client.get(reverse("portal:billing_bill", args=[theirs.pk])).status_code == 404
    api = client.get("/api/v1/me/bills").json()
    assert [bill["id"] for bill in api] == [mine.pk]
    assert client.get(f"/api/v1/me/bills/{theirs.pk}").status_code == 404


def _token(world, persona: str) -> dict[str, str]:
    _token_row, secret = issue_api_token(user=world.user(persona), name="t", actor=world.user(persona))
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_api_readings_runs_bills_and_arrears(billing, django_capture_on_commit_callbacks):
    world = billing.world
    cid = billing.community_id
    water_meter(billing, 0)
    client = Client()
    headers = _token(world, "finance")
    for day, value in (("2026-08-31", "100"), ("2026-09-30", "90")):
        response = client.post(
            f"/api/v1/communities/{cid}/readings",
            data=json.dumps({"meter_code": "W-0", "value": value, "read_on": day}),
            content_type="application/json",
            **headers,
        )
        assert response.status_code == 201
    assert response.json()["status"] == "held" and response.json()["flag"] == "lower_than_last"
    bad = client.post(
        f"/api/v1/communities/{cid}/readings",
        data=json.dumps({"meter_code": "W-0", "value": "x"}),
        content_type="application/json",
        **headers,
    )
    assert bad.status_code == 400 and set(bad.json()) >= {"code", "message"}
    with django_capture_on_commit_callbacks(execute=True):
        run = client.post(
            f"/api/v1/communities/{cid}/bill-runs",
            data=json.dumps({"period": "2026-09", "issue": True}),
            content_type="application/json",
            **headers,
        )
    assert run.status_code == 201
    bills = client.get(f"/api/v1/communities/{cid}/bills?period=2026-09&limit=100", **headers).json()
    assert bills["count"] == len(world.a.homes)
    one = client.get(f"/api/v1/communities/{cid}/bills/{bills['items'][0]['id']}", **headers).json()
    assert sum(line["amount_fen"] for line in one["lines"]) == one["total_fen"]
    arrears = client.get(f"/api/v1/communities/{cid}/arrears", **headers).json()
    # September's bills fell due 30 days after September began: all are overdue now.
    assert arrears["count"] == bills["count"]
    assert arrears["total_fen"] == sum(bill["total_fen"] for bill in bills["items"])
    assert ApiToken.objects.count() == 1


def test_verify_ledger_command_exits_2_on_a_broken_ledger(billing, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.issue_bill_run(community=billing.world.a.community, period=PERIOD, actor=None)
    call_command("verify_ledger", community=[billing.world.a.community.code])
    with community_scope(billing.community_id):
        bill = Bill.objects.first()
        Bill.objects.filter(pk=bill.pk).update(total_fen=bill.total_fen + 5)
    with pytest.raises(CommandError) as failed:
        call_command("verify_ledger", community=[billing.world.a.community.code])
    assert failed.value.returncode == 2
