"""``bulk_create_people``, ``bulk_add_occupancies`` and ``bulk_end_occupancies`` refuse exactly what
``create_person``, ``add_occupancy`` (+ ``end_occupancy``) and ``end_occupancy`` refuse, for the same
record, and write the same audit rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from anju.core.tenancy import community_scope
from anju.residents import services as residents
from anju.residents.models import Occupancy, Person

from ..bulk_twins import Twin, compare, id_number, make_twin

D = dt.date


@pytest.fixture
def twins(world) -> tuple[Twin, Twin]:
    return make_twin(world, "single"), make_twin(world, "bulk")


NEW_PEOPLE: dict[str, list[dict[str, Any]]] = {
    "good": [
        {"name": " 张伟 ", "phone": "138 1234 5678", "id_number": id_number(2)},
        {"name": "开发商", "kind": "organization", "is_developer": True, "id_number": "91110000MA0000000X"},
        {"name": "李娜", "note": "楼长推荐"},
    ],
    "bad mobile": [{"name": "张伟", "phone": "13812345678"}, {"name": "李娜", "phone": "1381234"}],
    "bad ID number": [{"name": "张伟", "id_number": id_number(2)[:-1] + "0"}],
    "no name": [{"name": "张伟"}, {"name": "  "}],
    "unknown kind": [{"name": "张伟", "kind": "robot"}],
    "mobile in the register": [{"name": "张伟", "phone": "13900000001"}],
    "ID number in the register": [{"name": "张伟", "id_number": id_number(1).lower()}],
    "mobile twice in the batch": [
        {"name": "张伟", "phone": "13812345678"},
        {"name": "李娜", "phone": "13712345678"},
        {"name": "王芳", "phone": "138-1234-5678"},
    ],
    "ID number twice in the batch": [
        {"name": "张伟", "id_number": id_number(2)},
        {"name": "李娜", "id_number": id_number(2)},
    ],
}


@pytest.mark.parametrize("case", NEW_PEOPLE)
def test_bulk_create_people_does_what_create_person_does(twins, case):
    specs = NEW_PEOPLE[case]
    by_one = compare(
        twins,
        lambda t: [lambda kw=kw: residents.create_person(community=t.community, **kw, actor=None) for kw in specs],
        lambda t: residents.bulk_create_people(
            community=t.community, people=[residents.NewPerson(**kw) for kw in specs], actor=None
        ),
    )
    assert (by_one[0] == "done") == (case == "good")
    if case == "good":
        assert [row[0] for row in by_one[1]] == ["person.create"] * 3
        community_id = twins[1].community.pk
        with community_scope(community_id):
            zhang = Person.objects.get(name="张伟")
        assert zhang.phone_masked == "138****5678" and "13812345678" not in zhang.phone_encrypted
        assert residents.find_person_by_id_number(community_id, id_number(2)) == zhang


Records = Callable[[Twin, Any], list[dict[str, Any]]]


def _rec(twin: Twin, person: str, role: str, start: dt.date, home: str = "102", **extra: Any) -> dict[str, Any]:
    return {"home": twin.homes[home], "person": twin.people[person], "role": role, "starts_on": start, **extra}


NEW_RECORDS: dict[str, Records] = {
    "good": lambda t, w: [
        _rec(t, "甲", "owner", D(2018, 1, 1), ends_on=D(2021, 6, 30)),
        _rec(t, "乙", "co_owner", D(2021, 7, 1), share_percent="60"),
        _rec(t, "丙", "co_owner", D(2021, 7, 1), share_percent=40),
        _rec(t, "甲", "family", D(2021, 7, 1), relation="父亲"),
        _rec(t, "丙", "tenant", D(2022, 1, 1), home="101"),
    ],
    "shares above 100%": lambda t, w: [
        _rec(t, "乙", "co_owner", D(2021, 7, 1), share_percent="60"),
        _rec(t, "丙", "co_owner", D(2021, 7, 1), share_percent="50"),
    ],
    "second owner of a registered home": lambda t, w: [_rec(t, "甲", "owner", D(2023, 1, 1), home="101")],
    "owner again after the batch ended the first": lambda t, w: [
        _rec(t, "甲", "owner", D(2018, 1, 1), ends_on=D(2021, 6, 30)),
        _rec(t, "乙", "owner", D(2021, 6, 30)),  # the first still owns on its last day
    ],
    "the same relation twice": lambda t, w: [
        _rec(t, "甲", "family", D(2020, 1, 1)),
        _rec(t, "甲", "family", D(2021, 1, 1)),
    ],
    "co-owner without a share": lambda t, w: [_rec(t, "甲", "co_owner", D(2021, 1, 1))],
    "tenant with a share": lambda t, w: [_rec(t, "甲", "tenant", D(2021, 1, 1), share_percent="30")],
    "share not a number": lambda t, w: [_rec(t, "甲", "owner", D(2021, 1, 1), share_percent="half")],
    "unknown role": lambda t, w: [_rec(t, "甲", "neighbour", D(2021, 1, 1))],
    "person of another community": lambda t, w: [
        {"home": t.homes["102"], "person": w.c.people[0], "role": "tenant", "starts_on": D(2021, 1, 1)}
    ],
    "ends before it starts": lambda t, w: [_rec(t, "甲", "tenant", D(2021, 1, 1), ends_on=D(2020, 12, 31))],
}


def _add_then_end(kw: dict[str, Any]) -> Occupancy:
    ends_on = kw.pop("ends_on", None)
    occupancy = residents.add_occupancy(**kw, actor=None)
    if ends_on is not None:
        residents.end_occupancy(occupancy, ends_on=ends_on, actor=None)
    return occupancy


@pytest.mark.parametrize("case", NEW_RECORDS)
def test_bulk_add_occupancies_does_what_add_and_end_occupancy_do(world, twins, case):
    by_one = compare(
        twins,
        lambda t: [lambda kw=kw: _add_then_end(kw) for kw in NEW_RECORDS[case](t, world)],
        lambda t: residents.bulk_add_occupancies(
            [residents.NewOccupancy(**kw) for kw in NEW_RECORDS[case](t, world)], actor=None
        ),
    )
    assert (by_one[0] == "done") == (case == "good")
    if case == "good":
        actions = [row[0] for row in by_one[1]]
        assert actions == ["occupancy.add", "occupancy.end"] + ["occupancy.add"] * 4
        assert residents.ownership_share_total(twins[1].homes["102"], D(2022, 1, 1)) == 100


ENDINGS: dict[str, Callable[[Twin], list[tuple[Occupancy, dt.date | None]]]] = {
    "good": lambda t: [(t.occupancies["老王"], D(2024, 5, 31))],
    "before it started": lambda t: [(t.occupancies["老王"], D(2019, 12, 31))],
    "twice": lambda t: [(t.occupancies["老王"], D(2024, 5, 31)), (t.occupancies["老王"], D(2024, 6, 30))],
}


@pytest.mark.parametrize("case", ENDINGS)
def test_bulk_end_occupancies_does_what_end_occupancy_does(twins, case):
    by_one = compare(
        twins,
        lambda t: [lambda o=o, d=d: residents.end_occupancy(o, ends_on=d, actor=None) for o, d in ENDINGS[case](t)],
        lambda t: residents.bulk_end_occupancies(ENDINGS[case](t), actor=None),
    )
    assert (by_one[0] == "done") == (case == "good")
