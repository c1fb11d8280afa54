"""Smart meters feed billing: each meter's latest ``reading`` becomes that day's meter reading.

The ingest path stays lean (5,000 messages a second): it only stores telemetry. Once an hour,
:func:`feed_meter_readings` takes, for every meter device that billing knows under the same number
(billing's ``Meter.code`` = the device's ``code``, which is also its MQTT topic name), the newest
telemetry row carrying a ``reading`` in the last ``LOOKBACK`` and hands it to
:func:`anju.billing.services.record_device_reading`. Billing stores one reading per meter and day
(a later value that day replaces the earlier one; the same value twice is stored once) and holds a
reading lower than the last or an implausible jump for review, exactly as for a typed reading — so
running this job twice, or concurrently, records nothing twice.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db.models import Q
from django.utils import timezone

from anju.core.errors import DomainError
from anju.core.tenancy import scopes_disabled
from anju.devices.models import Device, DeviceKind, MessageKind, Telemetry

logger = logging.getLogger(__name__)

METER_KINDS = (DeviceKind.WATER_METER, DeviceKind.ELECTRICITY_METER, DeviceKind.GAS_METER, DeviceKind.HEAT_METER)
LOOKBACK = dt.timedelta(hours=2)


def feed_meter_readings(now: dt.datetime | None = None) -> int:
    """Hand the latest reading of every billed smart meter to billing; returns how many were sent."""
    from anju.billing.models import Meter
    from anju.billing.services import record_device_reading

    now = now or timezone.now()
    since = now - LOOKBACK
    with scopes_disabled():
        billed = set(Meter.objects.values_list("community_id", "code"))
        devices = [
            (pk, community_id, code)
            for pk, community_id, code in Device.objects.filter(kind__in=METER_KINDS).values_list(
                "pk", "community_id", "code"
            )
            if (community_id, code) in billed
        ]
    sent = 0
    for device_id, community_id, code in devices:
        with scopes_disabled():
            latest = (
                Telemetry.objects.filter(device_id=device_id, kind=MessageKind.TELEMETRY, ts__gte=since, ts__lte=now)
                .filter(Q(data__has_key="reading"))
                .order_by("-ts", "-seq")
                .values_list("ts", "data")
                .first()
            )
        if latest is None:
            continue
        read_at, data = latest
        try:
            record_device_reading(community_id=community_id, device_ref=code, value=data["reading"], read_at=read_at)
        except DomainError as refused:  # an unparseable value: billing keeps nothing, the next run tries again
            logger.warning("meter %s/%s reading refused: %s", community_id, code, refused.code)
            continue
        sent += 1
    return sent
