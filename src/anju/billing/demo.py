"""Demo data for billing (step 30): tariffs for each demo community, meters with readings, three
months of issued bills, and counter payments so that a realistic share is paid and some homes are in
arrears. Payments (online ones, a refund, the published accounts) follow in the payments step (40).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from anju.billing import services
from anju.billing.bulk import insert_rows, reserve_ids
from anju.billing.models import Meter, Reading
from anju.core.demo.hooks import DemoContext, demo_step
from anju.estates.models import Building, Community, Home, ParkingSpace

# (property fee ¥/m²/month, fee model note) per demo community: an old walk-up, a high-rise, a new estate.
PROPERTY_FEE = {"walkup": "0.95", "highrise": "2.80", "new": "3.50"}
WATER_TIERS = [{"up_to": "20", "price": "3.45"}, {"up_to": "30", "price": "4.83"}, {"up_to": None, "price": "10.35"}]
# Homes that pay by counter in the demo, at most, per community (payments are the slow part).
PAYING_HOMES = {"small": 25, "medium": 250, "large": 0}


def _months_before(today: dt.date, count: int) -> list[dt.date]:
    first = today.replace(day=1)
    months = []
    for _ in range(count):
        first = (first - dt.timedelta(days=1)).replace(day=1)
        months.append(first)
    return sorted(months)


def _setup_community(ctx: DemoContext, key: str, community: Community, start: dt.date) -> None:
    clerk = ctx.staff["finance"]
    cid = community.pk
    fee = services.create_fee_item(
        community_id=cid, code="property", name="物业费", kind="property_fee", basis="per_area", actor=clerk
    )
    services.set_tariff(
        community_id=cid, fee_item_id=fee.pk, valid_from=start, price=PROPERTY_FEE[key], actor=clerk, note="demo"
    )
    garbage = services.create_fee_item(
        community_id=cid,
        code="garbage",
        name="生活垃圾处理费",
        kind="fixed",
        basis="per_home",
        while_occupied=True,
        actor=clerk,
    )
    services.set_tariff(community_id=cid, fee_item_id=garbage.pk, valid_from=start, price="8", actor=clerk)
    water = services.create_fee_item(
        community_id=cid, code="water", name="水费", kind="water", basis="metered", meter_kind="water", actor=clerk
    )
    services.set_tariff(
        community_id=cid, fee_item_id=water.pk, valid_from=start, price="3.45", tiers=WATER_TIERS, actor=clerk
    )
    spaces = list(ParkingSpace.objects.filter(community=community).order_by("pk")[:60])
    if spaces:
        parking = services.create_fee_item(
            community_id=cid, code="parking", name="停车管理费", kind="parking", basis="per_space", actor=clerk
        )
        services.set_tariff(community_id=cid, fee_item_id=parking.pk, valid_from=start, price="120", actor=clerk)
        homes = list(Home.objects.filter(community=community, use="residential").order_by("pk")[: len(spaces) * 3])
        for space, home in zip(spaces, ctx.rng.sample(homes, min(len(homes), len(spaces) * 3 // 10)), strict=False):
            services.lease_parking_space(
                community_id=cid, space_id=space.pk, home_id=home.pk, starts_on=start, actor=clerk
            )
    buildings = list(Building.objects.filter(community=community, has_lift=True).order_by("pk"))
    if buildings:
        shared = services.create_fee_item(
            community_id=cid,
            code="lift_power",
            name="电梯公摊电费",
            kind="shared",
            basis="shared",
            meter_kind="electricity",
            actor=clerk,
        )
        services.set_tariff(community_id=cid, fee_item_id=shared.pk, valid_from=start, price="0.6170", actor=clerk)
        for building in buildings:
            services.create_meter(
                community_id=cid,
                kind="electricity",
                code=f"LIFT-{building.number}",
                building=building,
                installed_on=start,
                actor=clerk,
            )


def _readings(ctx: DemoContext, community: Community, month_ends: list[dt.date]) -> None:
    """Water meters for every home and month-end readings. Written in bulk: generated, plausible
    readings need none of the checks a typed reading gets (the review queue gets two held ones)."""
    cid = community.pk
    homes = list(Home.objects.filter(community=community).order_by("pk").values_list("pk", flat=True))
    meter_ids = reserve_ids(Meter, len(homes))
    insert_rows(
        Meter,
        ("id", "community_id", "kind", "code", "home_id", "installed_on"),
        ((mid, cid, "water", f"W{home}", home, month_ends[0]) for mid, home in zip(meter_ids, homes, strict=True)),
    )
    lift_meters = list(Meter.objects.filter(community=community, home__isnull=True).values_list("pk", flat=True))
    now = timezone.now()
    rows = []
    for meter in meter_ids:
        value = Decimal(ctx.rng.randint(50, 3000))
        for day in month_ends:
            rows.append((cid, meter, day, value, "import", "ok", "", now))
            value += Decimal(ctx.rng.randint(300, 3500)) / 100
    for meter in lift_meters:
        value = Decimal(ctx.rng.randint(1000, 90000))
        for day in month_ends:
            rows.append((cid, meter, day, value, "import", "ok", "", now))
            value += Decimal(ctx.rng.randint(90000, 250000)) / 100
    insert_rows(
        Reading,
        ("community_id", "meter_id", "read_on", "value", "source", "status", "flag", "entered_at"),
        rows,
    )
    # Two readings that a clerk mistyped, waiting in the review queue.
    for meter in meter_ids[:2]:
        last = Reading.objects.filter(meter_id=meter).order_by("-read_on").first()
        if last is not None:
            services.record_reading(
                community_id=cid,
                meter_id=meter,
                read_on=timezone.localdate(),
                value=(last.value / 10).quantize(Decimal("0.01")),
                actor=ctx.staff["finance"],
            )


def _pay(ctx: DemoContext, community: Community) -> int:
    """Counter payments: most homes paid the older months, some everything, some nothing yet."""
    try:
        from anju.billing.payments.services.payments import take_counter_payment
    except ImportError:  # payments is a separate app; without it the bills simply stay unpaid
        return 0
    from anju.billing.models import Bill

    limit = PAYING_HOMES.get(ctx.size, 0)
    if not limit:
        return 0
    paid = 0
    homes = list(Home.objects.filter(community=community).order_by("pk")[:limit])
    for home in homes:
        bills = list(Bill.objects.filter(home=home).order_by("period"))
        roll = ctx.rng.random()
        if roll < 0.2 or not bills:
            continue  # in arrears
        amount = sum(b.total_fen for b in bills) if roll > 0.8 else sum(b.total_fen for b in bills[:-1])
        if amount > 0:
            take_counter_payment(home=home, amount_fen=amount, method="cash", actor=ctx.staff["finance"])
            paid += 1
    return paid


@demo_step(order=30)
def seed_billing(ctx: DemoContext) -> None:
    today = timezone.localdate()
    periods = _months_before(today, 3)
    start = periods[0]
    month_ends = [periods[0] - dt.timedelta(days=1)] + [
        (p.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1) for p in periods
    ]
    bills = payments = 0
    for key, community in ctx.communities.items():
        _setup_community(ctx, key, community, start)
        _readings(ctx, community, month_ends)
        for period in periods:
            run = services.issue_bill_run(community=community, period=period, actor=ctx.staff["finance"], inline=True)
            bills += run.bill_count
        payments += _pay(ctx, community)
    ctx.counts["bills"] = bills
    ctx.counts["counter payments"] = payments
    ctx.out(f"billing: {bills} bills over {len(periods)} months, {payments} counter payments")
