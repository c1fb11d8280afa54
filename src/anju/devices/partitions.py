"""Telemetry storage over time: daily partitions, retention, hourly downsampling.

On PostgreSQL ``devices_telemetry`` is declared ``PARTITION BY RANGE (ts)`` (migration 0001) with
one partition per UTC day, ``devices_telemetry_pYYYYMMDD``. :func:`ensure_partitions` creates them
ahead of time (a periodic job keeps a week ready; the ingest worker also checks at start-up), and
:func:`drop_expired` drops whole days older than the retention period — a metadata operation, no
row-by-row delete, no bloat. On SQLite the table is plain and expiry is a ``DELETE``.

:func:`rollup_hours` aggregates every numeric point of every device per hour (count, sum, min,
max) into ``devices_telemetryhourly``, which is never expired. It recomputes whole hours and
upserts, so running it twice, or after late messages arrived, gives the same result.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.utils import timezone

from anju.devices import conf

TABLE = "devices_telemetry"
UTC = dt.UTC

CREATE_PARTITIONED_TABLE = f"""
CREATE TABLE {TABLE} (
    device_id bigint NOT NULL,
    ts timestamp with time zone NOT NULL,
    seq bigint NOT NULL,
    community_id bigint NOT NULL,
    kind varchar(10) NOT NULL,
    received_at timestamp with time zone NOT NULL,
    data jsonb NOT NULL,
    PRIMARY KEY (device_id, ts, seq)
) PARTITION BY RANGE (ts);
CREATE INDEX devices_telemetry_community_ts ON {TABLE} (community_id, ts);
"""

# SQLite (and any other database): the same columns and key, no partitions.
CREATE_PLAIN_TABLE = f"""
CREATE TABLE {TABLE} (
    device_id bigint NOT NULL,
    ts datetime NOT NULL,
    seq bigint NOT NULL,
    community_id bigint NOT NULL,
    kind varchar(10) NOT NULL,
    received_at datetime NOT NULL,
    data text NOT NULL CHECK (JSON_VALID(data)),
    PRIMARY KEY (device_id, ts, seq)
)
"""


def partition_name(day: dt.date) -> str:
    return f"{TABLE}_p{day:%Y%m%d}"


def existing_partitions() -> set[dt.date]:
    if connection.vendor != "postgresql":
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
            [TABLE],
        )
        names = [row[0] for row in cursor.fetchall()]
    days = set()
    for name in names:
        suffix = name.rsplit("_p", 1)[-1]
        try:
            days.add(dt.datetime.strptime(suffix, "%Y%m%d").date())
        except ValueError:
            continue
    return days


def ensure_partitions(first: dt.date, last: dt.date) -> int:
    """Create the daily partitions from ``first`` to ``last`` inclusive that do not exist yet."""
    if connection.vendor != "postgresql":
        return 0
    have = existing_partitions()
    created = 0
    day = first
    while day <= last:
        if day not in have:
            start = dt.datetime.combine(day, dt.time(), UTC)
            end = start + dt.timedelta(days=1)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"CREATE TABLE IF NOT EXISTS {partition_name(day)} PARTITION OF {TABLE} "
                    f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
                )
            created += 1
        day += dt.timedelta(days=1)
    return created


def ensure_ingest_window(now: dt.datetime | None = None, *, ahead_days: int = 7) -> int:
    """Partitions for every day a message may be stamped with: from the oldest accepted device
    time (``ANJU_TELEMETRY_MAX_AGE_HOURS`` back) to a week ahead."""
    now = now or timezone.now()
    first = (now - conf.max_message_age() - dt.timedelta(days=1)).astimezone(UTC).date()
    last = (now + dt.timedelta(days=ahead_days)).astimezone(UTC).date()
    return ensure_partitions(first, last)


def drop_expired(now: dt.datetime | None = None) -> int:
    """Remove raw telemetry older than the retention period: whole partitions on PostgreSQL."""
    now = now or timezone.now()
    cutoff = now - conf.retention()
    if connection.vendor == "postgresql":
        cutoff_day = cutoff.astimezone(UTC).date()
        dropped = 0
        for day in sorted(existing_partitions()):
            if day < cutoff_day:
                with connection.cursor() as cursor:
                    cursor.execute(f"DROP TABLE IF EXISTS {partition_name(day)}")
                dropped += 1
        return dropped
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE ts < %s", [connection.ops.adapt_datetimefield_value(cutoff)])
        return cursor.rowcount


_ROLLUP_POSTGRESQL = f"""
INSERT INTO devices_telemetryhourly (community_id, device_id, metric, hour, count, total, minimum, maximum)
SELECT t.community_id, t.device_id, p.key, date_trunc('hour', t.ts), count(*),
       sum((p.value #>> '{{}}')::float8), min((p.value #>> '{{}}')::float8), max((p.value #>> '{{}}')::float8)
FROM {TABLE} t CROSS JOIN LATERAL jsonb_each(t.data) p
WHERE t.ts >= %s AND t.ts < %s AND t.kind = 'telemetry' AND jsonb_typeof(p.value) = 'number'
  AND length(p.key) <= 40
GROUP BY 1, 2, 3, 4
ON CONFLICT (device_id, metric, hour) DO UPDATE SET count = EXCLUDED.count, total = EXCLUDED.total,
    minimum = EXCLUDED.minimum, maximum = EXCLUDED.maximum
"""

_ROLLUP_SQLITE = f"""
INSERT INTO devices_telemetryhourly (community_id, device_id, metric, hour, count, total, minimum, maximum)
SELECT t.community_id, t.device_id, j.key, strftime('%%Y-%%m-%%d %%H:00:00', t.ts), count(*),
       sum(j.value), min(j.value), max(j.value)
FROM {TABLE} t, json_each(t.data) j
WHERE t.ts >= %s AND t.ts < %s AND t.kind = 'telemetry' AND j.type IN ('integer', 'real')
  AND length(j.key) <= 40
GROUP BY 1, 2, 3, 4
ON CONFLICT (device_id, metric, hour) DO UPDATE SET count = excluded.count, total = excluded.total,
    minimum = excluded.minimum, maximum = excluded.maximum
"""


def hour_floor(when: dt.datetime) -> dt.datetime:
    return when.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


@transaction.atomic
def rollup_hours(start: dt.datetime, end: dt.datetime) -> int:
    """Aggregate the whole hours in [start, end) (rounded down to hours). Returns rows written."""
    start, end = hour_floor(start), hour_floor(end)
    if end <= start:
        return 0
    sql = _ROLLUP_POSTGRESQL if connection.vendor == "postgresql" else _ROLLUP_SQLITE
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(sql, [adapt(start), adapt(end)])
        return max(cursor.rowcount, 0)


def rollup_recent(now: dt.datetime | None = None, *, hours: int = 3) -> int:
    """The periodic rollup: the last ``hours`` complete hours, recomputed (late messages count)."""
    now = now or timezone.now()
    end = hour_floor(now)
    return rollup_hours(end - dt.timedelta(hours=hours), end)
