"""The bill run's fast paths give the same bills: every metered item read in one query, lines shared
by homes of one layout, the garbage collector paused and restored."""

from __future__ import annotations

import datetime as dt
import gc
from fractions import Fraction

import pytest

from anju.billing import ledger, services
from anju.billing.bulk import collector_paused
from anju.billing.models import BillLine, BillRun
from anju.core.tenancy import community_scope

from .conftest import PERIOD, Billing, water_meter
from .test_bill_runs import half_up, monthly

pytestmark = pytest.mark.django_db


def _read(community_id: int, meter_id: int, opening: str, closing: str) -> None:
    for day, value in ((dt.date(2026, 8, 31), opening), (dt.date(2026, 9, 30), closing)):
        services.record_reading(community_id=community_id, meter_id=meter_id, read_on=day, value=value, actor=None)


def test_every_metered_item_is_billed_from_its_own_meters(billing: Billing, django_capture_on_commit_callbacks):
    cid = billing.community_id
    world = billing.world
    clerk = world.user("finance")
    start = dt.date(2026, 1, 1)
    power = services.create_fee_item(
        community_id=cid, code="power", name="电费", kind="electricity", basis="metered", meter_kind="electricity",
        actor=clerk,
    )  # fmt: skip
    services.set_tariff(community_id=cid, fee_item_id=power.pk, valid_from=start, price="0.5880", actor=clerk)
    # A second item on the water meters (sewage charged per m³ of water used).
    sewage = services.create_fee_item(
        community_id=cid, code="sewage", name="污水处理费", kind="water", basis="metered", meter_kind="water",
        actor=clerk,
    )  # fmt: skip
    services.set_tariff(community_id=cid, fee_item_id=sewage.pk, valid_from=start, price="0.95", actor=clerk)
    _read(cid, water_meter(billing, 0).pk, "1000.00", "1012.50")
    _read(cid, water_meter(billing, 1).pk, "500.00", "525.00")
    home_power = services.create_meter(
        community_id=cid, kind="electricity", code="E-0", home=world.a.homes[0], actor=None
    )
    _read(cid, home_power.pk, "2000.00", "2212.34")
    # Community B's meter of the same kind is not read into A's bills.
    other = services.create_meter(
        community_id=world.b.community.pk, kind="water", code="W-B0", home=world.b.homes[0], actor=None
    )
    _read(world.b.community.pk, other.pk, "10.00", "90.00")

    with django_capture_on_commit_callbacks(execute=True):
        services.issue_bill_run(community=world.a.community, period=PERIOD, actor=clerk)

    with community_scope(cid):
        lines = {
            (home_id, item): amount
            for home_id, item, amount in BillLine.objects.filter(item__in=["water", "sewage", "power"]).values_list(
                "bill__home_id", "item", "amount_fen"
            )
        }
        run = BillRun.objects.get(period=PERIOD)
    first, second = world.a.homes[0].pk, world.a.homes[1].pk
    assert lines == {
        (first, "water"): half_up(Fraction("12.5") * Fraction("3.45") * 100),
        (first, "sewage"): half_up(Fraction("12.5") * Fraction("0.95") * 100),
        (first, "power"): half_up(Fraction("212.34") * Fraction("0.5880") * 100),
        # 25 m³: 20 at 3.45 and 5 at 4.83
        (second, "water"): half_up((20 * Fraction("3.45") + 5 * Fraction("4.83")) * 100),
        (second, "sewage"): half_up(25 * Fraction("0.95") * 100),
    }
    assert run.status == BillRun.Status.ISSUED
    assert ledger.verify_ledger(cid) == []
    assert gc.isenabled()


def test_homes_of_one_layout_get_equal_lines_and_a_different_area_its_own(
    billing: Billing, django_capture_on_commit_callbacks
):
    from anju.estates import services as estates

    world = billing.world
    larger = estates.create_home(
        building=world.a.buildings[0], unit=None, number="699", floor=6, floor_area="120.25", actor=None
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.issue_bill_run(community=world.a.community, period=PERIOD, actor=world.user("finance"))
    with community_scope(billing.community_id):
        fees = dict(BillLine.objects.filter(item="property").values_list("bill__home_id", "amount_fen"))
        quantities = set(BillLine.objects.filter(item="property").values_list("quantity", flat=True))
    assert fees[larger.pk] == monthly("2.35", 30, 30, area="120.25")
    assert {fees[home.pk] for home in world.a.homes} == {monthly("2.35", 30, 30, area="88.50")}
    assert quantities == {"88.50 m²", "120.25 m²"}


def test_the_collector_is_restored_as_it_was():
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # it was off before: left off
    finally:
        gc.enable()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("a failed run")
    assert gc.isenabled()
