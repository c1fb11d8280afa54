"""Periodic work of community life."""

from __future__ import annotations

from datetime import timedelta

from anju.community.services.announcements import notify_due_announcements
from anju.core.periodic import periodic


@periodic("community.announce_due", every=timedelta(minutes=1))
def announce_due() -> int:
    """Notify the audiences of scheduled announcements whose publication time has come."""
    return notify_due_announcements()
