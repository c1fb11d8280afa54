"""Committing a batch of validated messages: the hot path every ingestion channel shares.

One transaction per batch writes the telemetry rows (COPY into a temporary staging table, then one
``INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING`` on PostgreSQL; row-by-row ``INSERT … ON
CONFLICT DO NOTHING`` on SQLite), the per-device counters, the devices' last-seen times and the
dead letters. The rows the database did not insert are duplicates: they are counted and dropped.
Only after the commit are the new messages handed to the alarm rules, and only after that does the
MQTT worker acknowledge them to the broker — so a crash at any point before the acknowledgement
makes the broker deliver the batch again, and the key (device, device time, sequence number)
makes that redelivery harmless.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from anju.core.tenancy import scopes_disabled
from anju.devices.messages import DeviceMessage
from anju.devices.models import DeadLetter, Device, DeviceStream, ServiceMode
from anju.devices.parsing import storage_key, stored_data

logger = logging.getLogger(__name__)

# A device whose sequence number falls back by more than this restarted its counter (a reboot
# without persistent storage): a new counting epoch starts. Smaller steps back are late arrivals.
SEQ_RESET_GAP = 1000
# ``last_seen_at`` is refreshed at most this often per device: the hot path must not rewrite every
# device row on every batch.
LAST_SEEN_RESOLUTION = dt.timedelta(seconds=15)

COLUMNS = ("device_id", "ts", "seq", "community_id", "kind", "received_at", "data")


@dataclass
class BatchResult:
    stored: list[DeviceMessage] = field(default_factory=list)
    duplicates: int = 0
    dead_letters: int = 0

    @property
    def points(self) -> int:
        return sum(len(message.points) for message in self.stored)


def _alarm_pipeline() -> Callable[[Sequence[DeviceMessage]], object] | None:
    try:
        from anju.devices.alarms.pipeline import process
    except ImportError:  # the alarms sub-app has not provided its pipeline (yet)
        return None
    return process


@dataclass
class _Tally:
    """What one batch means for one device's counters."""

    new: int = 0
    duplicates: int = 0
    sequenced: int = 0  # new messages carrying a real sequence number
    low: int | None = None
    high: int | None = None
    last: dt.datetime | None = None

    def add_new(self, message: DeviceMessage, when: dt.datetime) -> None:
        self.new += 1
        if message.seq is not None:
            self.sequenced += 1
            self.low = message.seq if self.low is None else min(self.low, message.seq)
            self.high = message.seq if self.high is None else max(self.high, message.seq)
        if self.last is None or when > self.last:
            self.last = when


def commit_batch(messages: Sequence[DeviceMessage], dead_letters: Sequence[DeadLetter] = ()) -> BatchResult:
    """Store ``messages`` and ``dead_letters`` in one transaction, then run the alarm rules on the
    messages that were new. Returns what was stored and how many were duplicates."""
    result = BatchResult(dead_letters=len(dead_letters))
    unique: dict[tuple[int, dt.datetime, int], DeviceMessage] = {}
    tallies: dict[int, _Tally] = {}
    for message in messages:
        key = storage_key(message)
        if key in unique:
            tallies.setdefault(message.device_id, _Tally()).duplicates += 1
        else:
            unique[key] = message
    woke: list[DeviceMessage] = []
    with scopes_disabled(), transaction.atomic():
        if unique:
            inserted = _insert(unique)
            for key, message in unique.items():
                tally = tallies.setdefault(message.device_id, _Tally())
                if key in inserted:
                    result.stored.append(message)
                    tally.add_new(message, key[1])
                else:
                    tally.duplicates += 1
            _update_streams(tallies)
            woke = _touch_devices(result.stored)
            _apply_status(result.stored)
        if dead_letters:
            DeadLetter.objects.bulk_create(dead_letters, batch_size=500)
    result.duplicates = sum(tally.duplicates for tally in tallies.values())
    handed = woke + result.stored
    if handed:
        run_alarm_rules(handed)
    return result


def run_alarm_rules(messages: Sequence[DeviceMessage]) -> None:
    """Hand committed messages to the alarm rules; a failing rule is logged, never fatal here."""
    process = _alarm_pipeline()
    if process is None:
        return
    try:
        process(messages)
    except Exception:  # the messages are stored; a rule's bug must not stop ingestion
        logger.exception("alarm pipeline failed on a batch of %d messages", len(messages))


def _rows(unique: dict[tuple[int, dt.datetime, int], DeviceMessage]) -> list[tuple[Any, ...]]:
    return [
        (device_id, ts, seq, m.community_id, m.channel, m.received_at, json.dumps(stored_data(m), ensure_ascii=False))
        for (device_id, ts, seq), m in unique.items()
    ]


def _insert(unique: dict[tuple[int, dt.datetime, int], DeviceMessage]) -> set[tuple[int, dt.datetime, int]]:
    """Insert the rows, returning the keys actually inserted (the others were already stored)."""
    rows = _rows(unique)
    if connection.vendor == "postgresql":
        return _insert_postgresql(rows)
    return _insert_generic(rows)


def _insert_postgresql(rows: list[tuple[Any, ...]]) -> set[tuple[int, dt.datetime, int]]:
    """COPY into a session-private staging table numbered by position, insert what is new, and
    read back only the positions inserted (integers, cheaper to fetch than the keys themselves)."""
    columns = ", ".join(COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS anju_telemetry_batch "
            "(n integer, LIKE devices_telemetry INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        raw = cursor.cursor
        with raw.copy(f"COPY anju_telemetry_batch (n, {columns}) FROM STDIN") as copy:
            for position, row in enumerate(rows):
                copy.write_row((position, *row))
        cursor.execute(
            f"WITH inserted AS (INSERT INTO devices_telemetry ({columns}) SELECT {columns} FROM anju_telemetry_batch "
            "ON CONFLICT DO NOTHING RETURNING device_id, ts, seq) "
            "SELECT b.n FROM anju_telemetry_batch b JOIN inserted i "
            "ON i.device_id = b.device_id AND i.ts = b.ts AND i.seq = b.seq"
        )
        positions = [n for (n,) in cursor.fetchall()]
    return {(rows[n][0], rows[n][1], rows[n][2]) for n in positions}


def _insert_generic(rows: list[tuple[Any, ...]]) -> set[tuple[int, dt.datetime, int]]:
    ops = connection.ops
    placeholders = ", ".join(["%s"] * len(COLUMNS))
    sql = f"INSERT INTO devices_telemetry ({', '.join(COLUMNS)}) VALUES ({placeholders}) ON CONFLICT DO NOTHING"
    inserted: set[tuple[int, dt.datetime, int]] = set()
    with connection.cursor() as cursor:
        for device_id, ts, seq, community_id, kind, received_at, data in rows:
            cursor.execute(
                sql,
                [
                    device_id,
                    ops.adapt_datetimefield_value(ts),
                    seq,
                    community_id,
                    kind,
                    ops.adapt_datetimefield_value(received_at),
                    data,
                ],
            )
            if cursor.rowcount == 1:
                inserted.add((device_id, ts, seq))
    return inserted


_RESET = f"(s.high_seq IS NOT NULL AND v.low IS NOT NULL AND v.low < s.high_seq - {SEQ_RESET_GAP})"
_UPDATE_STREAMS = f"""
WITH v(device_id, new, dup, sequenced, low, high, last) AS (VALUES {{values}})
UPDATE devices_devicestream AS s SET
    received = s.received + v.new,
    duplicates = s.duplicates + v.dup,
    lost_before = CASE WHEN {_RESET} THEN s.lost_before
        + CASE WHEN s.high_seq - s.first_seq + 1 > s.epoch_received
               THEN s.high_seq - s.first_seq + 1 - s.epoch_received ELSE 0 END
        ELSE s.lost_before END,
    first_seq = CASE WHEN v.low IS NULL THEN s.first_seq WHEN {_RESET} THEN v.low
        WHEN s.first_seq IS NULL OR v.low < s.first_seq THEN v.low ELSE s.first_seq END,
    high_seq = CASE WHEN v.high IS NULL THEN s.high_seq WHEN {_RESET} THEN v.high
        WHEN s.high_seq IS NULL OR v.high > s.high_seq THEN v.high ELSE s.high_seq END,
    epoch_received = CASE WHEN {_RESET} THEN v.sequenced ELSE s.epoch_received + v.sequenced END,
    last_message_at = CASE WHEN v.last IS NOT NULL AND (s.last_message_at IS NULL OR v.last > s.last_message_at)
        THEN v.last ELSE s.last_message_at END
FROM v
WHERE s.device_id = v.device_id
"""


def _update_streams(tallies: dict[int, _Tally]) -> None:
    """All devices' counters in one statement, devices in id order (a stable lock order, so two
    workers updating overlapping sets of devices cannot deadlock)."""
    if not tallies:
        return
    ordered = sorted(tallies)
    if connection.vendor == "postgresql":
        # Seven arrays instead of seven placeholders per device: the statement stays short however
        # many devices the batch holds (the driver no longer splits a query of 14,000 placeholders).
        values = (
            "SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[], "
            "%s::bigint[], %s::timestamptz[])"
        )
        sql = _UPDATE_STREAMS.replace("(VALUES {values})", f"({values})")
        columns: list[list[Any]] = [[], [], [], [], [], [], []]
        for device_id in ordered:
            tally = tallies[device_id]
            for column, value in zip(
                columns,
                (device_id, tally.new, tally.duplicates, tally.sequenced, tally.low, tally.high, tally.last),
                strict=True,
            ):
                column.append(value)
        params: list[Any] = columns
    else:
        ops = connection.ops
        params = []
        for device_id in ordered:
            tally = tallies[device_id]
            last = ops.adapt_datetimefield_value(tally.last) if tally.last is not None else None
            params += [device_id, tally.new, tally.duplicates, tally.sequenced, tally.low, tally.high, last]
        sql = _UPDATE_STREAMS.replace("{values}", ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(tallies)))
    if connection.vendor == "postgresql":
        # Lock in id order first: UPDATE … FROM takes row locks in join order, which is not stable.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM devices_devicestream WHERE device_id = ANY(%s) ORDER BY device_id FOR UPDATE",
                [ordered],
            )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _touch_devices(stored: Sequence[DeviceMessage]) -> list[DeviceMessage]:
    """Mark devices that spoke as online, refreshing ``last_seen_at`` at most every few seconds.
    Returns a synthetic status message for each device that was offline and is now back."""
    said_offline = {m.device_id for m in stored if m.channel == "status" and m.attrs.get("online") is False}
    latest: dict[int, DeviceMessage] = {}
    for message in stored:
        if message.device_id not in said_offline:
            latest[message.device_id] = message
    if not latest:
        return []
    now = timezone.now()
    ids = sorted(latest)
    if connection.vendor == "postgresql":
        # The ORM resolves every id of an ``IN`` list separately; one array parameter is cheaper.
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM devices_device WHERE id = ANY(%s) AND NOT online", [ids])
            back = [pk for (pk,) in cursor.fetchall()]
            cursor.execute(
                "UPDATE devices_device SET online = true, last_seen_at = %s WHERE id = ANY(%s) "
                "AND (NOT online OR last_seen_at IS NULL OR last_seen_at < %s)",
                [now, ids, now - LAST_SEEN_RESOLUTION],
            )
    else:
        back = list(Device.objects.filter(pk__in=ids, online=False).values_list("pk", flat=True))
        Device.objects.filter(pk__in=ids).filter(
            Q(online=False) | Q(last_seen_at__isnull=True) | Q(last_seen_at__lt=now - LAST_SEEN_RESOLUTION)
        ).update(online=True, last_seen_at=now)
    return [
        DeviceMessage(
            community_id=latest[pk].community_id,
            device_id=pk,
            device_kind=latest[pk].device_kind,
            channel="status",
            received_at=now,
            attrs={"online": True, "reason": "message_received"},
        )
        for pk in back
    ]


def _apply_status(stored: Sequence[DeviceMessage]) -> None:
    """Status messages that change what the register says: a reported service mode, going offline."""
    from anju.core import audit

    for message in stored:
        if message.channel != "status":
            continue
        if message.attrs.get("online") is False:
            Device.objects.filter(pk=message.device_id).update(online=False, last_seen_at=timezone.now())
        mode = message.attrs.get("mode")
        if isinstance(mode, str) and mode in ServiceMode.values:
            device = Device.objects.filter(pk=message.device_id).exclude(service_mode=mode).first()
            if device is not None:
                before = device.service_mode
                Device.objects.filter(pk=device.pk).update(service_mode=mode)
                audit.record(
                    actor=None,
                    action="device.mode_reported",
                    obj=device,
                    before={"service_mode": before},
                    after={"service_mode": mode},
                )


def ensure_streams() -> int:
    """Counter rows for devices that lack one (devices created outside the services)."""
    with scopes_disabled():
        missing = Device.objects.filter(stream__isnull=True).values_list("pk", "community_id")
        rows = [DeviceStream(device_id=pk, community_id=community_id) for pk, community_id in missing]
        DeviceStream.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
