"""Working-hours arithmetic, for any start and duration: the deadline falls inside working hours (or
at the close), and the working minutes between start and deadline are exactly those asked for."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from anju.workorders.models import WorkingCalendar
from anju.workorders.sla import add_working_minutes

SHANGHAI = ZoneInfo("Asia/Shanghai")
CALENDAR = WorkingCalendar(
    name="office", weekdays=[0, 1, 2, 3, 4], starts_at=dt.time(8, 30), ends_at=dt.time(17, 30), holidays=["2026-10-01"]
)


def _working_minutes_between(start: dt.datetime, end: dt.datetime) -> int:
    """Count minute by minute (slow and obviously right) the working minutes in [start, end)."""
    count, moment = 0, start.astimezone(SHANGHAI)
    end = end.astimezone(SHANGHAI)
    while moment < end:
        working_day = moment.weekday() in CALENDAR.weekdays and moment.date().isoformat() not in CALENDAR.holidays
        if working_day and CALENDAR.starts_at <= moment.time() < CALENDAR.ends_at:
            count += 1
        moment += dt.timedelta(minutes=1)
    return count


@given(
    start=st.datetimes(min_value=dt.datetime(2026, 9, 25), max_value=dt.datetime(2026, 10, 10)).map(
        lambda value: value.replace(second=0, microsecond=0, tzinfo=SHANGHAI)
    ),
    minutes=st.integers(min_value=1, max_value=3 * 9 * 60),
)
def test_deadline_counts_exactly_the_working_minutes(start: dt.datetime, minutes: int) -> None:
    due = add_working_minutes(start, minutes, CALENDAR).astimezone(SHANGHAI)
    assert due > start
    assert CALENDAR.starts_at < due.time() <= CALENDAR.ends_at
    assert due.weekday() < 5 and due.date().isoformat() not in CALENDAR.holidays
    assert _working_minutes_between(start, due) == minutes
