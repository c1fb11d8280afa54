"""SLA deadlines: which policy applies to an order, and when its clocks run out.

A policy is chosen by category and priority, the category's own rule winning over the community's
catch-all (category empty), and among those the one with the latest ``effective_from`` not after the
moment the order was reported: a later change never moves an existing order's deadlines.

Deadlines count wall-clock minutes, except for a category with a working calendar, where they count
only minutes inside working hours (e.g. greenery reported on Friday at 17:00 with 4 working hours is
due on Monday at 11:30). The walk is day by day in the local time zone, at most a year ahead.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q

from anju.workorders.models import Category, SlaPolicy, WorkingCalendar

LOCAL_ZONE = ZoneInfo(settings.TIME_ZONE)
MAX_DAYS = 366


def policy_for(category: Category, priority: str, at: dt.datetime) -> SlaPolicy | None:
    candidates = SlaPolicy.objects.filter(
        Q(category=category) | Q(category__isnull=True),
        community_id=category.community_id,
        priority=priority,
        effective_from__lte=at,
    ).order_by("category_id", "-effective_from")
    # NULLs sort last on PostgreSQL and first on SQLite: choose in Python, among at most a few rows.
    best: SlaPolicy | None = None
    for policy in candidates[:20]:
        if best is None:
            best = policy
            continue
        specific, best_specific = policy.category_id is not None, best.category_id is not None
        if (specific and not best_specific) or (
            specific == best_specific and policy.effective_from > best.effective_from
        ):
            best = policy
    return best


def _is_working_day(calendar: WorkingCalendar, day: dt.date) -> bool:
    iso = day.isoformat()
    if iso in (calendar.extra_workdays or []):
        return True
    if iso in (calendar.holidays or []):
        return False
    return day.weekday() in (calendar.weekdays or [])


def add_working_minutes(start: dt.datetime, minutes: int, calendar: WorkingCalendar | None) -> dt.datetime:
    """``start`` plus ``minutes``, counting only ``calendar``'s working hours (all hours if None)."""
    if calendar is None:
        return start + dt.timedelta(minutes=minutes)
    remaining = dt.timedelta(minutes=minutes)
    local = start.astimezone(LOCAL_ZONE)
    day = local.date()
    for _ in range(MAX_DAYS):
        if _is_working_day(calendar, day):
            opens = dt.datetime.combine(day, calendar.starts_at, tzinfo=LOCAL_ZONE)
            closes = dt.datetime.combine(day, calendar.ends_at, tzinfo=LOCAL_ZONE)
            begin = max(opens, local)
            if begin < closes:
                available = closes - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(dt.UTC)
                remaining -= available
        day += dt.timedelta(days=1)
        local = dt.datetime.combine(day, dt.time(0), tzinfo=LOCAL_ZONE)
    # A calendar without working days: fall back to the clock rather than never expiring.
    return start + dt.timedelta(minutes=minutes)


def deadlines(
    category: Category, priority: str, at: dt.datetime
) -> tuple[SlaPolicy | None, dt.datetime | None, dt.datetime | None]:
    """(policy, response due, resolution due) for an order of ``category`` reported at ``at``."""
    policy = policy_for(category, priority, at)
    if policy is None:
        return None, None, None
    calendar = category.calendar if category.calendar_id else None
    return (
        policy,
        add_working_minutes(at, policy.response_minutes, calendar),
        add_working_minutes(at, policy.resolution_minutes, calendar),
    )
