"""The calendar arithmetic of plans: which local days get a round, windows in UTC, intervals."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anju.workorders.preventive import schedules
from anju.workorders.preventive.schedules import Interval, RoundRule, Version

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC


def rule(frequency: str, *, weekdays=(), month_days=(), start=dt.time(8), end=dt.time(10)) -> RoundRule:
    return RoundRule(frequency, frozenset(weekdays), frozenset(month_days), start, end)


def days_of(r: RoundRule, start: dt.date, end: dt.date) -> list[dt.date]:
    return [day for day, _ in schedules.round_days([Version(start, r)], start, end)]


def test_daily_plan_has_a_round_every_day_including_month_and_year_ends():
    days = days_of(rule("daily"), dt.date(2026, 12, 30), dt.date(2027, 1, 2))
    assert days == [dt.date(2026, 12, 30), dt.date(2026, 12, 31), dt.date(2027, 1, 1), dt.date(2027, 1, 2)]


def test_weekly_plan_falls_on_its_iso_weekdays_only():
    # 2026-11-23 is a Monday; Monday (1) and Sunday (7) chosen.
    days = days_of(rule("weekly", weekdays={1, 7}), dt.date(2026, 11, 23), dt.date(2026, 12, 7))
    assert days == [
        dt.date(2026, 11, 23),
        dt.date(2026, 11, 29),
        dt.date(2026, 11, 30),
        dt.date(2026, 12, 6),
        dt.date(2026, 12, 7),
    ]
    assert all(day.isoweekday() in (1, 7) for day in days)


def test_monthly_plan_on_the_31st_falls_on_the_last_day_of_shorter_months():
    days = days_of(rule("monthly", month_days={31}), dt.date(2027, 1, 1), dt.date(2027, 5, 31))
    assert days == [
        dt.date(2027, 1, 31),
        dt.date(2027, 2, 28),
        dt.date(2027, 3, 31),
        dt.date(2027, 4, 30),
        dt.date(2027, 5, 31),
    ]


def test_monthly_plan_in_a_leap_february_and_no_double_round_when_days_clamp_together():
    days = days_of(rule("monthly", month_days={29, 30, 31}), dt.date(2028, 2, 1), dt.date(2028, 3, 1))
    assert days == [dt.date(2028, 2, 29)]  # 29, 30 and 31 all land on the 29th: one round
    days = days_of(rule("monthly", month_days={1, 15}), dt.date(2026, 2, 1), dt.date(2026, 3, 1))
    assert days == [dt.date(2026, 2, 1), dt.date(2026, 2, 15), dt.date(2026, 3, 1)]


def test_window_is_local_wall_clock_time_stored_in_utc():
    start, end = rule("daily", start=dt.time(8), end=dt.time(10)).window(dt.date(2026, 11, 24), SHANGHAI)
    assert start == dt.datetime(2026, 11, 24, 0, 0, tzinfo=UTC)
    assert end == dt.datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


def test_an_early_morning_window_belongs_to_the_local_day_not_the_utc_day():
    # 00:30-02:00 in Shanghai on the 24th is 16:30-18:00 UTC on the 23rd.
    start, _ = rule("daily", start=dt.time(0, 30), end=dt.time(2)).window(dt.date(2026, 11, 24), SHANGHAI)
    assert start == dt.datetime(2026, 11, 23, 16, 30, tzinfo=UTC)
    assert start.astimezone(SHANGHAI).date() == dt.date(2026, 11, 24)


def test_overnight_window_closes_the_next_local_day():
    r = rule("daily", start=dt.time(22), end=dt.time(2))
    assert r.overnight
    start, end = r.window(dt.date(2026, 12, 31), SHANGHAI)
    assert start.astimezone(SHANGHAI) == dt.datetime(2026, 12, 31, 22, 0, tzinfo=SHANGHAI)
    assert end.astimezone(SHANGHAI) == dt.datetime(2027, 1, 1, 2, 0, tzinfo=SHANGHAI)
    assert end - start == dt.timedelta(hours=4)


def test_a_new_version_governs_from_its_first_day_and_the_old_one_until_the_day_before():
    old = Version(dt.date(2026, 11, 1), rule("daily"), key=1)
    new = Version(dt.date(2026, 11, 25), rule("weekly", weekdays={3}), key=2)  # Wednesdays
    found = schedules.round_days([new, old], dt.date(2026, 11, 23), dt.date(2026, 12, 3))
    assert [(day, v.key) for day, v in found] == [
        (dt.date(2026, 11, 23), 1),
        (dt.date(2026, 11, 24), 1),
        (dt.date(2026, 11, 25), 2),
        (dt.date(2026, 12, 2), 2),
    ]


def test_nothing_before_the_first_version():
    v = Version(dt.date(2026, 11, 25), rule("daily"))
    assert schedules.round_days([v], dt.date(2026, 11, 20), dt.date(2026, 11, 24)) == []


def test_month_intervals_anchor_on_the_first_date_and_do_not_drift():
    monthly = Interval(1, schedules.MONTHS)
    anchor = dt.date(2027, 1, 31)
    assert [monthly.after(anchor, k) for k in range(4)] == [
        dt.date(2027, 1, 31),
        dt.date(2027, 2, 28),
        dt.date(2027, 3, 31),
        dt.date(2027, 4, 30),
    ]
    assert Interval(1, schedules.YEARS).after(dt.date(2028, 2, 29), 1) == dt.date(2029, 2, 28)
    assert Interval(15, schedules.DAYS).after(dt.date(2026, 12, 20), 1) == dt.date(2027, 1, 4)


def test_due_dates_switch_to_the_new_interval_at_its_first_due_date():
    fortnightly = Version(dt.date(2026, 11, 1), Interval(15, schedules.DAYS), key=1)
    monthly = Version(dt.date(2026, 12, 10), Interval(1, schedules.MONTHS), key=2)
    found = schedules.due_dates([fortnightly, monthly], dt.date(2026, 11, 1), dt.date(2027, 2, 28))
    assert [(d, v.key) for d, v in found] == [
        (dt.date(2026, 11, 1), 1),
        (dt.date(2026, 11, 16), 1),
        (dt.date(2026, 12, 1), 1),
        (dt.date(2026, 12, 10), 2),
        (dt.date(2027, 1, 10), 2),
        (dt.date(2027, 2, 10), 2),
    ]


@given(
    anchor=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2090, 12, 31)),
    every=st.integers(min_value=1, max_value=24),
    unit=st.sampled_from([schedules.DAYS, schedules.MONTHS, schedules.YEARS]),
)
def test_due_dates_are_strictly_increasing_and_start_at_the_anchor(anchor, every, unit):
    found = schedules.due_dates([Version(anchor, Interval(every, unit))], anchor, anchor + dt.timedelta(days=800))
    dates = [d for d, _ in found]
    assert dates[0] == anchor
    assert all(a < b for a, b in itertools.pairwise(dates))


@given(
    day=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2090, 12, 31)),
    start=st.times(),
    end=st.times(),
)
def test_every_window_is_a_positive_span_starting_on_its_local_day(day, start, end):
    start = start.replace(microsecond=0)
    end = end.replace(microsecond=0)
    if start == end:
        return
    opens, closes = rule("daily", start=start, end=end).window(day, SHANGHAI)
    assert closes > opens
    assert opens.astimezone(SHANGHAI).date() == day
    assert closes - opens <= dt.timedelta(hours=24)


def test_unknown_frequency_is_a_programming_error():
    with pytest.raises(ValueError):
        rule("hourly").falls_on(dt.date(2026, 1, 1))
