"""The pure rule: who opens which door when (role × door × time), on hand-made facts."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from anju.access.controller import pass_holder
from anju.access.rules import (
    ALWAYS,
    LOCAL_TZ,
    DoorFacts,
    DoorIndex,
    Grant,
    HolderFacts,
    Place,
    Shift,
    Window,
    candidate_doors,
    day_window,
    decide,
    grant_for,
)
from anju.access.tokens import TokenClaims

GATE = DoorFacts(1, "gate")
ENTRANCE_B1 = DoorFacts(2, "building", building_id=10)
UNIT_B1U1 = DoorFacts(3, "unit", building_id=10, unit_id=100)
UNIT_B1U2 = DoorFacts(4, "unit", building_id=10, unit_id=101)
ENTRANCE_B2 = DoorFacts(5, "building", building_id=20)
GARAGE = DoorFacts(6, "garage")
LIFT_B1F1 = DoorFacts(7, "lift_floor", building_id=10, floor=1)
LIFT_B1F5 = DoorFacts(8, "lift_floor", building_id=10, floor=5)
LIFT_B1F9 = DoorFacts(9, "lift_floor", building_id=10, floor=9)
DOORS = [GATE, ENTRANCE_B1, UNIT_B1U1, UNIT_B1U2, ENTRANCE_B2, GARAGE, LIFT_B1F1, LIFT_B1F5, LIFT_B1F9]

LEASE = day_window(dt.date(2026, 3, 1), dt.date(2026, 11, 30))
HOME_B1U1F5 = (10, 100, 5)


def local(day: dt.date, hour: int, minute: int = 0) -> int:
    return int(dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=LOCAL_TZ).timestamp())


def resident(method: str = "card", window: Window = ALWAYS, **extra: object) -> HolderFacts:
    return HolderFacts(kind="resident", method=method, places=(Place(*HOME_B1U1F5, window),), **extra)  # type: ignore[arg-type]


ALL_HOURS = Shift(0b1111111, 0, 0, frozenset({"gate", "building", "unit", "garage", "lift_floor"}))
DAY_SHIFT = Shift(0b0011111, 8 * 60, 18 * 60, frozenset({"gate", "building", "unit"}))  # Mon-Fri 08-18
NIGHT_SHIFT = Shift(0b1000000, 22 * 60, 6 * 60, frozenset({"gate"}))  # Sunday 22:00 - Monday 06:00

TUESDAY = dt.date(2026, 11, 24)
SUNDAY = dt.date(2026, 11, 29)
MONDAY = dt.date(2026, 11, 30)

# (holder, door, moment, allowed)
MATRIX = [
    # An owner: gates, own building, own unit, own floor and the ground floor; not another unit,
    # building or floor; the garage with a card; any hour.
    (resident(), GATE, local(TUESDAY, 3), True),
    (resident(), ENTRANCE_B1, local(TUESDAY, 3), True),
    (resident(), UNIT_B1U1, local(TUESDAY, 3), True),
    (resident(), UNIT_B1U2, local(TUESDAY, 12), False),
    (resident(), ENTRANCE_B2, local(TUESDAY, 12), False),
    (resident(), LIFT_B1F5, local(TUESDAY, 12), True),
    (resident(), LIFT_B1F1, local(TUESDAY, 12), True),
    (resident(), LIFT_B1F9, local(TUESDAY, 12), False),
    (resident(), GARAGE, local(TUESDAY, 12), True),
    # A plate opens the barrier only; a QR does not open the barrier.
    (resident("plate"), GARAGE, local(TUESDAY, 12), True),
    (resident("plate"), GATE, local(TUESDAY, 12), False),
    (resident("qr"), GARAGE, local(TUESDAY, 12), False),
    (resident("qr"), UNIT_B1U1, local(TUESDAY, 12), True),
    # A tenant within the lease; from the local midnight after its last day, nothing.
    (resident(window=LEASE), UNIT_B1U1, local(dt.date(2026, 11, 30), 23, 59), True),
    (resident(window=LEASE), UNIT_B1U1, local(dt.date(2026, 12, 1), 0, 0), False),
    (resident(window=LEASE), GATE, local(dt.date(2026, 2, 28), 23, 59), False),
    (resident(window=LEASE), GATE, local(dt.date(2026, 3, 1), 0, 0), True),
    # Face only with consent.
    (resident("face"), UNIT_B1U1, local(TUESDAY, 12), True),
    (resident("face", consent=False), UNIT_B1U1, local(TUESDAY, 12), False),
    # Deny list: refused during the period even where the rule would open.
    (resident(blocked=(Window(local(TUESDAY, 0), local(TUESDAY, 18)),)), GATE, local(TUESDAY, 12), False),
    (resident(blocked=(Window(local(TUESDAY, 0), local(TUESDAY, 18)),)), GATE, local(TUESDAY, 19), True),
    # Staff by shift: a guard at any hour anywhere; a day-shift steward Mon-Fri 08-18, never the garage.
    (HolderFacts("staff", "card", shifts=(ALL_HOURS,)), ENTRANCE_B2, local(SUNDAY, 3), True),
    (HolderFacts("staff", "card", shifts=(DAY_SHIFT,)), ENTRANCE_B2, local(TUESDAY, 9), True),
    (HolderFacts("staff", "card", shifts=(DAY_SHIFT,)), ENTRANCE_B2, local(TUESDAY, 18), False),
    (HolderFacts("staff", "card", shifts=(DAY_SHIFT,)), ENTRANCE_B2, local(SUNDAY, 9), False),
    (HolderFacts("staff", "card", shifts=(DAY_SHIFT,)), GARAGE, local(TUESDAY, 9), False),
    (HolderFacts("staff", "card", shifts=()), GATE, local(TUESDAY, 9), False),
    # An overnight shift beginning on Sunday runs into Monday morning, not into Sunday morning.
    (HolderFacts("staff", "card", shifts=(NIGHT_SHIFT,)), GATE, local(SUNDAY, 23), True),
    (HolderFacts("staff", "card", shifts=(NIGHT_SHIFT,)), GATE, local(MONDAY, 5, 59), True),
    (HolderFacts("staff", "card", shifts=(NIGHT_SHIFT,)), GATE, local(MONDAY, 6), False),
    (HolderFacts("staff", "card", shifts=(NIGHT_SHIFT,)), GATE, local(SUNDAY, 5), False),
]


@pytest.mark.parametrize(("holder", "door", "moment", "allowed"), MATRIX)
def test_rule_matrix(holder: HolderFacts, door: DoorFacts, moment: int, allowed: bool) -> None:
    assert decide(holder, door, moment).allowed is allowed


def test_visitor_pass_scope_and_window() -> None:
    start, end = local(TUESDAY, 14), local(TUESDAY, 18)
    claims = TokenClaims(1, 7, 1, 42, start, end, building_id=10, unit_id=100, floor=5, max_uses=2)
    visitor = pass_holder(claims)
    assert decide(visitor, UNIT_B1U1, local(TUESDAY, 15)).allowed
    assert decide(visitor, LIFT_B1F5, local(TUESDAY, 15)).allowed
    assert not decide(visitor, UNIT_B1U2, local(TUESDAY, 15)).allowed
    assert not decide(visitor, GARAGE, local(TUESDAY, 15)).allowed  # no plate named
    assert decide(visitor, GATE, local(TUESDAY, 13, 59)).reason == "outside_window"
    assert decide(visitor, GATE, end).reason == "outside_window"
    with_plate = pass_holder(TokenClaims(1, 7, 1, 42, start, end, building_id=10, unit_id=100, floor=5, flags=1))
    assert decide(with_plate, GARAGE, local(TUESDAY, 15)).allowed


def test_reasons_tell_apart_no_right_window_shift_and_deny() -> None:
    assert decide(resident(), ENTRANCE_B2, 0).reason == "no_right"
    assert decide(resident(window=LEASE), GATE, local(dt.date(2027, 1, 1), 9)).reason == "outside_window"
    assert decide(HolderFacts("staff", "card", shifts=(DAY_SHIFT,)), GATE, local(SUNDAY, 9)).reason == "outside_shift"
    blocked = resident(blocked=(Window(None, None),))
    assert decide(blocked, GATE, local(TUESDAY, 9)).reason == "deny_list"
    # A holder with no right at all who is also on the deny list is reported as denied by the list.
    assert decide(blocked, ENTRANCE_B2, local(TUESDAY, 9)).reason == "deny_list"


windows = st.builds(
    lambda a, b: Window(min(a, b), max(a, b) + 1),
    st.integers(1_700_000_000, 1_800_000_000),
    st.integers(1_700_000_000, 1_800_000_000),
)
shifts = st.builds(
    lambda mask, a, b, kinds: Shift(mask, a, b, frozenset(kinds)),
    st.integers(1, 127),
    st.integers(0, 1439),
    st.integers(0, 1439),
    st.sets(st.sampled_from(["gate", "building", "unit", "garage", "lift_floor"]), min_size=1),
)
holders = st.one_of(
    st.builds(
        lambda method, places, consent: HolderFacts("resident", method, places=tuple(places), consent=consent),
        st.sampled_from(["card", "qr", "face", "plate"]),
        st.lists(
            st.builds(Place, st.sampled_from([10, 20]), st.sampled_from([100, 101, None]), st.integers(-1, 9), windows),
            max_size=3,
        ),
        st.booleans(),
    ),
    st.builds(
        lambda method, shift_list, blocked: HolderFacts(
            "staff", method, shifts=tuple(shift_list), blocked=tuple(blocked)
        ),
        st.sampled_from(["card", "qr"]),
        st.lists(shifts, max_size=3),
        st.lists(windows, max_size=2),
    ),
)


@given(holder=holders, moment=st.integers(1_700_000_000, 1_800_000_000))
def test_candidate_doors_never_miss_a_grant_and_grants_survive_the_wire(holder: HolderFacts, moment: int) -> None:
    """Allow-lists are built from candidate doors and sent as JSON: neither may change an answer."""
    candidates = {door.id for door in candidate_doors(holder, DoorIndex(DOORS))}
    for door in DOORS:
        grant = grant_for(holder, door)
        if grant is not None:
            assert door.id in candidates
            assert Grant.from_wire(grant.to_wire()).check(moment) == grant.check(moment)
        assert decide(holder, door, moment).allowed == (grant is not None and grant.check(moment) == "ok")
