"""Ids of real billing objects of one estate's community, for the tenancy matrix."""

from __future__ import annotations

import datetime as dt

from anju.billing import services


def samples(world, estate_name: str) -> dict[str, int]:
    estate = getattr(world, estate_name)
    community_id = estate.community.pk
    bill = services.charge_one_off(
        community_id=community_id,
        home_id=estate.homes[0].pk,
        amount_fen=5_000,
        item="repair",
        description="matrix",
        source_ref=f"matrix:{estate_name}",
        actor=None,
    )
    run = services.preview_bill_run(community=estate.community, period=dt.date(2026, 1, 1), actor=None)
    meter = services.create_meter(
        community_id=community_id, kind="water", code=f"matrix-{estate_name}", home=estate.homes[0], actor=None
    )
    reading = services.record_reading(
        community_id=community_id, meter_id=meter.pk, read_on=dt.date(2026, 1, 31), value="10", actor=None
    )
    return {"bill_id": bill.pk, "run_id": run.pk, "reading_id": reading.pk}
