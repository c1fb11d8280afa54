"""Carrying out a checked :class:`~.planning.Plan` through the estates and residents services.

Every creation and update goes through the same service function a clerk's form would call, so each
one writes its own audit row and meets the same rules. The caller holds one transaction around all
of it: if any service still refuses something (the register changed since the plan was made), the
error is tied back to its spreadsheet row and the whole import is undone.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from anju.core.errors import DomainError
from anju.core.models import User
from anju.core.tenancy import community_scope
from anju.estates import services as estates
from anju.estates.models import Building, Community, Home, Unit
from anju.estates.spreadsheets.formats import BUILDINGS, COLUMNS, HOMES, PEOPLE, Problem
from anju.estates.spreadsheets.planning import HomeKey, OccupancyPlan, Plan
from anju.residents import services as residents
from anju.residents.models import Occupancy, Person


class ImportRefused(Exception):
    """The file has problems; nothing was written. ``problems`` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


_SERVICE_FIELDS = {"floor_area": "floor_area", "floor": "floor", "use": "use", "status": "status", "number": "number"}
_PERSON_FIELDS = {"phone": "phone", "id_number": "id_number", "name": "name", "share_percent": "share", "role": "role"}


def _refuse(
    titles: dict[str, str], kind: str, row: int | None, exc: DomainError, fields: dict[str, str]
) -> ImportRefused:
    column = fields.get(exc.field or "", "")
    header = next((c.header for c in COLUMNS[kind] if c.field == column), "")
    return ImportRefused([Problem(titles.get(kind, ""), row or 0, header, str(exc.message))])


def apply_plan(plan: Plan, community: Community, titles: dict[str, str], *, actor: User | None) -> None:
    """Write ``plan``; call inside ``transaction.atomic``. Raises :class:`ImportRefused`."""
    with community_scope(community.pk):
        buildings = _apply_buildings(plan, community, titles, actor)
        homes = _apply_homes(plan, buildings, titles, actor)
        people = _apply_people(plan, community, titles, actor)
        _apply_occupancies(plan, homes, people, titles, actor)


def _apply_buildings(
    plan: Plan, community: Community, titles: dict[str, str], actor: User | None
) -> dict[str, Building]:
    existing = {b.number: b for b in Building.objects.all()}
    for number, bplan in plan.buildings.items():
        try:
            if bplan.existing_id is None:
                existing[number] = estates.create_building(
                    community=community, number=number, actor=actor, **bplan.values
                )
            elif bplan.changes:
                estates.update_building(existing[number], actor=actor, **bplan.changes)
        except DomainError as exc:
            raise _refuse(titles, BUILDINGS, bplan.row, exc, {"number": "building"}) from None
    return existing


def _apply_homes(
    plan: Plan, buildings: dict[str, Building], titles: dict[str, str], actor: User | None
) -> dict[HomeKey, Home]:
    units = {(u.building_id, u.number): u for u in Unit.objects.all()}
    for building_number, unit_number in plan.new_units:
        building = buildings[building_number]
        units[(building.pk, unit_number)] = _create_unit(building, unit_number, titles, plan, actor)
    homes: dict[HomeKey, Home] = {}
    changed_ids = [h.existing_id for h in plan.homes.values() if h.existing_id is not None and h.changes]
    existing = Home.objects.in_bulk(changed_ids)
    for key, hplan in plan.homes.items():
        building = buildings[key[0]]
        unit = units[(building.pk, key[1])] if key[1] else None
        try:
            if hplan.existing_id is None:
                homes[key] = estates.create_home(
                    building=building,
                    unit=unit,
                    number=key[2],
                    floor=hplan.floor,
                    floor_area=hplan.floor_area,
                    use=hplan.use,
                    status=hplan.status,
                    actor=actor,
                )
            elif hplan.changes:
                home = existing[hplan.existing_id]
                home.building = building  # the instance whose floors were just grown
                homes[key] = estates.update_home(home, actor=actor, **hplan.changes)
        except DomainError as exc:
            raise _refuse(titles, HOMES, hplan.row, exc, _SERVICE_FIELDS) from None
    return homes


def _create_unit(building: Building, number: str, titles: dict[str, str], plan: Plan, actor: User | None) -> Unit:
    try:
        return estates.create_unit(building=building, number=number, actor=actor)
    except DomainError as exc:
        row = next((h.row for k, h in plan.homes.items() if k[0] == building.number and k[1] == number), None)
        raise _refuse(titles, HOMES, row, exc, {"number": "unit"}) from None


def _apply_people(plan: Plan, community: Community, titles: dict[str, str], actor: User | None) -> dict[str, Person]:
    existing_ids = [p.existing_id for p in plan.people.values() if p.existing_id is not None]
    existing = Person.objects.in_bulk(existing_ids)
    people: dict[str, Person] = {}
    for key, pplan in plan.people.items():
        try:
            if pplan.existing_id is None:
                people[key] = residents.create_person(
                    community=community,
                    name=pplan.name,
                    phone=pplan.phone,
                    id_number=pplan.id_number,
                    kind=pplan.kind,
                    is_developer=pplan.is_developer,
                    actor=actor,
                )
            else:
                person = existing[pplan.existing_id]
                if pplan.changes:
                    person = residents.update_person(person, actor=actor, **pplan.changes)
                people[key] = person
        except DomainError as exc:
            raise _refuse(titles, PEOPLE, pplan.row, exc, _PERSON_FIELDS) from None
    return people


def _apply_occupancies(
    plan: Plan, homes: dict[HomeKey, Home], people: dict[str, Person], titles: dict[str, str], actor: User | None
) -> None:
    missing = {o.home for o in plan.occupancies if o.home not in homes}
    if missing:
        for home in Home.objects.select_related("building", "unit").filter(
            building__number__in={k[0] for k in missing}
        ):
            key = (home.building.number, home.unit.number if home.unit else "", home.number)
            homes.setdefault(key, home)
    ending = Occupancy.objects.in_bulk([o.existing_id for o in plan.occupancies if o.action == "end"])
    by_home: dict[HomeKey, list[OccupancyPlan]] = defaultdict(list)
    for occupancy in plan.occupancies:
        by_home[occupancy.home].append(occupancy)
    for key, occupancies in by_home.items():
        # The order the plan checked the shares in: by first day, then by row.
        for oplan in sorted(occupancies, key=lambda o: (o.effective_start, o.row)):
            try:
                _apply_occupancy(oplan, homes[key], people, ending, actor)
            except DomainError as exc:
                raise _refuse(titles, PEOPLE, oplan.row, exc, _PERSON_FIELDS | {"ends_on": "ends_on"}) from None


def _apply_occupancy(
    oplan: OccupancyPlan, home: Home, people: dict[str, Person], ending: dict[Any, Occupancy], actor: User | None
) -> None:
    if oplan.action == "keep":
        return
    if oplan.action == "end":
        residents.end_occupancy(ending[oplan.existing_id], ends_on=oplan.ends_on, actor=actor)
        return
    occupancy = residents.add_occupancy(
        home=home,
        person=people[oplan.person],
        role=oplan.role,
        starts_on=oplan.effective_start,
        share_percent=oplan.share,
        relation=oplan.relation,
        actor=actor,
    )
    if oplan.ends_on is not None:
        residents.end_occupancy(occupancy, ends_on=oplan.ends_on, actor=actor)
