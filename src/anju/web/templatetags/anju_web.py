"""Small template helpers for the web shell."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone

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
