"""iCalendar (.ics) export of activities, with the ``icalendar`` package."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.utils import timezone
from icalendar import Calendar, Event

from anju.community.models import Activity

PRODID = "-//anju//community activities//ZH"


def _host() -> str:
    hosts = [h for h in getattr(settings, "ALLOWED_HOSTS", []) if h and h not in {"*", ".localhost"}]
    return hosts[0].lstrip(".") if hosts else "anju.local"


def activities_calendar(activities: Iterable[Activity], *, name: str, url_of: dict[int, str] | None = None) -> bytes:
    """A VCALENDAR with one VEVENT per activity (times in UTC; cancelled ones marked CANCELLED)."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", settings.TIME_ZONE)
    stamp = timezone.now()
    for activity in activities:
        event = Event()
        event.add("uid", f"activity-{activity.pk}@{_host()}")
        event.add("dtstamp", stamp)
        event.add("dtstart", activity.starts_at)
        event.add("dtend", activity.ends_at)
        event.add("summary", activity.title)
        event.add("location", activity.place)
        if activity.description:
            event.add("description", activity.description)
        if url_of and activity.pk in url_of:
            event.add("url", url_of[activity.pk])
        event.add("status", "CANCELLED" if activity.cancelled_at else "CONFIRMED")
        calendar.add_component(event)
    return calendar.to_ical()
