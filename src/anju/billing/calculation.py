"""Computing a period's bills: what each home owes, line by line, before anything is written.

:func:`compute_period` reads the register, tariffs, parking leases, occupancies and meter readings
with a handful of set-based queries (never one per home) and returns, per home, the lines of its bill
as plain tuples. The bill run (:mod:`anju.billing.billruns`) previews them or writes them in bulk.

Proration. A monthly price is charged for the days it applies: a tariff that changes on the 16th
gives two lines (1st–15th at the old price, 16th–end at the new one); a fee charged only while
occupied counts the days someone lived there (move-in and move-out); a parking lease the days it ran.
Each line is ``monthly amount × days / days in the month``, rounded once (see :mod:`.pricing`).
Metered usage is not prorated: it is charged at the tariff in force on the day of the closing
reading. The developer is billed like any owner: unsold homes are not skipped.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import BigIntegerField, Case, F, IntegerField, Q, Value, When
from django.db.models.functions import Cast, Round
from django.utils import translation
from django.utils.translation import gettext as _

from anju.billing import pricing
from anju.billing.models import Account, FeeItem, Meter, ParkingLease, Reading, Tariff
from anju.estates.models import Home

# (item code, income account, description, quantity, unit price, amount in fen)
Line = tuple[str, str, str, str, str, int]

ACCOUNT_FOR_KIND = {
    FeeItem.Kind.PROPERTY_FEE: Account.INCOME_PROPERTY_FEE,
    FeeItem.Kind.FIXED: Account.INCOME_FIXED,
    FeeItem.Kind.PARKING: Account.INCOME_PARKING,
    FeeItem.Kind.WATER: Account.INCOME_WATER,
    FeeItem.Kind.ELECTRICITY: Account.INCOME_ELECTRICITY,
    FeeItem.Kind.GAS: Account.INCOME_GAS,
    FeeItem.Kind.SHARED: Account.INCOME_SHARED,
}
READING_LOOKBACK_DAYS = 400  # how far back the opening reading of a period is searched


@dataclass
class PeriodBills:
    period: dt.date
    lines: dict[int, list[Line]] = field(default_factory=dict)
    held_readings: int = 0
    homes_considered: int = 0

    def totals(self) -> dict[int, int]:
        return {home_id: sum(line[5] for line in lines) for home_id, lines in self.lines.items()}


@dataclass(frozen=True)
class Segment:
    start: dt.date
    end: dt.date
    tariff: Tariff

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def tariff_segments(tariffs: list[Tariff], building_id: int | None, start: dt.date, end: dt.date) -> list[Segment]:
    """The tariffs in force over [start, end] for homes of ``building_id``: a building's own tariff
    wins over the community's from its ``valid_from``; days with no tariff at all are not charged."""
    own = [t for t in tariffs if t.building_id == building_id] if building_id is not None else []
    general = [t for t in tariffs if t.building_id is None]

    def in_force(day: dt.date) -> Tariff | None:
        for candidates in (own, general):
            best = None
            for tariff in candidates:
                if tariff.valid_from <= day and (best is None or tariff.valid_from > best.valid_from):
                    best = tariff
            if best is not None:
                return best
        return None

    change_days = sorted({start} | {t.valid_from for t in own + general if start < t.valid_from <= end})
    segments: list[Segment] = []
    for index, day in enumerate(change_days):
        last = change_days[index + 1] - dt.timedelta(days=1) if index + 1 < len(change_days) else end
        tariff = in_force(day)
        if tariff is None:
            continue
        if segments and segments[-1].tariff.pk == tariff.pk and segments[-1].end + dt.timedelta(days=1) == day:
            segments[-1] = Segment(segments[-1].start, last, tariff)
        else:
            segments.append(Segment(day, last, tariff))
    return segments


class SegmentsByBuilding:
    """:func:`tariff_segments` of one fee item, computed once per building, and with
    :meth:`priced` each segment's :class:`Price` beside it."""

    def __init__(self, tariffs: list[Tariff], first: dt.date, last: dt.date, prices: dict[int, Price]) -> None:
        self.tariffs, self.first, self.last, self.prices = tariffs, first, last, prices
        self.cache: dict[int | None, list[Segment]] = {}
        self.priced_cache: dict[int | None, list[tuple[Segment, Price]]] = {}

    def __call__(self, building_id: int | None) -> list[Segment]:
        if building_id not in self.cache:
            self.cache[building_id] = tariff_segments(self.tariffs, building_id, self.first, self.last)
        return self.cache[building_id]

    def priced(self, building_id: int | None) -> list[tuple[Segment, Price]]:
        found = self.priced_cache.get(building_id)
        if found is None:
            found = [(seg, price_of(seg.tariff, self.prices)) for seg in self(building_id)]
            self.priced_cache[building_id] = found
        return found


def _span(start: dt.date, end: dt.date, first: dt.date, last: dt.date) -> str:
    if start == first and end == last:
        return ""
    return _(" (%(start)s–%(end)s)") % {"start": f"{start:%m-%d}", "end": f"{end:%m-%d}"}


def _occupied_days(community_id: int, first: dt.date, last: dt.date) -> dict[int, list[tuple[dt.date, dt.date]]]:
    """Per home, the merged date ranges inside the month when someone was recorded living there."""
    from anju.residents.models import Occupancy

    ranges: dict[int, list[tuple[dt.date, dt.date]]] = defaultdict(list)
    rows = (
        Occupancy.objects.filter(starts_on__lte=last)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=first))
        .values_list("home_id", "starts_on", "ends_on")
    )
    for home_id, starts_on, ends_on in rows:
        ranges[home_id].append((max(starts_on, first), min(ends_on or last, last)))
    merged: dict[int, list[tuple[dt.date, dt.date]]] = {}
    for home_id, spans in ranges.items():
        spans.sort()
        out: list[tuple[dt.date, dt.date]] = []
        for lo, hi in spans:
            if out and lo <= out[-1][1] + dt.timedelta(days=1):
                out[-1] = (out[-1][0], max(out[-1][1], hi))
            else:
                out.append((lo, hi))
        merged[home_id] = out
    return merged


class Usage(NamedTuple):
    """A meter's use in the month, in hundredths of its unit. (A named tuple: one is made for
    every meter of the community.)"""

    opening_c: int
    closing_c: int
    closing_on: dt.date

    @property
    def quantity_c(self) -> int:
        return max(0, self.closing_c - self.opening_c)

    def label(self) -> str:
        return f"{pricing.format_hundredths(self.opening_c)}→{pricing.format_hundredths(self.closing_c)}"


def in_hundredths(field: str) -> Cast:
    """A two-decimal column as an integer of hundredths, converted by the database: exact on
    PostgreSQL's numeric, and rounded on SQLite where decimals are stored as floating point."""
    return Cast(Round(F(field) * 100), BigIntegerField())


def meter_usage(meter_ids: Iterable[int] | None, kinds: set[str], first: dt.date, last: dt.date) -> dict[int, Usage]:
    """Usage of each meter in the month: its last accepted reading in the month minus the last
    accepted one before it (or the latest new baseline after a meter change). A meter with no
    reading in the month has no usage yet; the next reading catches up. Held readings are ignored.
    One query, ordered by the database; one pass over it."""
    readings = Reading.objects.filter(
        status__in=[Reading.Status.OK, Reading.Status.BASELINE],
        # The community's meters (the manager's scope), not a join over every community's meters.
        meter_id__in=Meter.objects.filter(kind__in=kinds).values("pk"),
        read_on__gte=first - dt.timedelta(days=READING_LOOKBACK_DAYS),
        read_on__lte=last,
    )
    if meter_ids is not None:
        wanted = list(meter_ids)
        if not wanted:
            return {}
        readings = readings.filter(meter_id__in=wanted)
    rows = (
        readings.annotate(
            value_c=in_hundredths("value"),
            before=Case(When(read_on__lt=first, then=Value(1)), default=Value(0), output_field=IntegerField()),
        )
        .order_by("meter_id", "read_on", "id")
        .values_list("meter_id", "read_on", "status", "value_c", "before")
    )
    usage: dict[int, Usage] = {}
    baseline = Reading.Status.BASELINE.value
    current: int | None = None
    opening: int | None = None
    closing: tuple[Any, int] | None = None
    # Raw rows, without Django's per-row converters (150,000 readings for a large community): the
    # only date used is each meter's closing day, parsed below when SQLite hands it over as text.
    sql, params = rows.query.get_compiler(using=rows.db).as_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(20_000):
            for meter_id, read_on, status, value_c, before in batch:
                if meter_id != current:
                    if current is not None and closing is not None and opening is not None:
                        usage[current] = Usage(opening, closing[1], _as_date(closing[0]))
                    current, opening, closing = meter_id, None, None
                if before:
                    opening = value_c
                elif status == baseline:
                    opening, closing = value_c, None  # a new meter: usage counts from its first reading
                else:
                    closing = (read_on, value_c)
    if current is not None and closing is not None and opening is not None:
        usage[current] = Usage(opening, closing[1], _as_date(closing[0]))
    return usage


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


@dataclass(frozen=True, eq=False)
class Price:
    """A tariff converted once to integers. ``costs`` remembers the tiered cost of each quantity
    already priced: homes of one layout use similar amounts, and the cost is a pure function."""

    rate_e4: int
    tiers: list[tuple[int | None, int]]
    label: str
    costs: dict[int, int] = field(default_factory=dict)

    def tiered_cost_fen(self, quantity_c: int) -> int:
        cost = self.costs.get(quantity_c)
        if cost is None:
            cost = self.costs[quantity_c] = pricing.tiered_cost_fen(quantity_c, self.tiers)
        return cost


def price_of(tariff: Tariff, cache: dict[int, Price]) -> Price:
    found = cache.get(tariff.id)
    if found is None:
        found = Price(
            pricing.price_e4(tariff.price), pricing.tier_list(tariff.price, tariff.tiers), _tier_label(tariff)
        )
        cache[tariff.id] = found
    return found


def compute_period(
    community_id: int, period: dt.date, *, home_ids: set[int] | None = None, exclude_home_ids: set[int] | None = None
) -> PeriodBills:
    """Every home's bill lines for ``period`` (must run inside the community's scope). ``home_ids``
    limits the homes billed; ``exclude_home_ids`` skips homes already billed (shared meters are
    still apportioned over every home in their scope, so a skipped home's share is not moved onto
    its neighbours)."""
    first, last, days_in_month = pricing.month_bounds(period)
    result = PeriodBills(period=first)
    # By id, not the register's display order (a join to buildings and units and a sort of every home).
    homes: list[tuple[int, int, str, int]] = list(
        Home.objects.annotate(area_c=in_hundredths("floor_area"))
        .order_by("pk")
        .values_list("pk", "building_id", "use", "area_c")
    )
    result.homes_considered = len(homes)
    billed = {
        pk
        for pk, _b, _u, _a in homes
        if (home_ids is None or pk in home_ids) and (not exclude_home_ids or pk not in exclude_home_ids)
    }
    lines: dict[int, list[Line]] = defaultdict(list)
    items = list(FeeItem.objects.filter(active=True).order_by("kind", "code"))
    tariffs_by_item: dict[int, list[Tariff]] = defaultdict(list)
    for tariff in Tariff.objects.filter(fee_item__in=items, valid_from__lte=last):
        tariffs_by_item[tariff.fee_item_id].append(tariff)
    occupied: dict[int, list[tuple[dt.date, dt.date]]] | None = None
    home_usage: dict[int, Usage] | None = None  # every metered item's meters, read in one query
    prices: dict[int, Price] = {}
    building_of = {pk: building_id for pk, building_id, _u, _a in homes}

    with translation.override("zh-hans"):
        for item in items:
            account = ACCOUNT_FOR_KIND[FeeItem.Kind(item.kind)]
            tariffs = tariffs_by_item.get(item.pk, [])
            if not tariffs:
                continue
            uses = item.uses
            segments_for = SegmentsByBuilding(tariffs, first, last, prices)
            code, name = item.code, item.name

            if item.basis in (FeeItem.Basis.PER_AREA, FeeItem.Basis.PER_HOME):
                if item.while_occupied and occupied is None:
                    occupied = _occupied_days(community_id, first, last)
                _charge_homes(
                    item, account, homes, billed, uses, segments_for, occupied, first, last, days_in_month, lines
                )
            elif item.basis == FeeItem.Basis.PER_SPACE:
                leases = ParkingLease.objects.filter(starts_on__lte=last).filter(
                    Q(ends_on__isnull=True) | Q(ends_on__gte=first)
                )
                for lease_home, space_number, starts_on, ends_on in leases.values_list(
                    "home_id", "space__number", "starts_on", "ends_on"
                ).order_by("home_id", "space__number"):
                    if lease_home not in billed:
                        continue
                    for seg in segments_for(building_of.get(lease_home)):
                        lo, hi = max(seg.start, starts_on), min(seg.end, ends_on or last)
                        if hi < lo:
                            continue
                        price = price_of(seg.tariff, prices)
                        amount = pricing.fixed_fee_fen(price.rate_e4, (hi - lo).days + 1, days_in_month)
                        if amount:
                            lines[lease_home].append(
                                (
                                    code,
                                    account,
                                    f"{name} {space_number}" + _span(lo, hi, first, last),
                                    "1",
                                    price.label,
                                    amount,
                                )
                            )
            elif item.basis == FeeItem.Basis.METERED:
                meters = dict(
                    Meter.objects.filter(kind=item.meter_kind, home__isnull=False, removed_on__isnull=True)
                    .order_by()  # a dict: the display order (by code) would only cost a sort
                    .values_list("pk", "home_id")
                )
                if home_usage is None:
                    metered = {other.meter_kind for other in items if other.basis == FeeItem.Basis.METERED}
                    home_usage = meter_usage(None, metered, first, last)
                for meter_id in sorted(meters):
                    used = home_usage.get(meter_id)
                    if used is None:
                        continue
                    quantity_c = used.quantity_c
                    meter_home = meters[meter_id]
                    if meter_home not in billed or not quantity_c:
                        continue
                    usage_tariff = _tariff_on(segments_for(building_of.get(meter_home)), used.closing_on)
                    if usage_tariff is None:
                        continue
                    price = price_of(usage_tariff, prices)
                    amount = price.tiered_cost_fen(quantity_c)
                    if amount:
                        lines[meter_home].append(
                            (
                                code,
                                account,
                                f"{name} {used.label()}",
                                pricing.format_hundredths(quantity_c),
                                price.label,
                                amount,
                            )
                        )
            elif item.basis == FeeItem.Basis.SHARED:
                _apportion_shared(item, account, homes, billed, uses, segments_for, first, last, lines)
    result.lines = {home_id: home_lines for home_id, home_lines in lines.items() if home_lines}
    result.held_readings = Reading.objects.filter(status=Reading.Status.HELD, read_on__lte=last).count()
    return result


def _charge_homes(
    item: FeeItem,
    account: str,
    homes: list[tuple[int, int, str, int]],
    billed: set[int],
    uses: set[str],
    segments_for: SegmentsByBuilding,
    occupied: dict[int, list[tuple[dt.date, dt.date]]] | None,
    first: dt.date,
    last: dt.date,
    days_in_month: int,
    lines: dict[int, list[Line]],
) -> None:
    """A per-m² or per-home fee for every billed home: one line per tariff segment (per occupied
    span inside it for a fee charged only while occupied)."""
    code, name, per_area, while_occupied = (
        item.code,
        item.name,
        item.basis == FeeItem.Basis.PER_AREA,
        item.while_occupied,
    )
    # (rate, days, area in hundredths) → (amount, quantity): homes of one layout share their line.
    charged: dict[tuple[int, int, int], tuple[int, str]] = {}
    for pk, building_id, use, area_c in homes:
        if pk not in billed or use not in uses:
            continue
        home_lines = lines[pk]
        for seg, price in segments_for.priced(building_id):
            if while_occupied:
                spans = [
                    (max(lo, seg.start), min(hi, seg.end))
                    for lo, hi in (occupied or {}).get(pk, [])
                    if lo <= seg.end and hi >= seg.start
                ]
            else:
                spans = [(seg.start, seg.end)]
            for lo, hi in spans:
                days = (hi - lo).days + 1
                key = (price.rate_e4, days, area_c if per_area else 0)
                found = charged.get(key)
                if found is None:
                    if per_area:
                        found = (
                            pricing.area_fee_fen(area_c, price.rate_e4, days, days_in_month),
                            f"{pricing.format_hundredths(area_c)} m²",
                        )
                    else:
                        found = (pricing.fixed_fee_fen(price.rate_e4, days, days_in_month), "1")
                    charged[key] = found
                amount, quantity = found
                if amount:
                    description = name if days == days_in_month else name + _span(lo, hi, first, last)
                    home_lines.append((code, account, description, quantity, price.label, amount))


def _tariff_on(segments: list[Segment], day: dt.date) -> Tariff | None:
    for seg in segments:
        if seg.start <= day <= seg.end:
            return seg.tariff
    return segments[-1].tariff if segments else None


def _tier_label(tariff: Tariff) -> str:
    if not tariff.tiers:
        return f"{tariff.price}"
    return "/".join(str(tier.get("price")) for tier in tariff.tiers)


def _apportion_shared(
    item: FeeItem,
    account: str,
    homes: list[tuple[int, int, str, int]],
    billed: set[int],
    uses: set[str],
    segments_for: SegmentsByBuilding,
    first: dt.date,
    last: dt.date,
    lines: dict[int, list[Line]],
) -> None:
    """Each shared meter's cost, rounded once, split by floor area over the homes in its scope."""
    meters = list(
        Meter.objects.filter(kind=item.meter_kind, home__isnull=True, removed_on__isnull=True).values_list(
            "pk", "code", "building_id"
        )
    )
    usage = meter_usage([pk for pk, _c, _b in meters], {item.meter_kind}, first, last)
    for meter_id, code, building_id in meters:
        used = usage.get(meter_id)
        if used is None or not used.quantity_c:
            continue
        tariff = _tariff_on(segments_for(building_id), used.closing_on)
        if tariff is None:
            continue
        cost = pricing.tiered_cost_fen(used.quantity_c, pricing.tier_list(tariff.price, tariff.tiers))
        weights = [
            (pk, area_c)
            for pk, home_building, use, area_c in homes
            if use in uses and (building_id is None or home_building == building_id)
        ]
        shares = pricing.apportion(cost, sorted(weights))
        for home_id, share in shares.items():
            if share and home_id in billed:
                lines[home_id].append(
                    (
                        item.code,
                        account,
                        f"{item.name} {code}",
                        pricing.format_hundredths(used.quantity_c),
                        _tier_label(tariff),
                        share,
                    )
                )
