"""One-off charges, credits and discounts, late fees, readings held for review, the import, arrears."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook

from anju.billing import arrears, ledger, pricing, services
from anju.billing.models import Account, ArrearsReminder, Bill, Credit, Reading
from anju.core import sms
from anju.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from anju.core.tenancy import community_scope

from .conftest import water_meter

pytestmark = pytest.mark.django_db


def _charge(world, ref: str, fen: int, home_index: int = 0, due_on: dt.date | None = None) -> Bill:
    return services.charge_one_off(
        community_id=world.a.community.pk,
        home_id=world.a.homes[home_index].pk,
        amount_fen=fen,
        item="repair",
        description="换水龙头",
        source_ref=ref,
        actor=world.user("finance"),
        due_on=due_on,
    )


def test_a_one_off_charge_is_idempotent_by_source_ref_and_posted(world):
    bill = _charge(world, "workorder:1", 8_800)
    again = _charge(world, "workorder:1", 8_800)
    assert again.pk == bill.pk
    with pytest.raises(Conflict):
        _charge(world, "workorder:1", 9_900)
    with community_scope(world.a.community.pk):
        assert Bill.objects.count() == 1
        assert ledger.balance_fen(Account.RECEIVABLE, home_id=world.a.homes[0].pk) == 8_800
    assert ledger.verify_ledger(world.a.community.pk) == []


def test_a_charge_for_another_communitys_home_is_refused(world):
    with pytest.raises(NotFound):
        services.charge_one_off(
            community_id=world.a.community.pk,
            home_id=world.b.homes[0].pk,
            amount_fen=100,
            item="repair",
            description="x",
            source_ref="x",
            actor=None,
        )


def test_credit_settles_oldest_bills_first_and_the_rest_becomes_prepaid(world):
    old = _charge(world, "c:old", 3_000, due_on=dt.date(2026, 1, 31))
    new = _charge(world, "c:new", 5_000, due_on=dt.date(2026, 3, 31))
    services.credit_home(
        community_id=world.a.community.pk,
        home_id=world.a.homes[0].pk,
        amount_fen=10_000,
        reason="积分抵扣",
        source_ref="points:1",
        actor=None,
    )
    with community_scope(world.a.community.pk):
        old.refresh_from_db()
        new.refresh_from_db()
        assert (old.paid_fen, old.status) == (3_000, Bill.Status.PAID)
        assert (new.paid_fen, new.status) == (5_000, Bill.Status.PAID)
        home = world.a.homes[0].pk
        assert ledger.balance_fen(Account.RECEIVABLE, home_id=home) == 0
        assert ledger.balance_fen(Account.PREPAID, home_id=home) == -2_000
        assert ledger.balance_fen(Account.DISCOUNTS) == 10_000
    again = services.credit_home(
        community_id=world.a.community.pk,
        home_id=world.a.homes[0].pk,
        amount_fen=10_000,
        reason="积分抵扣",
        source_ref="points:1",
        actor=None,
    )
    with community_scope(world.a.community.pk):
        assert Credit.objects.count() == 1 and again.status == Credit.Status.APPLIED
    assert ledger.verify_ledger(world.a.community.pk) == []


def test_a_partial_credit_leaves_the_bill_partly_paid(world):
    bill = _charge(world, "c:partial", 3_000)
    services.credit_home(
        community_id=world.a.community.pk,
        home_id=world.a.homes[0].pk,
        amount_fen=1_000,
        reason="goodwill",
        source_ref="goodwill:1",
        actor=None,
    )
    with community_scope(world.a.community.pk):
        bill.refresh_from_db()
        assert (bill.paid_fen, bill.status, bill.outstanding_fen) == (1_000, Bill.Status.PARTIAL, 2_000)


def test_a_discount_needs_an_approver_other_than_the_requester(world):
    _charge(world, "d:1", 4_000)
    clerk, manager = world.user("finance"), world.user("manager_x")
    credit = services.request_discount(
        community_id=world.a.community.pk, home_id=world.a.homes[0].pk, amount_fen=1_500, reason="漏水补偿", actor=clerk
    )
    with community_scope(world.a.community.pk):
        assert ledger.balance_fen(Account.DISCOUNTS) == 0  # nothing applied yet
    with pytest.raises(PermissionDenied):
        services.decide_discount(community_id=world.a.community.pk, credit_id=credit.pk, approve=True, actor=clerk)
    services.decide_discount(community_id=world.a.community.pk, credit_id=credit.pk, approve=True, actor=manager)
    with community_scope(world.a.community.pk):
        assert ledger.balance_fen(Account.DISCOUNTS) == 1_500
    with pytest.raises(Conflict):
        services.decide_discount(community_id=world.a.community.pk, credit_id=credit.pk, approve=False, actor=manager)


def test_a_discount_without_a_reason_is_refused(world):
    with pytest.raises(DomainError) as refused:
        services.request_discount(
            community_id=world.a.community.pk,
            home_id=world.a.homes[0].pk,
            amount_fen=100,
            reason="  ",
            actor=world.user("finance"),
        )
    assert refused.value.field == "reason"


@given(
    outstanding=st.integers(min_value=0, max_value=10**9),
    days=st.integers(min_value=0, max_value=5_000),
    rate=st.integers(min_value=0, max_value=10),
    cap=st.integers(min_value=0, max_value=100),
)
def test_late_fees_never_exceed_the_cap_or_thirty_percent(outstanding, days, rate, cap):
    fee = services.late_fee_fen(outstanding_fen=outstanding, days_overdue=days, per_day_permyriad=rate, cap_percent=cap)
    assert 0 <= fee <= outstanding * min(cap, 30) // 100


def test_late_fees_are_off_by_default_and_charged_once_when_set(world):
    overdue = _charge(world, "lf:base", 10_000, due_on=dt.date(2026, 1, 1))
    with community_scope(world.a.community.pk):
        Bill.objects.filter(pk=overdue.pk).update(kind=Bill.Kind.PERIODIC, source_ref="")
    as_of = dt.date(2026, 3, 1)
    assert services.charge_late_fees(community_id=world.a.community.pk, as_of=as_of, actor=None) == 0
    services.update_billing_settings(
        community_id=world.a.community.pk, late_fee_per_day_permyriad=5, late_fee_cap_percent=10, actor=None
    )
    assert services.charge_late_fees(community_id=world.a.community.pk, as_of=as_of, actor=None) == 1
    assert services.charge_late_fees(community_id=world.a.community.pk, as_of=as_of, actor=None) == 0
    with community_scope(world.a.community.pk):
        fee = Bill.objects.get(source_ref=f"late_fee:{overdue.pk}")
    assert fee.total_fen == min(10_000 * 5 * 59 // 10_000, 1_000)


def test_a_late_fee_cap_over_thirty_percent_is_refused(world):
    with pytest.raises(DomainError) as refused:
        services.update_billing_settings(community_id=world.a.community.pk, late_fee_cap_percent=50, actor=None)
    assert refused.value.field == "late_fee_cap_percent"


def test_readings_lower_than_the_last_or_jumping_are_held(billing):
    cid = billing.community_id
    meter = water_meter(billing, 0)
    values = [("2026-05-31", "100.00"), ("2026-06-30", "110.00"), ("2026-07-31", "121.00")]
    for day, value in values:
        ok = services.record_reading(
            community_id=cid, meter_id=meter.pk, read_on=dt.date.fromisoformat(day), value=value, actor=None
        )
        assert ok.status == Reading.Status.OK
    lower = services.record_reading(
        community_id=cid, meter_id=meter.pk, read_on=dt.date(2026, 8, 31), value="99", actor=None
    )
    assert (lower.status, lower.flag) == (Reading.Status.HELD, "lower_than_last")
    jump = services.record_reading(
        community_id=cid, meter_id=meter.pk, read_on=dt.date(2026, 9, 1), value="500.00", actor=None
    )
    assert (jump.status, jump.flag) == (Reading.Status.HELD, "implausible_jump")
    normal = services.record_reading(
        community_id=cid, meter_id=meter.pk, read_on=dt.date(2026, 9, 30), value="131.50", actor=None
    )
    assert normal.status == Reading.Status.OK
    decided = services.review_reading(
        community_id=cid, reading_id=lower.pk, decision="reject", actor=billing.world.user("finance")
    )
    assert decided.status == Reading.Status.REJECTED
    with pytest.raises(Conflict):
        services.review_reading(community_id=cid, reading_id=lower.pk, decision="accept", actor=None)


def test_bad_readings_are_refused_and_store_nothing(billing):
    meter = water_meter(billing, 0)
    for value in ("abc", "-1", "1.234", "NaN"):
        with pytest.raises(DomainError):
            services.record_reading(
                community_id=billing.community_id,
                meter_id=meter.pk,
                read_on=dt.date(2026, 9, 1),
                value=value,
                actor=None,
            )
    with pytest.raises(DomainError):
        services.record_reading(
            community_id=billing.community_id,
            meter_id=meter.pk,
            read_on=timezone.localdate() + dt.timedelta(days=1),
            value="1",
            actor=None,
        )
    with community_scope(billing.community_id):
        assert Reading.objects.count() == 0


def test_smart_meter_readings_are_deduplicated_and_the_latest_of_a_day_wins(billing):
    meter = water_meter(billing, 0)
    at = timezone.make_aware(dt.datetime(2026, 9, 30, 8, 0))
    first = services.record_device_reading(
        community_id=billing.community_id, device_ref=meter.code, value="10.00", read_at=at
    )
    same = services.record_device_reading(
        community_id=billing.community_id, device_ref=meter.code, value="10.00", read_at=at
    )
    assert same.pk == first.pk
    later = services.record_device_reading(
        community_id=billing.community_id, device_ref=meter.code, value="10.80", read_at=at + dt.timedelta(hours=8)
    )
    with community_scope(billing.community_id):
        statuses = dict(Reading.objects.values_list("pk", "status"))
    assert statuses == {first.pk: Reading.Status.REJECTED, later.pk: Reading.Status.OK}
    with pytest.raises(NotFound):
        services.record_device_reading(community_id=billing.community_id, device_ref="NOPE", value="1", read_at=at)


def _workbook(rows: list[tuple]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(("表号", "抄表日期", "读数"))
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_import_keeps_good_rows_reports_bad_ones_and_is_repeatable(billing):
    water_meter(billing, 0)
    water_meter(billing, 1)
    content = _workbook(
        [("W-0", dt.date(2026, 9, 1), 100), ("W-1", "2026-09-01", "55.5"), ("NOPE", "2026-09-01", 1), ("W-0", "bad", 1)]
    )
    report = services.import_readings(community_id=billing.community_id, content=content, actor=None)
    assert (report.created, report.unchanged) == (2, 0)
    assert [row for row, _message in report.errors] == [4, 5]
    again = services.import_readings(community_id=billing.community_id, content=content, actor=None)
    assert (again.created, again.unchanged) == (0, 2)
    with pytest.raises(DomainError):
        services.import_readings(community_id=billing.community_id, content=b"not a workbook", actor=None)


def test_arrears_aging_collection_rate_and_reminders(world, django_capture_on_commit_callbacks):
    today = timezone.localdate()
    _charge(world, "ar:1", 10_000, home_index=0, due_on=today - dt.timedelta(days=10))
    _charge(world, "ar:2", 20_000, home_index=0, due_on=today - dt.timedelta(days=100))
    _charge(world, "ar:3", 7_000, home_index=1, due_on=today + dt.timedelta(days=10))  # not yet due
    with community_scope(world.a.community.pk):
        rows = arrears.arrears_by_home(today)
        assert [(row.home_id, row.outstanding_fen) for row in rows] == [(world.a.homes[0].pk, 30_000)]
        assert rows[0].buckets["1_30"] == 10_000 and rows[0].buckets["91_180"] == 20_000
        rate, _buildings = arrears.collection_rates()
        assert (rate.billed_fen, rate.settled_fen) == (37_000, 0)
    with django_capture_on_commit_callbacks(execute=True):
        sent = services.send_reminders(community_id=world.a.community.pk, actor=None)
    assert sent == 1
    assert services.send_reminders(community_id=world.a.community.pk, actor=None) == 0  # not again so soon
    with community_scope(world.a.community.pk):
        reminder = ArrearsReminder.objects.get()
    assert reminder.recipients == 1 and reminder.outstanding_fen == 30_000
    assert any(pricing.format_fen(30_000) in body for _phone, body in sms.outbox)


@given(
    total=st.integers(min_value=0, max_value=10**10),
    weights=st.lists(st.integers(min_value=1, max_value=10**7), min_size=1, max_size=60),
)
def test_apportionment_sums_exactly_and_is_fair_to_a_fen(total, weights):
    keyed = list(enumerate(weights))
    shares = pricing.apportion(total, keyed)
    assert sum(shares.values()) == total
    weight_sum = sum(weights)
    for key, weight in keyed:
        exact = total * weight / weight_sum
        assert abs(shares[key] - exact) < 1.000001
    assert pricing.apportion(total, keyed) == shares  # deterministic


@given(
    quantity=st.integers(min_value=0, max_value=10**7),
    extra=st.integers(min_value=0, max_value=10**4),
    bounds=st.lists(st.integers(min_value=1, max_value=10**5), min_size=0, max_size=4, unique=True),
    prices=st.lists(st.integers(min_value=0, max_value=10**6), min_size=5, max_size=5),
)
def test_tiered_cost_is_monotonic_and_matches_a_flat_price_when_tiers_agree(quantity, extra, bounds, prices):
    ordered = sorted(bounds)
    increasing = sorted(prices)
    tiers = [(bound, increasing[i]) for i, bound in enumerate(ordered)] + [(None, increasing[len(ordered)])]
    assert pricing.tiered_cost_fen(quantity + extra, tiers) >= pricing.tiered_cost_fen(quantity, tiers)
    flat = [(bound, prices[0]) for bound in ordered] + [(None, prices[0])]
    assert pricing.tiered_cost_fen(quantity, flat) == pricing.round_half_up(quantity * prices[0], 10_000)


@given(numerator=st.integers(min_value=0, max_value=10**15), denominator=st.integers(min_value=1, max_value=10**9))
def test_round_half_up(numerator, denominator):
    result = pricing.round_half_up(numerator, denominator)
    assert result * denominator * 2 - denominator <= 2 * numerator < result * denominator * 2 + denominator


@given(value=st.integers(min_value=-(10**13), max_value=10**13))
def test_hundredths_format_exactly(value):
    from decimal import Decimal

    assert pricing.format_hundredths(value) == str((Decimal(value) / 100).quantize(Decimal("0.01")))
