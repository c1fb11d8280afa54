"""Calendar arithmetic for preventive work: pure functions, no database.

Inspection plans recur on *local days* (Asia/Shanghai, the configured ``TIME_ZONE``): daily, on
chosen weekdays, or on chosen days of the month. Each day the plan falls on gets one round whose
time window is local wall-clock time on that day; a window whose end is not after its start runs
overnight and ends on the next day (a 22:00–02:00 night patrol). Windows are converted to aware UTC
datetimes for storage.

Monthly rules name days 1–31; in a month that has no such day the round falls on the month's last
day instead (a "31st" plan patrols on 30 April and 28/29 February), and two named days that land on
the same last day give one round, not two.

Maintenance plans recur by an interval counted from an anchor date: every N days, months or years.
Dates are always ``anchor + k × interval`` (never "previous date + interval"), so a monthly plan
anchored on 31 January falls on 28 February and then on 31 March again, without drifting.

Both kinds are effective-dated: a plan keeps a list of schedule versions, each applying from its
``effective_from`` day until the next version's. Rounds and work orders already generated keep the
version that made them; a new version only shapes the days from its start.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

from django.conf import settings

DAILY = "daily"
WEEKLY = "weekly"
MONTHLY = "monthly"

DAYS = "days"
MONTHS = "months"
YEARS = "years"


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


@dataclass(frozen=True)
class RoundRule:
    """When an inspection plan's rounds fall and when each may be walked."""

    frequency: str
    weekdays: frozenset[int]  # ISO weekdays, 1 = Monday … 7 = Sunday (weekly plans)
    month_days: frozenset[int]  # 1 … 31 (monthly plans)
    window_start: dt.time
    window_end: dt.time

    def falls_on(self, day: dt.date) -> bool:
        if self.frequency == DAILY:
            return True
        if self.frequency == WEEKLY:
            return day.isoweekday() in self.weekdays
        if self.frequency == MONTHLY:
            last = calendar.monthrange(day.year, day.month)[1]
            return day.day in {min(wanted, last) for wanted in self.month_days}
        raise ValueError(f"unknown frequency {self.frequency!r}")

    @property
    def overnight(self) -> bool:
        return self.window_end <= self.window_start

    def window(self, day: dt.date, zone: ZoneInfo | None = None) -> tuple[dt.datetime, dt.datetime]:
        """The round's window on local ``day`` as aware UTC datetimes (start inclusive, end exclusive).

        Wall-clock times are attached with ``zoneinfo``; China keeps no daylight saving time, but
        the arithmetic stays correct for a zone that does (the local times are resolved per day).
        """
        zone = zone or local_zone()
        start = dt.datetime.combine(day, self.window_start, tzinfo=zone)
        end_day = day + dt.timedelta(days=1) if self.overnight else day
        end = dt.datetime.combine(end_day, self.window_end, tzinfo=zone)
        return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


RuleT = TypeVar("RuleT")


@dataclass(frozen=True)
class Version(Generic[RuleT]):
    """One effective-dated schedule version of a plan."""

    effective_from: dt.date
    rule: RuleT
    key: int = 0  # the stored version's id, so callers know which version made a date


def versions_in_force(
    versions: Sequence[Version[RuleT]], start: dt.date, end: dt.date
) -> Iterator[tuple[Version[RuleT], dt.date, dt.date]]:
    """Each version with the part of ``[start, end]`` (inclusive) it governs, in date order."""
    ordered = sorted(versions, key=lambda v: v.effective_from)
    for index, version in enumerate(ordered):
        following = ordered[index + 1].effective_from if index + 1 < len(ordered) else None
        first = max(start, version.effective_from)
        last = end if following is None else min(end, following - dt.timedelta(days=1))
        if first <= last:
            yield version, first, last


def round_days(
    versions: Sequence[Version[RoundRule]], start: dt.date, end: dt.date
) -> list[tuple[dt.date, Version[RoundRule]]]:
    """Every local day in ``[start, end]`` with a round, and the version that puts it there."""
    days: list[tuple[dt.date, Version[RoundRule]]] = []
    for version, first, last in versions_in_force(versions, start, end):
        day = first
        while day <= last:
            if version.rule.falls_on(day):
                days.append((day, version))
            day += dt.timedelta(days=1)
    return days


@dataclass(frozen=True)
class Interval:
    """A maintenance interval: ``every`` days, months or years."""

    every: int
    unit: str

    def after(self, anchor: dt.date, steps: int) -> dt.date:
        """``anchor`` plus ``steps`` intervals; month and year steps clamp to the month's last day."""
        if self.unit == DAYS:
            return anchor + dt.timedelta(days=self.every * steps)
        months = self.every * steps * (12 if self.unit == YEARS else 1)
        if self.unit not in (MONTHS, YEARS):
            raise ValueError(f"unknown interval unit {self.unit!r}")
        year, month0 = divmod(anchor.month - 1 + months, 12)
        year += anchor.year
        last = calendar.monthrange(year, month0 + 1)[1]
        return dt.date(year, month0 + 1, min(anchor.day, last))


def due_dates(
    versions: Sequence[Version[Interval]], start: dt.date, end: dt.date
) -> list[tuple[dt.date, Version[Interval]]]:
    """Every due date in ``[start, end]`` with the version that sets it.

    A maintenance version's ``effective_from`` is its first due date (its anchor): due dates are
    ``effective_from + k × interval`` until the next version's first due date.
    """
    ordered = sorted(versions, key=lambda v: v.effective_from)
    found: list[tuple[dt.date, Version[Interval]]] = []
    for index, version in enumerate(ordered):
        following = ordered[index + 1].effective_from if index + 1 < len(ordered) else None
        steps = 0
        while True:
            due = version.rule.after(version.effective_from, steps)
            if due > end or (following is not None and due >= following):
                break
            if due >= start:
                found.append((due, version))
            steps += 1
            if steps > 100_000:  # a guard against a nonsensical interval; 15 days × 100,000 is 4,000 years
                break
    return found
