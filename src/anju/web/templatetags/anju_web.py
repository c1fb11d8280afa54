"""Small template helpers for the web shell."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone

from anju.web.navigation import NavLink, console_links, portal_tabs

register = template.Library()


@register.filter
def from_now(delta: dt.timedelta | None) -> dt.datetime | None:
    """The local time ``delta`` from now, e.g. when a locked-out person may try again."""
    if delta is None:
        return None
    return timezone.localtime(timezone.now() + delta)


@register.filter
def whole_minutes(delta: dt.timedelta | None) -> int:
    """``delta`` in whole minutes, rounded up so "try again in N minutes" is never too early."""
    if delta is None:
        return 0
    seconds = int(delta.total_seconds())
    return max(1, -(-seconds // 60))


@register.simple_tag
def app_console_links(can: dict[str, bool] | None) -> list[NavLink]:
    """The console links other apps registered (:mod:`anju.web.navigation`) that ``can`` allows."""
    return console_links(can or {})


@register.simple_tag
def app_portal_tabs() -> list[NavLink]:
    return portal_tabs()


@register.filter
def belongs_to(url_name: str | None, key: str) -> bool:
    """Whether a URL name is one of an app's (named ``<key>`` or ``<key>_…``): marks the current tab."""
    return bool(url_name) and (url_name == key or str(url_name).startswith(f"{key}_"))
