"""From a batch of device messages to alarms, set-based, correct with any number of ingest workers.

:func:`process` is called by every ingest worker after it has committed a batch. With MQTT shared
subscriptions the broker hands one device's consecutive messages to different workers, so two
workers may hold messages of the same device at the same moment. Rules that span messages (how long
a lift has been stopped with passengers inside, how many door faults in ten minutes, the rolling
mean of a flow) must still see one consistent history. The design:

1. **One lock per device.** Each device has a :class:`~.models.DeviceRuleState` row holding the
   memory of all its rules. A batch locks the rows of every device it touches, in device-id order
   (``SELECT … FOR UPDATE``; so two workers never deadlock), inside one transaction. Everything
   that writes alarms of a device — this pipeline, the periodic sweeps, ``raise_alarm`` /
   ``clear_alarm`` for other apps, and staff acting on an alarm — takes the same lock, so for one
   device they happen one after another, whichever process runs them. (SQLite serialises writing
   transactions anyway.) The rows are created outside the locking transaction, in their own short
   one, so the lock phase is a single ordered statement.
2. **State read after the lock.** Under the lock the batch reads the devices' rule state, their
   open alarms and the alarms cleared within the flap window: one query each for the whole batch.
3. **Rules in memory.** Messages are evaluated per device in time order against that state with
   the pure evaluators of :mod:`.rules`. A worker holding older messages than the state has already
   seen (another worker got there first) does not rewind it: rules with memory ignore readings
   older than their last change, a clear older than the alarm's last occurrence is dropped, and so
   is a raise older than the alarm's clearing.
4. **Writes set-based.** Changed alarms in one ``executemany``, new ones in one ``bulk_create``
   (after the updates, so a clear and a new episode in one batch respect the one-open-alarm
   constraint), timeline rows and audit rows in one insert each, and the changed rule states in one
   ``executemany``. A repeat (the same problem reported again while its alarm is open) only bumps
   ``repeat_count`` and ``last_occurred_at``.
5. **Effects after commit.** New critical alarms open a work order and notify the duty staff,
   outage alarms tell the residents, cleared outages withdraw the notice: queued with
   :func:`anju.core.periodic.after_commit`, claimed per alarm with a conditional UPDATE (and picked
   up by the ``alarms.dispatch`` sweep should a process die in between).

The partial unique constraint "one open alarm per (device, type)" is the backstop under all of it.

Time: a reading's time is the device's own timestamp when it has one within five minutes of the
receipt time (device clocks drift and reset), else the receipt time.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from anju.core import audit
from anju.core.models import AuditEntry, User
from anju.core.tenancy import scopes_disabled
from anju.devices.alarms.catalogue import SUPPRESSING_MODES, alarm_type
from anju.devices.alarms.models import OPEN_STATES, Alarm, AlarmEvent, AlarmState, DeviceRuleState, Review
from anju.devices.alarms.rulebook import DeviceRules, rulebooks_for
from anju.devices.alarms.rules import Clear, Raise, Reading, Signal
from anju.devices.messages import DeviceMessage

UTC = dt.UTC
CLOCK_TOLERANCE = 300.0
# A problem that clears and comes back within this many seconds is the same alarm again (flapping):
# a repeat, not a new alarm and not a second work order. Rules may set ``reopen_seconds``; rules
# that ask for a human review (cameras) use 0: every episode is judged on its own.
DEFAULT_REOPEN_SECONDS = 300
MAX_REOPEN_SECONDS = 3600

_KNOWN_STATE_ROWS: set[int] = set()


def _ts(value: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(value, tz=UTC)


def reading_time(message: DeviceMessage) -> float:
    received = message.received_at.timestamp()
    if message.sent_at is not None:
        sent = message.sent_at.timestamp()
        if abs(sent - received) <= CLOCK_TOLERANCE:
            return sent
    return received


def reading_of(message: DeviceMessage) -> Reading:
    data: dict[str, Any] = dict(message.attrs) if message.attrs else {}
    if message.points:
        data.update(message.points)
    if message.event is not None:
        data["event"] = message.event
        if message.state is not None:
            data["state"] = message.state
    if message.snapshot:
        data["snapshot"] = message.snapshot
    return Reading(reading_time(message), message.channel, data)


@dataclass(eq=False)
class AlarmRecord:
    """An alarm as the batch sees it: loaded (``pk`` set) or new, plus what changed."""

    device_id: int
    community_id: int
    alarm_type: str
    severity: str
    state: str
    first_at: float
    last_at: float
    repeat_count: int = 1
    cleared_at: float | None = None
    pk: int | None = None
    outcome: str = ""
    message: str = ""
    rule_key: str = ""
    rule_version: int | None = None
    attrs: dict[str, Any] = field(default_factory=dict)
    silence_seconds: int | None = None
    review: str = ""
    snapshot: str = ""
    dedupe_key: str = ""
    changed: bool = False
    tracked: bool = False
    events: list[tuple[str, float, str]] = field(default_factory=list)


@dataclass
class BatchResult:
    raised: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)
    cleared: list[int] = field(default_factory=list)
    repeats: int = 0
    dropped_late: int = 0
    evaluated: int = 0


class Batch:
    """One locked unit of alarm work over a set of devices (see the module docstring)."""

    def __init__(self, devices: dict[int, tuple[int, str]], *, earliest: float, actor: User | None = None) -> None:
        # device id -> (community id, device kind); the oldest reading or signal time in the batch
        self.devices = devices
        self.earliest = earliest
        self.actor = actor
        self.states: dict[int, dict[str, Any]] = {}
        self.changed_states: set[int] = set()
        self.modes: dict[int, str] = {}
        self.open: dict[tuple[int, str], AlarmRecord] = {}
        self.open_by_device: dict[int, set[str]] = defaultdict(set)
        self.recent: dict[tuple[int, str], AlarmRecord] = {}
        self.records: list[AlarmRecord] = []
        self.result = BatchResult()
        self.rules: dict[int, DeviceRules] = {}

    # --- loading, under the lock ---

    def lock_and_load(self) -> None:
        ids = sorted(self.devices)
        self.states = _lock_states(ids)
        missing = [device_id for device_id in ids if device_id not in self.states]
        if missing:  # new devices (or a forgotten row): create and lock them in this transaction
            DeviceRuleState.objects.bulk_create(
                [
                    DeviceRuleState(device_id=device_id, community_id=self.devices[device_id][0])
                    for device_id in missing
                ],
                ignore_conflicts=True,
                batch_size=500,
            )
            self.states.update(_lock_states(missing))
        from anju.devices.models import Device

        self.modes = dict(Device.objects.filter(pk__in=ids).values_list("pk", "service_mode"))
        books = rulebooks_for({community_id for community_id, _kind in self.devices.values()})
        for device_id, (community_id, kind) in self.devices.items():
            self.rules[device_id] = books[community_id].rules_for(kind, device_id)
        columns = (
            "pk",
            "device_id",
            "community_id",
            "alarm_type",
            "severity",
            "state",
            "first_occurred_at",
            "last_occurred_at",
            "repeat_count",
            "cleared_at",
            "outcome",
            "review",
        )
        for row in Alarm.objects.filter(device_id__in=ids, state__in=OPEN_STATES).values_list(*columns):
            record = self._record(row)
            self.open[(record.device_id, record.alarm_type)] = record
            self.open_by_device[record.device_id].add(record.alarm_type)
        since = _ts(self.earliest - MAX_REOPEN_SECONDS)
        recent = (
            Alarm.objects.filter(device_id__in=ids, state=AlarmState.CLEARED, cleared_at__gte=since)
            .order_by("cleared_at")
            .values_list(*columns)
        )
        for row in recent:
            record = self._record(row)
            self.recent[(record.device_id, record.alarm_type)] = record

    @staticmethod
    def _record(row: tuple[Any, ...]) -> AlarmRecord:
        pk, device_id, community_id, type_, severity, state, first, last, repeats, cleared, outcome, review = row
        return AlarmRecord(
            device_id=device_id,
            community_id=community_id,
            alarm_type=type_,
            severity=severity,
            state=state,
            first_at=first.timestamp(),
            last_at=last.timestamp(),
            repeat_count=repeats,
            cleared_at=cleared.timestamp() if cleared else None,
            pk=pk,
            outcome=outcome,
            review=review,
        )

    def open_types(self, device_id: int) -> set[str]:
        """The device's open alarm types: the live set, updated as signals are applied."""
        return self.open_by_device[device_id]

    def suppressed(self, device_id: int) -> bool:
        return self.modes.get(device_id) in SUPPRESSING_MODES

    # --- evaluation ---

    def evaluate(self, device_id: int, messages: list[DeviceMessage]) -> None:
        """Feed one device's messages, oldest first, through its rules."""
        rules = self.rules[device_id]
        states = self.states.get(device_id)
        if states is None:
            states = {}
        original = states
        open_types = self.open_types(device_id)
        suppressed = self.suppressed(device_id)
        empty: dict[str, Any] = {}
        readings = sorted((reading_of(m) for m in messages), key=lambda r: r.at)
        for reading in readings:
            mode = reading.data.get("service_mode")
            if mode is None and reading.channel == "status":
                mode = reading.data.get("mode")  # the wire format's status field (anju.devices.parsing)
            if mode is not None:
                self.modes[device_id] = str(mode)
                suppressed = str(mode) in SUPPRESSING_MODES
            if reading.data.get("event") == "fire.reset":
                for type_ in sorted(t for t in open_types if t.startswith("fire.")):
                    self.apply(device_id, Clear(type_, reading.at, "fire_status"), open_types, rules)
            for spec, evaluate in rules.by_channel.get(reading.channel, ()):
                before = states.get(spec.key, empty)
                after, signals = evaluate(spec, before, reading, open_types, suppressed)
                if after is not before:
                    if states is original:
                        states = dict(original)
                    states[spec.key] = after
                for signal in signals:
                    if isinstance(signal, Raise):
                        if reading.data.get("snapshot"):
                            signal = replace(signal, attrs={**signal.attrs, "snapshot": reading.data["snapshot"]})
                        if reading.data.get("test") is True:
                            # A planned test (a fire detector tested by the maintainer): shown, but a
                            # warning that opens no work order and wakes nobody.
                            signal = replace(signal, severity="warning", attrs={**signal.attrs, "test": True})
                    self.apply(device_id, signal, open_types, rules)
            self.result.evaluated += 1
        if states is not original:
            self.states[device_id] = states
            self.changed_states.add(device_id)

    def apply(self, device_id: int, signal: Signal, open_types: set[str], rules: DeviceRules | None = None) -> None:
        """Fold one raise or clear into the batch's picture of the device's alarms."""
        key = (device_id, signal.alarm_type)
        record = self.open.get(key)
        if isinstance(signal, Clear):
            if record is None:
                return
            if signal.at < record.last_at:
                self.result.dropped_late += 1
                return
            record.state = AlarmState.CLEARED
            record.cleared_at = signal.at
            record.changed = True
            record.events.append((AlarmEvent.Kind.CLEARED, signal.at, ""))
            del self.open[key]
            open_types.discard(signal.alarm_type)
            self.recent[key] = record
            return
        if record is not None:
            record.repeat_count += 1
            if signal.at > record.last_at:
                record.last_at = signal.at
            if signal.severity != record.severity and _more_severe(signal.severity, record.severity):
                record.severity = signal.severity
            record.changed = True
            self.result.repeats += 1
            return
        recent = self.recent.get(key)
        if recent is not None and recent.cleared_at is not None:
            if signal.at < recent.cleared_at:
                self.result.dropped_late += 1
                return
            window = self._reopen_seconds(signal, rules)
            if (
                window
                and signal.at - recent.cleared_at <= window
                and recent.outcome == ""
                and recent.review in ("", Review.PENDING)
            ):
                recent.state = AlarmState.ACTIVE
                recent.cleared_at = None
                recent.repeat_count += 1
                recent.last_at = max(recent.last_at, signal.at)
                recent.changed = True
                recent.events.append((AlarmEvent.Kind.REOPENED, signal.at, signal.message[:300]))
                del self.recent[key]
                self.open[key] = recent
                open_types.add(signal.alarm_type)
                self._track(recent)
                return
        community_id = self.devices[device_id][0]
        spec = rules.spec(signal.rule_key) if rules is not None and signal.rule_key else None
        attrs = dict(signal.attrs)
        snapshot = str(attrs.pop("snapshot", "") or "")
        record = AlarmRecord(
            device_id=device_id,
            community_id=community_id,
            alarm_type=signal.alarm_type,
            severity=signal.severity,
            state=AlarmState.ACTIVE,
            first_at=signal.at,
            last_at=signal.at,
            message=signal.message[:300],
            rule_key=signal.rule_key,
            rule_version=spec.version if spec is not None else None,
            attrs=attrs,
            silence_seconds=signal.silence_seconds,
            review=Review.PENDING if signal.needs_review else "",
            snapshot=snapshot[:300],
            dedupe_key=str(attrs.pop("dedupe_key", ""))[:100],
            changed=True,
        )
        record.events.append((AlarmEvent.Kind.RAISED, signal.at, record.message))
        self._track(record)
        self.open[key] = record
        open_types.add(signal.alarm_type)

    def _reopen_seconds(self, signal: Raise, rules: DeviceRules | None) -> int:
        spec = rules.spec(signal.rule_key) if rules is not None and signal.rule_key else None
        if signal.needs_review:
            return 0
        if spec is not None and "reopen_seconds" in spec.params:
            return min(int(spec.params["reopen_seconds"]), MAX_REOPEN_SECONDS)
        return DEFAULT_REOPEN_SECONDS

    def _track(self, record: AlarmRecord) -> None:
        if not record.tracked:
            record.tracked = True
            self.records.append(record)

    def track(self) -> None:
        """Loaded records that changed must be written too: collect them once evaluation is done."""
        for record in [*self.open.values(), *self.recent.values()]:
            if record.changed:
                self._track(record)

    # --- writing ---

    def flush(self) -> BatchResult:
        self.track()
        now = timezone.now()
        existing = [r for r in self.records if r.pk is not None and r.changed]
        new = [r for r in self.records if r.pk is None]
        if existing:
            _update_rows(
                Alarm._meta.db_table,
                "id",
                [
                    ("state", "text"),
                    ("severity", "text"),
                    ("repeat_count", "integer"),
                    ("last_occurred_at", "timestamptz"),
                    ("cleared_at", "timestamptz"),
                ],
                [
                    (
                        r.pk,
                        r.state,
                        r.severity,
                        r.repeat_count,
                        _ts(r.last_at),
                        _ts(r.cleared_at) if r.cleared_at is not None else None,
                    )
                    for r in existing
                ],
            )
        if new:
            created = Alarm.objects.bulk_create(
                [
                    Alarm(
                        community_id=r.community_id,
                        device_id=r.device_id,
                        alarm_type=r.alarm_type,
                        severity=r.severity,
                        state=r.state,
                        message=r.message,
                        attrs=r.attrs,
                        rule_key=r.rule_key,
                        rule_version=r.rule_version,
                        dedupe_key=r.dedupe_key,
                        repeat_count=r.repeat_count,
                        first_occurred_at=_ts(r.first_at),
                        last_occurred_at=_ts(r.last_at),
                        raised_at=now,
                        cleared_at=_ts(r.cleared_at) if r.cleared_at is not None else None,
                        silence_seconds=r.silence_seconds,
                        snapshot=r.snapshot,
                        review=r.review,
                    )
                    for r in new
                ],
                batch_size=500,
            )
            for record, alarm in zip(new, created, strict=True):
                record.pk = alarm.pk
        events: list[AlarmEvent] = []
        entries: list[AuditEntry] = []
        for record in self.records:
            assert record.pk is not None
            for kind, at, note in record.events:
                events.append(
                    AlarmEvent(
                        community_id=record.community_id,
                        alarm_id=record.pk,
                        kind=kind,
                        at=_ts(at),
                        actor=self.actor,
                        note=note,
                    )
                )
                if kind == AlarmEvent.Kind.RAISED:
                    self.result.raised.append(record.pk)
                elif kind == AlarmEvent.Kind.REOPENED:
                    self.result.reopened.append(record.pk)
                elif kind == AlarmEvent.Kind.CLEARED:
                    self.result.cleared.append(record.pk)
                entries.append(
                    audit.entry(
                        actor=self.actor,
                        action=f"alarm.{kind}",
                        object_type="alarms.alarm",
                        object_id=str(record.pk),
                        object_label=f"{record.alarm_type} #{record.pk}",
                        community_id=record.community_id,
                        after={"state": record.state, "severity": record.severity, "repeat_count": record.repeat_count},
                    )
                )
            record.events = []
        if events:
            AlarmEvent.objects.bulk_create(events, batch_size=500)
        if entries:
            audit.record_all(entries)
        if self.changed_states:
            _update_rows(
                DeviceRuleState._meta.db_table,
                "device_id",
                [("state", "jsonb"), ("updated_at", "timestamptz")],
                [(device_id, json.dumps(self.states[device_id]), now) for device_id in sorted(self.changed_states)],
            )
        self._queue_effects()
        return self.result

    def _queue_effects(self) -> None:
        """Work orders, duty staff and residents' notices: after commit (see :mod:`.dispatch`)."""
        from anju.devices.alarms import dispatch

        raised = set(self.result.raised)
        cleared = set(self.result.cleared)
        to_dispatch = sorted(
            r.pk
            for r in self.records
            if r.pk in raised and r.state in OPEN_STATES and dispatch.needs_dispatch(r.severity, r.alarm_type)
        )
        if to_dispatch:
            dispatch.queue_dispatch(to_dispatch)
        ended = sorted(r.pk for r in self.records if r.pk in cleared and alarm_type(r.alarm_type).outage)
        if ended:
            dispatch.queue_end_notices(ended)


def _update_rows(table: str, key: str, columns: list[tuple[str, str]], rows: list[tuple[Any, ...]]) -> None:
    """Update many rows, each with its own values, in as few round trips as the database allows.

    Django's ``bulk_update`` builds a ``CASE`` expression per row and field, which cost more CPU
    than all the rules together. PostgreSQL gets one ``UPDATE … FROM (VALUES …)`` per 500 rows
    (each value cast to its column type; ``rows`` start with the key); SQLite, in-process, an
    ``executemany`` of a plain UPDATE.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            names = ", ".join(name for name, _type in columns)
            sets = ", ".join(f"{name} = v.{name}" for name, _type in columns)
            row_sql = "(" + ", ".join(["%s::bigint", *(f"%s::{kind}" for _name, kind in columns)]) + ")"
            for start in range(0, len(rows), 500):
                chunk = rows[start : start + 500]
                sql = (
                    f"UPDATE {table} AS t SET {sets} FROM (VALUES {', '.join([row_sql] * len(chunk))}) "
                    f"AS v(k, {names}) WHERE t.{key} = v.k"
                )
                cursor.execute(sql, [value for row in chunk for value in row])
        else:
            sets = ", ".join(f"{name} = %s" for name, _type in columns)
            cursor.executemany(f"UPDATE {table} SET {sets} WHERE {key} = %s", [(*row[1:], row[0]) for row in rows])


def _more_severe(a: str, b: str) -> bool:
    from anju.devices.alarms.catalogue import SEVERITY_RANK

    return SEVERITY_RANK.get(a, 9) < SEVERITY_RANK.get(b, 9)


def _lock_states(device_ids: list[int]) -> dict[int, dict[str, Any]]:
    rows = (
        DeviceRuleState.objects.select_for_update()
        .filter(device_id__in=device_ids)
        .order_by("device_id")
        .values_list("device_id", "state")
    )
    return {device_id: state for device_id, state in rows}


def ensure_state_rows(devices: dict[int, int]) -> None:
    """Create the missing per-device state rows (device id -> community id) in their own short
    transaction, before anyone locks them, so the locking statement is one ordered SELECT … FOR
    UPDATE. Remembered per process: a warm worker skips even the look-up."""
    missing = [device_id for device_id in devices if device_id not in _KNOWN_STATE_ROWS]
    if not missing:
        return
    with transaction.atomic():
        existing = set(DeviceRuleState.objects.filter(device_id__in=missing).values_list("device_id", flat=True))
        absent = sorted(set(missing) - existing)
        if absent:
            DeviceRuleState.objects.bulk_create(
                [DeviceRuleState(device_id=device_id, community_id=devices[device_id]) for device_id in absent],
                ignore_conflicts=True,
                batch_size=500,
            )
    _KNOWN_STATE_ROWS.update(missing)


def process(messages: Sequence[DeviceMessage]) -> BatchResult:
    """Evaluate a committed batch of device messages and write the alarms it implies (see above)."""
    if not messages:
        return BatchResult()
    by_device: dict[int, list[DeviceMessage]] = defaultdict(list)
    devices: dict[int, tuple[int, str]] = {}
    for message in messages:
        by_device[message.device_id].append(message)
        devices[message.device_id] = (message.community_id, message.device_kind)
    with scopes_disabled():
        _prepare(devices)
        with transaction.atomic():
            batch = Batch(devices, earliest=min(reading_time(m) for m in messages))
            batch.lock_and_load()
            for device_id in sorted(by_device):
                batch.evaluate(device_id, by_device[device_id])
            return batch.flush()


def _prepare(devices: dict[int, tuple[int, str]]) -> None:
    """Outside any transaction (an ingest worker), create missing state rows up front; inside one
    (a service, a test) the batch creates them under its own lock instead."""
    if not transaction.get_connection().in_atomic_block:
        ensure_state_rows({device_id: community_id for device_id, (community_id, _kind) in devices.items()})


def apply_signals(
    devices: dict[int, tuple[int, str]], signals: dict[int, list[Signal]], *, actor: User | None = None
) -> BatchResult:
    """Raise or clear alarms on devices directly (sweeps, other apps), under the same locks."""
    with scopes_disabled():
        _prepare(devices)
        with transaction.atomic():
            times = [signal.at for found in signals.values() for signal in found]
            batch = Batch(devices, earliest=min(times, default=timezone.now().timestamp()), actor=actor)
            batch.lock_and_load()
            for device_id in sorted(signals):
                open_types = batch.open_types(device_id)
                for signal in signals[device_id]:
                    batch.apply(device_id, signal, open_types, batch.rules[device_id])
            return batch.flush()
