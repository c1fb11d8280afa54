"""The access rule: who may open which door when. One pure function, used everywhere.

:func:`grant_for` looks at the facts about one credential's holder (:class:`HolderFacts`) and one
door (:class:`DoorFacts`) and answers with a :class:`Grant` — the time windows, the daily shifts and
the blocked periods during which that holder may open that door — or ``None`` when the holder has no
right to it at all. :func:`decide` is ``grant_for`` followed by :meth:`Grant.check` at one instant.

The server uses :func:`decide` for online decisions (a controller asking, the guard desk), and
:mod:`anju.access.sync` serialises the very same :class:`Grant` objects into the allow-lists it
sends to controllers, whose offline check is :meth:`Grant.check` again on the deserialised grant
(:mod:`anju.access.controller`). So the online and offline answers cannot disagree unless the facts
they were computed from differ; ``tests/access/test_rules.py`` checks that for random populations.

The rules (issue 6; DOMAIN.md §4):

* residents (owners, co-owners, tenants, family members) open their community's gates, the entrance
  of each building they live in, the door of their unit, and the lift's access to their own floor
  and the ground floors, each only within the dates of their occupancy (from the local midnight of
  ``starts_on`` up to the local midnight after ``ends_on``) — so a tenant who moved out is refused
  from the next morning whether or not anyone ended their card;
* car plates (and cards) of residents open the garage barriers; a plate opens nothing else;
* staff open the doors of the kinds their role's shifts list, during those shifts (local time);
* visitors open the gates, their host's building entrance, unit door and floor, during their pass's
  window; the garage only when the pass names a plate;
* a face credential counts only while its holder's separate consent stands, and face is never the
  only way in: every resident also has the portal QR and may hold a card;
* anything on the deny list is refused during the deny period, before any other rule.

Times are integer Unix seconds (UTC); shifts are in the community's local time (Asia/Shanghai).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
# Lift landings at or below this floor (ground floor, lobby) are open to every resident of the building.
GROUND_FLOOR = 1


class DoorKind(StrEnum):
    GATE = "gate"
    BUILDING = "building"
    UNIT = "unit"
    GARAGE = "garage"
    LIFT_FLOOR = "lift_floor"


class HolderKind(StrEnum):
    RESIDENT = "resident"
    STAFF = "staff"
    VISITOR = "visitor"


class Method(StrEnum):
    CARD = "card"
    QR = "qr"
    FACE = "face"
    PLATE = "plate"
    PASS = "pass"


class Reason(StrEnum):
    OK = "ok"
    DENY_LIST = "deny_list"
    NO_RIGHT = "no_right"
    OUTSIDE_WINDOW = "outside_window"
    OUTSIDE_SHIFT = "outside_shift"


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open period ``[start, end)`` in Unix seconds; ``None`` means unbounded on that side."""

    start: int | None = None
    end: int | None = None

    def contains(self, at: int) -> bool:
        return (self.start is None or at >= self.start) and (self.end is None or at < self.end)

    def intersect(self, other: Window) -> Window | None:
        # Written out rather than with min()/max() over lists: the allow-list builder calls this
        # for every resident and door.
        start, end = self.start, self.end
        if other.start is not None and (start is None or other.start > start):
            start = other.start
        if other.end is not None and (end is None or other.end < end):
            end = other.end
        if start is not None and end is not None and end <= start:
            return None
        if start == self.start and end == self.end:
            return self
        return Window(start, end)

    def as_list(self) -> list[int | None]:
        return [self.start, self.end]


ALWAYS = Window()


def day_window(starts_on: dt.date | None, ends_on: dt.date | None) -> Window:
    """The local days ``starts_on``..``ends_on`` inclusive, as a window of Unix seconds."""
    start = _local_midnight(starts_on) if starts_on is not None else None
    end = _local_midnight(ends_on + dt.timedelta(days=1)) if ends_on is not None else None
    return Window(start, end)


def _local_midnight(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ).timestamp())


def timestamp(moment: dt.datetime) -> int:
    return int(moment.timestamp())


@dataclass(frozen=True, slots=True)
class Shift:
    """A recurring daily period: ``weekdays`` is a bit mask (Monday = bit 0), minutes are local time
    of day. ``end_minute <= start_minute`` means the shift runs past midnight into the next day."""

    weekdays: int
    start_minute: int
    end_minute: int
    door_kinds: frozenset[str] = frozenset()

    def covers(self, local: dt.datetime) -> bool:
        minute = local.hour * 60 + local.minute
        weekday = local.weekday()
        if self.start_minute < self.end_minute:
            return bool(self.weekdays >> weekday & 1) and self.start_minute <= minute < self.end_minute
        if minute >= self.start_minute:  # the evening part of an overnight shift
            return bool(self.weekdays >> weekday & 1)
        if minute < self.end_minute:  # the morning part belongs to the shift that began yesterday
            return bool(self.weekdays >> ((weekday - 1) % 7) & 1)
        return False

    def as_list(self) -> list[int]:
        return [self.weekdays, self.start_minute, self.end_minute]


@dataclass(frozen=True, slots=True)
class Place:
    """A home a resident lives in (or a visitor's host home) and the period that counts."""

    building_id: int | None
    unit_id: int | None
    floor: int | None
    window: Window


@dataclass(frozen=True, slots=True)
class DoorFacts:
    id: int
    kind: str
    building_id: int | None = None
    unit_id: int | None = None
    floor: int | None = None


@dataclass(frozen=True, slots=True)
class HolderFacts:
    """Everything the rule needs about one credential's holder, and nothing personal.

    ``places``: residents' homes with their occupancy windows, or a visitor's host home with the
    pass window. ``shifts``: a staff member's shifts for their current roles. ``validity``: the
    credential's own period. ``blocked``: deny-list periods. ``consent``: for face credentials,
    whether the separate consent stands.
    """

    kind: str
    method: str
    validity: Window = ALWAYS
    places: tuple[Place, ...] = ()
    shifts: tuple[Shift, ...] = ()
    blocked: tuple[Window, ...] = ()
    consent: bool = True
    has_plate: bool = False


@dataclass(frozen=True, slots=True)
class Grant:
    """When a holder may open one door: inside one of ``windows``, inside one of ``shifts`` when there
    are shifts (staff), and outside every ``blocked`` period."""

    windows: tuple[Window, ...]
    shifts: tuple[Shift, ...] | None = None
    blocked: tuple[Window, ...] = ()

    def check(self, at: int) -> Reason:
        for period in self.blocked:
            if period.contains(at):
                return Reason.DENY_LIST
        if not any(window.contains(at) for window in self.windows):
            return Reason.OUTSIDE_WINDOW
        if self.shifts is not None:
            local = dt.datetime.fromtimestamp(at, LOCAL_TZ)
            if not any(shift.covers(local) for shift in self.shifts):
                return Reason.OUTSIDE_SHIFT
        return Reason.OK

    def to_wire(self) -> dict[str, Any]:
        """The compact JSON form sent to controllers (and read back by :meth:`from_wire`)."""
        wire: dict[str, Any] = {"w": [w.as_list() for w in self.windows]}
        if self.shifts is not None:
            wire["s"] = [s.as_list() for s in self.shifts]
        if self.blocked:
            wire["b"] = [b.as_list() for b in self.blocked]
        return wire

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> Grant:
        shifts = wire.get("s")
        return cls(
            windows=tuple(Window(s, e) for s, e in wire["w"]),
            shifts=None if shifts is None else tuple(Shift(m, a, b) for m, a, b in shifts),
            blocked=tuple(Window(s, e) for s, e in wire.get("b", ())),
        )


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    reason: Reason
    grant: Grant | None = field(default=None, compare=False)


def _place_opens(place: Place, door: DoorFacts, holder: HolderFacts) -> bool:
    """Whether living in (or visiting) ``place`` gives a right to ``door`` at all."""
    kind = door.kind
    if kind == DoorKind.GATE:
        return True
    if kind == DoorKind.GARAGE:
        return holder.kind == HolderKind.RESIDENT or holder.has_plate
    if place.building_id is None or door.building_id != place.building_id:
        return False
    if kind == DoorKind.BUILDING:
        return True
    if kind == DoorKind.UNIT:
        return door.unit_id is not None and door.unit_id == place.unit_id
    if kind == DoorKind.LIFT_FLOOR:
        return door.floor is not None and (door.floor <= GROUND_FLOOR or door.floor == place.floor)
    return False


def _method_fits(holder: HolderFacts, door: DoorFacts) -> bool:
    """A plate opens barriers only, and barriers read plates and cards only (no one scans a QR from
    a car), except a visitor's pass, which the guard or the barrier's scanner reads."""
    if holder.method == Method.PLATE:
        return door.kind == DoorKind.GARAGE
    if door.kind == DoorKind.GARAGE:
        return holder.method in (Method.CARD, Method.PASS)
    return True


def grant_for(holder: HolderFacts, door: DoorFacts) -> Grant | None:
    """The :class:`Grant` of ``holder`` at ``door``, or ``None`` when they have no right to it."""
    if not _method_fits(holder, door):
        return None
    if holder.method == Method.FACE and not holder.consent:
        return None
    if holder.kind == HolderKind.STAFF:
        shifts = tuple(s for s in holder.shifts if door.kind in s.door_kinds)
        if not shifts:
            return None
        return Grant(windows=(holder.validity,), shifts=shifts, blocked=holder.blocked)
    windows: list[Window] = []
    for place in holder.places:
        if _place_opens(place, door, holder):
            window = place.window.intersect(holder.validity)
            if window is not None and window not in windows:
                windows.append(window)
    if not windows:
        return None
    if len(windows) > 1:
        windows.sort(key=lambda w: (w.start is not None, w.start or 0))
    return Grant(windows=tuple(windows), shifts=None, blocked=holder.blocked)


def decide(holder: HolderFacts, door: DoorFacts, at: int) -> Decision:
    """The online decision: the same :func:`grant_for` the allow-lists are built from, checked at ``at``."""
    grant = grant_for(holder, door)
    if grant is None:
        blocked = any(period.contains(at) for period in holder.blocked)
        return Decision(False, Reason.DENY_LIST if blocked else Reason.NO_RIGHT)
    reason = grant.check(at)
    return Decision(reason == Reason.OK, reason, grant)


def candidate_doors(holder: HolderFacts, doors: DoorIndex) -> Iterable[DoorFacts]:
    """The doors :func:`grant_for` can possibly answer with a grant for ``holder`` (a superset), so
    building an allow-list does not try every holder on every door of a large community."""
    if holder.kind == HolderKind.STAFF:
        kinds = set().union(*(s.door_kinds for s in holder.shifts)) if holder.shifts else set()
        for kind in sorted(kinds):
            yield from doors.by_kind.get(kind, ())
        return
    yield from doors.by_kind.get(DoorKind.GATE, ())
    yield from doors.by_kind.get(DoorKind.GARAGE, ())
    seen: set[int] = set()
    for place in holder.places:
        if place.building_id is not None and place.building_id not in seen:
            seen.add(place.building_id)
            yield from doors.by_building.get(place.building_id, ())


class DoorIndex:
    """A community's doors grouped the way :func:`candidate_doors` looks them up."""

    def __init__(self, doors: Sequence[DoorFacts]) -> None:
        self.doors = list(doors)
        self.by_kind: dict[str, list[DoorFacts]] = {}
        self.by_building: dict[int, list[DoorFacts]] = {}
        for door in self.doors:
            if door.kind in (DoorKind.GATE, DoorKind.GARAGE) or door.building_id is None:
                self.by_kind.setdefault(door.kind, []).append(door)
            else:
                self.by_building.setdefault(door.building_id, []).append(door)
            if door.kind not in (DoorKind.GATE, DoorKind.GARAGE) and door.building_id is not None:
                self.by_kind.setdefault(door.kind, []).append(door)
