from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from anju.billing import services
from anju.billing.models import FeeItem, Meter
from tests.personas import World

PERIOD = dt.date(2026, 9, 1)


@dataclass
class Billing:
    world: World
    property_fee: FeeItem
    garbage: FeeItem
    parking: FeeItem
    water: FeeItem
    shared_power: FeeItem

    @property
    def community_id(self) -> int:
        return self.world.a.community.pk


def setup_billing(world: World) -> Billing:
    """Community A's fee items and prices, as a finance clerk would enter them."""
    cid = world.a.community.pk
    clerk = world.user("finance")
    start = dt.date(2026, 1, 1)
    property_fee = services.create_fee_item(
        community_id=cid, code="property", name="物业费", kind="property_fee", basis="per_area", actor=clerk
    )
    services.set_tariff(community_id=cid, fee_item_id=property_fee.pk, valid_from=start, price="2.35", actor=clerk)
    garbage = services.create_fee_item(
        community_id=cid,
        code="garbage",
        name="垃圾清运费",
        kind="fixed",
        basis="per_home",
        while_occupied=True,
        actor=clerk,
    )
    services.set_tariff(community_id=cid, fee_item_id=garbage.pk, valid_from=start, price="15", actor=clerk)
    parking = services.create_fee_item(
        community_id=cid, code="parking", name="停车管理费", kind="parking", basis="per_space", actor=clerk
    )
    services.set_tariff(community_id=cid, fee_item_id=parking.pk, valid_from=start, price="150", actor=clerk)
    water = services.create_fee_item(
        community_id=cid, code="water", name="水费", kind="water", basis="metered", meter_kind="water", actor=clerk
    )
    services.set_tariff(
        community_id=cid,
        fee_item_id=water.pk,
        valid_from=start,
        price="3.45",
        tiers=[{"up_to": "20", "price": "3.45"}, {"up_to": "30", "price": "4.83"}, {"up_to": None, "price": "10.35"}],
        actor=clerk,
    )
    shared_power = services.create_fee_item(
        community_id=cid,
        code="shared_power",
        name="公摊电费",
        kind="shared",
        basis="shared",
        meter_kind="electricity",
        actor=clerk,
    )
    services.set_tariff(community_id=cid, fee_item_id=shared_power.pk, valid_from=start, price="0.6180", actor=clerk)
    return Billing(world, property_fee, garbage, parking, water, shared_power)


def water_meter(billing: Billing, home_index: int) -> Meter:
    return services.create_meter(
        community_id=billing.community_id,
        kind="water",
        code=f"W-{home_index}",
        home=billing.world.a.homes[home_index],
        actor=None,
    )


@pytest.fixture
def billing(world: World) -> Billing:
    return setup_billing(world)
