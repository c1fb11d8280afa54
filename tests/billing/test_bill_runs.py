"""Bill runs: amounts, proration edges, metered and shared charges, idempotency, ledger postings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest
from django.db import connection
from django.utils import timezone

from anju.billing import ledger, services
from anju.billing.calculation import compute_period
from anju.billing.models import Account, Bill, BillLine, BillRun, LedgerEntry, Reading
from anju.core.errors import Conflict
from anju.core.tenancy import community_scope
from anju.estates import services as estates
from anju.residents import services as residents

from .conftest import PERIOD, Billing, water_meter

pytestmark = pytest.mark.django_db


def half_up(value: Fraction) -> int:
    """The stated rounding rule, computed independently of the code under test."""
    return int((value + Fraction(1, 2)) // 1)


def monthly(price: str, days: int, days_in_month: int, area: str = "1") -> int:
    """yuan × area × days / days_in_month, in fen."""
    return half_up(Fraction(Decimal(price)) * Fraction(Decimal(area)) * 100 * days / days_in_month)


def issue(billing: Billing, period: dt.date, capture) -> BillRun:
    with capture(execute=True):
        services.issue_bill_run(community=billing.world.a.community, period=period, actor=billing.world.user("finance"))
    with community_scope(billing.community_id):
        return BillRun.objects.get(period=period)


def lines_of(billing: Billing, home_index: int, period: dt.date = PERIOD) -> list[BillLine]:
    with community_scope(billing.community_id):
        return list(
            BillLine.objects.filter(bill__home=billing.world.a.homes[home_index], bill__period=period).order_by("id")
        )


def test_a_run_bills_every_home_its_property_fee_and_posts_the_receivables(billing, django_capture_on_commit_callbacks):
    run = issue(billing, PERIOD, django_capture_on_commit_callbacks)
    assert run.status == BillRun.Status.ISSUED
    homes = billing.world.a.homes
    with community_scope(billing.community_id):
        bills = {bill.home_id: bill for bill in Bill.objects.filter(period=PERIOD)}
        assert set(bills) == {home.pk for home in homes}
        for home in homes:
            fee = [line for line in lines_of(billing, homes.index(home)) if line.item == "property"]
            assert [line.amount_fen for line in fee] == [monthly("2.35", 30, 30, str(home.floor_area))]
            assert bills[home.pk].total_fen == sum(line.amount_fen for line in lines_of(billing, homes.index(home)))
        assert ledger.balance_fen(Account.RECEIVABLE) == sum(bill.total_fen for bill in bills.values())
        assert run.bill_count == len(homes) and run.homes_done == len(homes)
    assert ledger.verify_ledger(billing.community_id) == []


def test_issuing_a_period_twice_creates_nothing_new(billing, django_capture_on_commit_callbacks):
    issue(billing, PERIOD, django_capture_on_commit_callbacks)
    with community_scope(billing.community_id):
        counts = (Bill.objects.count(), BillLine.objects.count(), LedgerEntry.objects.count())
    issue(billing, PERIOD, django_capture_on_commit_callbacks)
    with community_scope(billing.community_id):
        assert (Bill.objects.count(), BillLine.objects.count(), LedgerEntry.objects.count()) == counts
    assert ledger.verify_ledger(billing.community_id) == []


def test_a_home_added_after_the_run_is_billed_by_a_rerun_and_only_it(billing, django_capture_on_commit_callbacks):
    issue(billing, PERIOD, django_capture_on_commit_callbacks)
    building = billing.world.a.buildings[0]
    late = estates.create_home(building=building, unit=None, number="901", floor=6, floor_area="60.00", actor=None)
    issue(billing, PERIOD, django_capture_on_commit_callbacks)
    with community_scope(billing.community_id):
        assert Bill.objects.filter(period=PERIOD).count() == len(billing.world.a.homes) + 1
        assert Bill.objects.get(period=PERIOD, home=late).total_fen == monthly("2.35", 30, 30, "60.00")
    assert ledger.verify_ledger(billing.community_id) == []


def test_the_preview_writes_no_bill_and_matches_the_issue(billing, django_capture_on_commit_callbacks):
    run = services.preview_bill_run(community=billing.world.a.community, period=PERIOD, actor=None)
    with community_scope(billing.community_id):
        assert Bill.objects.count() == 0
        assert LedgerEntry.objects.count() == 0
    issued = issue(billing, PERIOD, django_capture_on_commit_callbacks)
    with community_scope(billing.community_id):
        assert sum(Bill.objects.values_list("total_fen", flat=True)) == run.preview["total_fen"]
        assert issued.bill_count == run.preview["bills"]


def test_a_tariff_change_mid_month_splits_the_line_by_days(billing, django_capture_on_commit_callbacks):
    services.set_tariff(
        community_id=billing.community_id,
        fee_item_id=billing.property_fee.pk,
        valid_from=dt.date(2026, 9, 16),
        price="2.80",
        actor=None,
    )
    issue(billing, PERIOD, django_capture_on_commit_callbacks)
    area = str(billing.world.a.homes[3].floor_area)
    fee = [line.amount_fen for line in lines_of(billing, 3) if line.item == "property"]
    assert fee == [monthly("2.35", 15, 30, area), monthly("2.80", 15, 30, area)]


def test_a_tariff_starting_on_the_first_or_last_day(billing, django_capture_on_commit_callbacks):
    services.set_tariff(
        community_id=billing.community_id,
        fee_item_id=billing.property_fee.pk,
        valid_from=dt.date(2026, 9, 30),
        price="3.00",
        actor=None,
    )
    services.set_tariff(
        community_id=billing.community_id,
        fee_item_id=billing.garbage.pk,
        valid_from=dt.date(2026, 9, 1),
        price="20",
        actor=None,
    )
    issue(billing, PERIOD, django_capture_on_commit_callbacks)
    area = str(billing.world.a.homes[0].floor_area)
    lines = lines_of(billing, 0)
    assert [line.amount_fen for line in lines if line.item == "property"] == [
        monthly("2.35", 29, 30, area),
        monthly("3.00", 1, 30, area),
    ]
    assert [line.amount_fen for line in lines if line.item == "garbage"] == [monthly("20", 30, 30)]


def test_a_tariff_change_never_rewrites_an_issued_period(billing, django_capture_on_commit_callbacks):
    issue(billing, PERIOD, django_capture_on_commit_callbacks)
    with pytest.raises(Conflict) as refused:
        services.set_tariff(
            community_id=billing.community_id,
            fee_item_id=billing.property_fee.pk,
            valid_from=dt.date(2026, 9, 20),
            price="9.99",
            actor=None,
        )
    assert refused.value.code == "period_issued"


def test_move_in_and_move_out_prorate_fees_charged_while_occupied(billing, django_capture_on_commit_callbacks):
    world = billing.world
    home_in, home_out, home_first = world.a.homes[1], world.a.homes[2], world.a.homes[4]
    tenant = residents.create_person(community=world.a.community, name="租客", actor=None)
    leaver = residents.create_person(community=world.a.community, name="搬走的人", actor=None)
    first_day = residents.create_person(community=world.a.community, name="月初入住", actor=None)
    residents.add_occupancy(home=home_in, person=tenant, role="tenant", starts_on=dt.date(2026, 9, 30), actor=None)
    gone = residents.add_occupancy(
        home=home_out, person=leaver, role="owner", starts_on=dt.date(2025, 1, 1), actor=None
    )
    residents.end_occupancy(gone, ends_on=dt.date(2026, 9, 1), actor=None)
    residents.add_occupancy(home=home_first, person=first_day, role="owner", starts_on=dt.date(2026, 9, 1), actor=None)
    issue(billing, PERIOD, django_capture_on_commit_callbacks)

    def garbage(index: int) -> list[int]:
        return [line.amount_fen for line in lines_of(billing, index) if line.item == "garbage"]

    assert garbage(0) == [monthly("15", 30, 30)]  # the persona owner, there all month
    assert garbage(1) == [monthly("15", 1, 30)]  # moved in on the last day
    assert garbage(2) == [monthly("15", 1, 30)]  # moved out on the first day
    assert garbage(4) == [monthly("15", 30, 30)]  # moved in on the first day
    assert garbage(5) == []  # nobody lives there


def test_parking_lease_starting_mid_month(billing, django_capture_on_commit_callbacks):
    world = billing.world
    space = estates.create_parking_space(community=world.a.community, number="P-001", actor=None)
    services.lease_parking_space(
        community_id=billing.community_id,
        space_id=space.pk,
        home_id=world.a.homes[0].pk,
        starts_on=dt.date(2026, 9, 11),
        actor=None,
    )
    issue(billing, PERIOD, django_capture_on_commit_callbacks)
    assert [line.amount_fen for line in lines_of(billing, 0) if line.item == "parking"] == [monthly("150", 20, 30)]


def test_metered_water_is_tiered_and_held_readings_are_not_billed(billing, django_capture_on_commit_callbacks):
    cid = billing.community_id
    used = water_meter(billing, 0)
    held = water_meter(billing, 1)
    for meter, closing in ((used, "1035.50"), (held, "900.00")):
        services.record_reading(
            community_id=cid, meter_id=meter.pk, read_on=dt.date(2026, 8, 31), value="1000.00", actor=None
        )
        reading = services.record_reading(
            community_id=cid, meter_id=meter.pk, read_on=dt.date(2026, 9, 30), value=closing, actor=None
        )
    assert reading.status == Reading.Status.HELD and reading.flag == "lower_than_last"
    issue(billing, PERIOD, django_capture_on_commit_callbacks)
    water = [line.amount_fen for line in lines_of(billing, 0) if line.item == "water"]
    # 35.5 m³: 20 at 3.45, 10 at 4.83, 5.5 at 10.35
    expected = half_up(
        Fraction(20) * Fraction("3.45") * 100 + 10 * Fraction("4.83") * 100 + Fraction("5.5") * Fraction("10.35") * 100
    )
    assert water == [expected]
    assert [line for line in lines_of(billing, 1) if line.item == "water"] == []


def test_a_shared_meter_is_apportioned_by_area_and_sums_exactly(billing, django_capture_on_commit_callbacks):
    cid = billing.community_id
    world = billing.world
    building = world.a.buildings[0]
    estates.create_home(building=building, unit=None, number="777", floor=6, floor_area="123.45", actor=None)
    meter = services.create_meter(community_id=cid, kind="electricity", code="LIFT-1", building=building, actor=None)
    services.record_reading(
        community_id=cid, meter_id=meter.pk, read_on=dt.date(2026, 8, 31), value="100.00", actor=None
    )
    services.record_reading(
        community_id=cid, meter_id=meter.pk, read_on=dt.date(2026, 9, 30), value="433.33", actor=None
    )
    issue(billing, PERIOD, django_capture_on_commit_callbacks)
    cost = half_up(Fraction("333.33") * Fraction("0.6180") * 100)
    with community_scope(cid):
        shares = list(BillLine.objects.filter(item="shared_power").values_list("bill__home__building_id", "amount_fen"))
    assert {building_id for building_id, _amount in shares} == {building.pk}
    assert sum(amount for _b, amount in shares) == cost
    assert max(amount for _b, amount in shares) - min(amount for _b, amount in shares) > 0  # the larger home pays more


def test_unsold_homes_are_billed_to_the_developer_like_any_home(billing):
    world = billing.world
    home = world.a.homes[5]
    estates.update_home(home, status="unsold", actor=None)
    with community_scope(billing.community_id):
        bills = compute_period(billing.community_id, PERIOD)
    assert home.pk in bills.lines


def test_verify_finds_a_bill_whose_total_was_changed(billing, django_capture_on_commit_callbacks):
    issue(billing, PERIOD, django_capture_on_commit_callbacks)
    with community_scope(billing.community_id):
        bill = Bill.objects.filter(period=PERIOD).first()
        Bill.objects.filter(pk=bill.pk).update(total_fen=bill.total_fen + 1)
    problems = ledger.verify_ledger(billing.community_id)
    assert any("differ from their bills" in problem for problem in problems)


def test_the_property_map_colours_homes_by_arrears(world):
    from anju.estates.property_map import build_property_map

    cid = world.a.community.pk
    today = timezone.localdate()
    for index, days in ((0, 10), (1, 60), (2, 200)):
        services.charge_one_off(
            community_id=cid,
            home_id=world.a.homes[index].pk,
            amount_fen=1_000,
            item="repair",
            description="x",
            source_ref=f"map:{index}",
            actor=None,
            due_on=today - dt.timedelta(days=days),
        )
    with community_scope(cid):
        grid = build_property_map(world.a.buildings[0], "arrears")
    values = {cell.home_id: cell.value for row in grid.rows for cell in row.cells}
    homes = world.a.homes
    assert [values[homes[i].pk] for i in range(4)] == ["under_30", "under_90", "over_90", "paid_up"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locking needs PostgreSQL")
def test_two_clerks_issuing_the_same_period_at_once_bill_each_home_once():
    import threading

    from tests.billing.conftest import setup_billing
    from tests.personas import build_world

    billing = setup_billing(build_world())
    community = billing.world.a.community
    services.preview_bill_run(community=community, period=PERIOD, actor=None)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def clerk() -> None:
        try:
            barrier.wait()
            services.issue_bill_run(community=community, period=PERIOD, actor=None, inline=True)
            outcomes.append("issued")
        except Conflict as refused:
            outcomes.append(refused.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=clerk) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["bill_run_busy", "issued"]
    with community_scope(community.pk):
        assert Bill.objects.filter(period=PERIOD).count() == len(billing.world.a.homes)
    assert ledger.verify_ledger(community.pk) == []


def test_collection_rate_per_period(billing, django_capture_on_commit_callbacks):
    from anju.billing import arrears

    issue(billing, PERIOD, django_capture_on_commit_callbacks)
    october = dt.date(2026, 10, 1)
    issue(billing, october, django_capture_on_commit_callbacks)
    home = billing.world.a.homes[0]
    with community_scope(billing.community_id):
        september_bill = Bill.objects.get(home=home, period=PERIOD)
    services.credit_home(
        community_id=billing.community_id,
        home_id=home.pk,
        amount_fen=september_bill.total_fen,
        reason="test",
        source_ref="rate",
        actor=None,
    )
    with community_scope(billing.community_id):
        september, _ = arrears.collection_rates(PERIOD)
        oct_rate, _ = arrears.collection_rates(october)
        billed = sum(Bill.objects.filter(period=PERIOD).values_list("total_fen", flat=True))
    assert (september.billed_fen, september.settled_fen) == (billed, september_bill.total_fen)
    assert oct_rate.settled_fen == 0
