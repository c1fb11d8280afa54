"""What an import will do, decided before anything is written (see :mod:`.planning`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from anju.estates.spreadsheets.formats import Problem
from anju.residents.models import Person

HomeKey = tuple[str, str, str]  # building number, unit number ("" for none), home number


class RowError(Exception):
    """A cell is wrong; ``column`` is the field whose header the report names."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


@dataclass
class BuildingPlan:
    number: str
    row: int | None = None  # its row in the buildings sheet, if any
    existing_id: int | None = None
    values: dict[str, Any] = field(default_factory=dict)  # for a new building: all its fields
    changes: dict[str, Any] = field(default_factory=dict)  # for an existing one: what differs


@dataclass
class HomePlan:
    key: HomeKey
    row: int
    floor: int
    floor_area: Decimal
    use: str
    status: str
    existing_id: int | None = None
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass
class PersonPlan:
    key: str
    row: int
    name: str
    phone: str = ""
    phone_index: str = ""
    id_number: str = ""
    id_index: str = ""
    kind: str = Person.Kind.INDIVIDUAL
    is_developer: bool = False
    existing_id: int | None = None
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass
class OccupancyPlan:
    row: int
    home: HomeKey
    person: str  # PersonPlan.key
    role: str
    share: Decimal | None
    starts_on: dt.date | None
    ends_on: dt.date | None
    relation: str
    effective_start: dt.date
    action: str = "add"  # add | end | keep
    existing_id: int | None = None


@dataclass
class Plan:
    community_id: int
    problems: list[Problem] = field(default_factory=list)
    buildings: dict[str, BuildingPlan] = field(default_factory=dict)
    new_units: list[tuple[str, str]] = field(default_factory=list)
    homes: dict[HomeKey, HomePlan] = field(default_factory=dict)
    people: dict[str, PersonPlan] = field(default_factory=dict)
    occupancies: list[OccupancyPlan] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def counts(self) -> dict[str, int]:
        buildings = self.buildings.values()
        homes = self.homes.values()
        people = self.people.values()
        occupancies = self.occupancies
        return {
            "buildings_created": sum(1 for b in buildings if b.existing_id is None),
            "buildings_updated": sum(1 for b in buildings if b.existing_id is not None and b.changes),
            "units_created": len(self.new_units),
            "homes_created": sum(1 for h in homes if h.existing_id is None),
            "homes_updated": sum(1 for h in homes if h.existing_id is not None and h.changes),
            "homes_unchanged": sum(1 for h in homes if h.existing_id is not None and not h.changes),
            "people_created": sum(1 for p in people if p.existing_id is None),
            "people_updated": sum(1 for p in people if p.existing_id is not None and p.changes),
            "occupancies_added": sum(1 for o in occupancies if o.action == "add"),
            "occupancies_ended": sum(1 for o in occupancies if o.action == "end"),
            "occupancies_unchanged": sum(1 for o in occupancies if o.action == "keep"),
        }


def home_label(key: HomeKey) -> str:
    building, unit, number = key
    return f"{building}栋{unit + '单元' if unit else ''}{number}"
