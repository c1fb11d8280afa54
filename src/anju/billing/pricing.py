"""Money arithmetic for bills, in integers only.

**The rounding rule.** Every bill line's amount is computed exactly, as a ratio of integers, and
rounded **half up to the fen once** (0.5 fen becomes 1 fen). A bill's total is the sum of its lines,
so totals are exact sums of what the resident sees. A shared meter's cost (公摊) is rounded once for
the whole meter and then split by floor area with the **largest-remainder method**: each home gets
the floor of its exact share, and the fen left over go one each to the homes with the largest
fractional remainders, ties to the lower home id — so the shares always sum exactly to the cost and
the same input always gives the same split.

Units used internally: prices in 1/10,000 yuan (``price_e4``: ¥2.35 → 23,500), areas and meter
quantities in hundredths (``area_c``: 89.50 m² → 8,950). One fen is 100 × 1/10,000 yuan.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Hashable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

K = TypeVar("K", bound=Hashable)

PRICE_SCALE = 10_000  # price_e4 units per yuan
FEN_PER_YUAN = 100


def round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up, for a non-negative numerator and positive
    denominator (money here is never negative)."""
    if denominator <= 0 or numerator < 0:
        raise ValueError("round_half_up needs numerator >= 0 and denominator > 0")
    return (2 * numerator + denominator) // (2 * denominator)


def price_e4(price: Decimal | str) -> int:
    """A price in yuan (at most four decimals) as an integer of 1/10,000 yuan."""
    return int((Decimal(str(price)) * PRICE_SCALE).to_integral_value())


def hundredths(value: Decimal | str) -> int:
    """An area or quantity with at most two decimals as an integer of hundredths."""
    return int((Decimal(str(value)) * 100).to_integral_value())


def month_bounds(period: dt.date) -> tuple[dt.date, dt.date, int]:
    """First day, last day and number of days of ``period``'s month."""
    days = calendar.monthrange(period.year, period.month)[1]
    first = period.replace(day=1)
    return first, first.replace(day=days), days


def area_fee_fen(area_c: int, rate_e4: int, days: int, days_in_month: int) -> int:
    """A per-m² monthly fee for ``days`` of the month: area × rate × days / days_in_month."""
    return round_half_up(area_c * rate_e4 * days, 100 * (PRICE_SCALE // FEN_PER_YUAN) * days_in_month)


def fixed_fee_fen(rate_e4: int, days: int, days_in_month: int) -> int:
    """A fixed monthly fee (per home or per parking space) for ``days`` of the month."""
    return round_half_up(rate_e4 * days, (PRICE_SCALE // FEN_PER_YUAN) * days_in_month)


def tier_list(price: Decimal | str, tiers: Sequence[dict[str, Any]] | None) -> list[tuple[int | None, int]]:
    """``[(upper bound in hundredths or None, price_e4)]``: the tariff's tiers, or one open tier."""
    if not tiers:
        return [(None, price_e4(price))]
    result = []
    for tier in tiers:
        bound = tier.get("up_to")
        result.append((hundredths(bound) if bound not in (None, "") else None, price_e4(tier["price"])))
    return result


def tiered_cost_fen(quantity_c: int, tiers: Sequence[tuple[int | None, int]]) -> int:
    """The cost of ``quantity_c`` hundredths of a unit (m³, kWh) under increasing-block tiers: each
    block's part of the quantity at that block's price, summed exactly and rounded half up once."""
    if quantity_c <= 0:
        return 0
    total_e6 = 0  # hundredths × price_e4: 1e-6 yuan
    lower = 0
    for bound, rate in tiers:
        upper = quantity_c if bound is None else min(quantity_c, bound)
        if upper > lower:
            total_e6 += (upper - lower) * rate
            lower = upper
        if bound is None or quantity_c <= bound:
            break
    if lower < quantity_c:  # tiers ended without an open block: the last price continues
        total_e6 += (quantity_c - lower) * tiers[-1][1]
    return round_half_up(total_e6, 100 * (PRICE_SCALE // FEN_PER_YUAN))


def apportion(total_fen: int, weights: Sequence[tuple[K, int]]) -> dict[K, int]:
    """Split ``total_fen`` in proportion to integer ``weights`` (floor areas in hundredths) by the
    largest-remainder method; the shares sum exactly to ``total_fen``. Keys are ordered for ties by
    their natural order (home ids), so the result is deterministic."""
    if total_fen < 0:
        raise ValueError("apportion needs a non-negative total")
    weight_sum = sum(weight for _key, weight in weights)
    if not weights or weight_sum <= 0:
        return {}
    shares: dict[K, int] = {}
    remainders: list[tuple[int, K]] = []
    allotted = 0
    for key, weight in weights:
        share, remainder = divmod(total_fen * weight, weight_sum)
        shares[key] = share
        allotted += share
        remainders.append((remainder, key))
    left = total_fen - allotted
    remainders.sort(key=lambda pair: (-pair[0], pair[1]))
    for _remainder, key in remainders[:left]:
        shares[key] += 1
    return shares


def overlap_days(start: dt.date, end: dt.date, other_start: dt.date, other_end: dt.date | None) -> int:
    """Days in both [start, end] and [other_start, other_end] (inclusive; None = open-ended)."""
    lo = max(start, other_start)
    hi = end if other_end is None else min(end, other_end)
    return (hi - lo).days + 1 if hi >= lo else 0


def format_hundredths(value: int) -> str:
    """``8950`` → ``"89.50"``: an area or a quantity kept in hundredths. (Formatting ``value / 100``
    to two places is exact for any integer below 2**53 / 100: the float is the nearest one to the
    decimal, and rounding it back to two places recovers the decimal.)"""
    return f"{value / 100:.2f}"


def format_fen(fen: int) -> str:
    """``12345`` → ``"123.45"`` (no float on the way)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d}"
