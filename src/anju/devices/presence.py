"""Online and offline from heartbeats: any message marks a device online (:mod:`.store`); silence
for three reporting intervals marks it offline here."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from anju.core.tenancy import scopes_disabled
from anju.devices.messages import DeviceMessage
from anju.devices.models import Device
from anju.devices.store import run_alarm_rules

MISSED_INTERVALS = 3


def sweep_offline(now: dt.datetime | None = None) -> int:
    """Mark silent devices offline and tell the alarm rules. Each device is claimed with a
    conditional UPDATE (still online, still silent), so two sweeps never report one twice."""
    now = now or timezone.now()
    with scopes_disabled():
        online = Device.objects.filter(online=True, retired_at__isnull=True).values_list(
            "pk", "community_id", "kind", "last_seen_at", "heartbeat_seconds"
        )
        candidates = [
            (pk, community_id, kind, last_seen_at)
            for pk, community_id, kind, last_seen_at, seconds in online
            if last_seen_at is None or last_seen_at < now - dt.timedelta(seconds=seconds * MISSED_INTERVALS)
        ]
        went_offline: list[DeviceMessage] = []
        for pk, community_id, kind, last_seen_at in candidates:
            claimed = Device.objects.filter(pk=pk, online=True, last_seen_at=last_seen_at).update(online=False)
            if claimed == 1:
                went_offline.append(
                    DeviceMessage(
                        community_id=community_id,
                        device_id=pk,
                        device_kind=kind,
                        channel="status",
                        received_at=now,
                        attrs={"online": False, "reason": "silent"},
                    )
                )
    if went_offline:
        run_alarm_rules(went_offline)
    return len(went_offline)
