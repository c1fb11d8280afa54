"""``bulk_create_homes`` / ``bulk_update_homes`` refuse exactly what ``create_home`` / ``update_home``
refuse and write the same audit rows; the import's commit costs a fixed number of queries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from anju.core.models import AuditEntry
from anju.core.tenancy import community_scope
from anju.estates import services as estates
from anju.estates.models import Home
from anju.estates.spreadsheets import ImportRefused, import_register, preview_file
from anju.estates.spreadsheets.applying import apply_plan
from anju.residents import services as residents

from ..bulk_twins import Twin, compare, make_twin
from .test_import import GOOD_HOMES, GOOD_PEOPLE, counts, workbook

HomeSpecs = Callable[[Twin], list[dict[str, Any]]]


def _home(twin: Twin, number: str, floor: int = 2, area: Any = "75.00", **extra: Any) -> dict[str, Any]:
    return {
        "building": twin.buildings["1"],
        "unit": twin.units["1"],
        "number": number,
        "floor": floor,
        "floor_area": area,
        **extra,
    }


NEW_HOMES: dict[str, HomeSpecs] = {
    "good": lambda t: [
        _home(t, "201"),
        _home(t, "B101", floor=-1, area="12.5", use="storage", status="unsold"),
        {**_home(t, "201"), "unit": None},  # the same number outside the unit is another home
        {**_home(t, "301", floor=3), "building": t.buildings["2"], "unit": t.units["2"]},
    ],
    "negative area": lambda t: [_home(t, "201"), _home(t, "202", area="-5")],
    "three decimals": lambda t: [_home(t, "201", area="89.555")],
    "area not a number": lambda t: [_home(t, "201", area="abc")],
    "floor 0": lambda t: [_home(t, "201", floor=0)],
    "floor above the roof": lambda t: [_home(t, "201"), _home(t, "701", floor=7)],
    "floor below the basement": lambda t: [_home(t, "B201", floor=-2)],
    "unknown use": lambda t: [_home(t, "201", use="villa")],
    "unknown status": lambda t: [_home(t, "201", status="demolished")],
    "no number": lambda t: [_home(t, "  ")],
    "number in the register": lambda t: [_home(t, "201"), _home(t, "101", floor=1)],
    "number twice in the batch": lambda t: [_home(t, "201"), _home(t, "301", floor=3), _home(t, " 201 ")],
    "unit of another building": lambda t: [{**_home(t, "201"), "unit": t.units["2"]}],
}


@pytest.fixture
def twins(world) -> tuple[Twin, Twin]:
    return make_twin(world, "single"), make_twin(world, "bulk")


@pytest.mark.parametrize("case", NEW_HOMES)
def test_bulk_create_homes_does_what_create_home_does(twins, case):
    by_one = compare(
        twins,
        lambda t: [lambda kw=kw: estates.create_home(**kw, actor=None) for kw in NEW_HOMES[case](t)],
        lambda t: estates.bulk_create_homes([estates.NewHome(**kw) for kw in NEW_HOMES[case](t)], actor=None),
    )
    assert (by_one[0] == "done") == (case == "good")
    if case == "good":
        assert [row[0] for row in by_one[1]] == ["home.create"] * 4
        with community_scope(twins[1].community.pk):
            assert Home.objects.count() == 2 + 4


HomeChanges = Callable[[Twin], list[tuple[Home, dict[str, Any]]]]

HOME_CHANGES: dict[str, HomeChanges] = {
    "good": lambda t: [
        (t.homes["101"], {"floor_area": "90.10", "status": "occupied"}),
        (t.homes["102"], {"floor": 1}),  # no change: no audit row
        (t.homes["102"], {"floor": -1, "use": "storage"}),
    ],
    "bad area": lambda t: [(t.homes["101"], {"status": "vacant"}), (t.homes["102"], {"floor_area": "0"})],
    "floor above the roof": lambda t: [(t.homes["101"], {"floor": 9})],
    "unknown status": lambda t: [(t.homes["102"], {"status": "sold"})],
    "a field that cannot change": lambda t: [(t.homes["101"], {"number": "999"})],
}


@pytest.mark.parametrize("case", HOME_CHANGES)
def test_bulk_update_homes_does_what_update_home_does(twins, case):
    by_one = compare(
        twins,
        lambda t: [lambda h=h, c=c: estates.update_home(h, actor=None, **c) for h, c in HOME_CHANGES[case](t)],
        lambda t: estates.bulk_update_homes(HOME_CHANGES[case](t), actor=None),
    )
    assert (by_one[0] == "done") == (case == "good")
    if case == "good":
        assert [row[0] for row in by_one[1]] == ["home.update", "home.update"]
        with community_scope(twins[1].community.pk):
            assert Home.objects.get(pk=twins[1].homes["102"].pk).floor == -1


def _register(homes: int) -> bytes:
    rows = [
        ["8", str(1 + i % 2), f"{1 + i // 20}{1 + i % 20:02d}", 1 + i // 20, "80.00", "住宅", "已入住"]
        for i in range(homes)
    ]
    people = [[*row[:3], f"住户{i}", f"137{i:08d}", "", "业主", "", "2020-01-01", ""] for i, row in enumerate(rows)]
    return workbook(rows, people)


def test_the_commit_costs_the_same_queries_for_ten_homes_or_two_hundred(world):
    def queries(code: str, homes: int) -> int:
        community = estates.create_community(name=code, code=code, district=world.district1, actor=None)
        with CaptureQueriesContext(connection) as captured:
            import_register(community, f"{code}.xlsx", _register(homes), actor=None)
        return len(captured)

    small, large = queries("small", 10), queries("large", 200)
    assert large - small < 40, (small, large)  # batches of ~80 rows on SQLite; per row it would be 2,000+


NEW_IN_BUILDING_1 = [["1", "1", "401", 4, "80", "住宅", "已入住"], ["1", "1", "402", 4, "80", "住宅", "已入住"]]


def _home_1_1_402_registered(world) -> None:
    building = world.a.buildings[0]
    unit = world.a.homes[0].unit
    estates.create_home(building=building, unit=unit, number="402", floor=4, floor_area="50", actor=None)


def _li_nas_mobile_registered(world) -> None:
    residents.create_person(community=world.a.community, name="钱多", phone="13912345678", actor=None)


@pytest.mark.parametrize(
    ("file", "meanwhile", "where"),
    [
        (workbook(NEW_IN_BUILDING_1), _home_1_1_402_registered, ("房屋", 3, "房号")),
        (workbook(GOOD_HOMES, GOOD_PEOPLE), _li_nas_mobile_registered, ("住户", 3, "手机号")),
    ],
)
def test_a_bulk_refusal_at_commit_names_its_row_and_undoes_everything(world, file, meanwhile, where):
    """The register changed between the check and the writing: the bulk service refuses, the
    refusal is tied to the row of the record it refused, and nothing of the file is written."""
    community = world.a.community
    preview = preview_file(community, "register.xlsx", file)
    assert preview.ok and preview.plan is not None
    meanwhile(world)
    before, audit_before = counts(community.pk), AuditEntry.objects.count()
    with pytest.raises(ImportRefused) as refused, transaction.atomic():
        apply_plan(preview.plan, community, preview.titles, actor=None)
    assert [(p.sheet, p.row, p.column) for p in refused.value.problems] == [where]
    assert counts(community.pk) == before
    assert AuditEntry.objects.count() == audit_before
