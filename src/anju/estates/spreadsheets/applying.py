"""Carrying out a checked :class:`~.planning.Plan` through the estates and residents services.

Homes, people and residence records go through the bulk services (``bulk_create_homes``,
``bulk_add_occupancies``...), which apply the same rules as the functions a clerk's form calls and
write the same audit row per record, in a few statements instead of ten queries per row. The few
buildings, units and changed people go through the single-record services. The caller holds one
transaction around all of it: if any service still refuses something (the register changed since
the plan was made), the error is tied back to its spreadsheet row and the whole import is undone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from anju.core.errors import DomainError
from anju.core.models import User
from anju.core.tenancy import community_scope
from anju.estates import services as estates
from anju.estates.models import Building, Community, Home, Unit
from anju.estates.spreadsheets.formats import BUILDINGS, COLUMNS, HOMES, PEOPLE, Problem
from anju.estates.spreadsheets.planning import HomeKey, Plan
from anju.residents import services as residents
from anju.residents.models import Occupancy, Person

T = TypeVar("T")


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


def _in_bulk(
    call: Callable[[], T], titles: dict[str, str], kind: str, rows: Sequence[int], fields: dict[str, str]
) -> T:
    """Run a bulk service whose records came from ``rows``; a refusal names the row of its record."""
    try:
        return call()
    except DomainError as exc:
        row = rows[exc.item] if exc.item is not None and exc.item < len(rows) else None
        raise _refuse(titles, kind, row, exc, fields) from None


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
    new = [(key, hplan) for key, hplan in plan.homes.items() if hplan.existing_id is None]
    specs = [
        estates.NewHome(
            building=buildings[key[0]],
            unit=units[(buildings[key[0]].pk, key[1])] if key[1] else None,
            number=key[2],
            floor=hplan.floor,
            floor_area=hplan.floor_area,
            use=hplan.use,
            status=hplan.status,
        )
        for key, hplan in new
    ]
    created = _in_bulk(
        lambda: estates.bulk_create_homes(specs, actor=actor), titles, HOMES, [h.row for _, h in new], _SERVICE_FIELDS
    )
    homes: dict[HomeKey, Home] = {key: home for (key, _hplan), home in zip(new, created, strict=True)}
    changing = [(key, hplan) for key, hplan in plan.homes.items() if hplan.existing_id is not None and hplan.changes]
    existing = Home.objects.in_bulk([hplan.existing_id for _key, hplan in changing])
    for key, hplan in changing:
        existing[hplan.existing_id].building = buildings[key[0]]  # the instance whose floors were just grown
    changes = [(existing[hplan.existing_id], hplan.changes) for _key, hplan in changing]
    updated = _in_bulk(
        lambda: estates.bulk_update_homes(changes, actor=actor),
        titles,
        HOMES,
        [hplan.row for _key, hplan in changing],
        _SERVICE_FIELDS,
    )
    homes.update({key: home for (key, _hplan), home in zip(changing, updated, strict=True)})
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
        if pplan.existing_id is None:
            continue
        person = existing[pplan.existing_id]
        if pplan.changes:  # a number added or corrected: rare, and one at a time keeps clashes simple
            try:
                person = residents.update_person(person, actor=actor, **pplan.changes)
            except DomainError as exc:
                raise _refuse(titles, PEOPLE, pplan.row, exc, _PERSON_FIELDS) from None
        people[key] = person
    new = [(key, pplan) for key, pplan in plan.people.items() if pplan.existing_id is None]
    specs = [
        residents.NewPerson(
            name=pplan.name,
            phone=pplan.phone,
            id_number=pplan.id_number,
            kind=pplan.kind,
            is_developer=pplan.is_developer,
        )
        for _key, pplan in new
    ]
    created = _in_bulk(
        lambda: residents.bulk_create_people(community=community, people=specs, actor=actor),
        titles,
        PEOPLE,
        [pplan.row for _key, pplan in new],
        _PERSON_FIELDS,
    )
    people.update({key: person for (key, _pplan), person in zip(new, created, strict=True)})
    return people


_OCCUPANCY_FIELDS = _PERSON_FIELDS | {"ends_on": "ends_on"}


def _apply_occupancies(
    plan: Plan, homes: dict[HomeKey, Home], people: dict[str, Person], titles: dict[str, str], actor: User | None
) -> None:
    """End the records the file ends, then add the new ones in the order the plan checked their
    shares in (by first day, then by row). Ending first changes no check: an end only shortens a
    record from its first day on, and the records added before it in that order start no later."""
    missing = {o.home for o in plan.occupancies if o.home not in homes}
    if missing:
        for home in Home.objects.select_related("building", "unit").filter(
            building__number__in={k[0] for k in missing}
        ):
            key = (home.building.number, home.unit.number if home.unit else "", home.number)
            homes.setdefault(key, home)
    ends = [o for o in plan.occupancies if o.action == "end"]
    ending = Occupancy.objects.in_bulk([o.existing_id for o in ends])
    endings = [(ending[o.existing_id], o.ends_on) for o in ends]
    _in_bulk(
        lambda: residents.bulk_end_occupancies(endings, actor=actor),
        titles,
        PEOPLE,
        [o.row for o in ends],
        _OCCUPANCY_FIELDS,
    )
    adds = sorted((o for o in plan.occupancies if o.action == "add"), key=lambda o: (o.effective_start, o.row))
    records = [
        residents.NewOccupancy(
            home=homes[oplan.home],
            person=people[oplan.person],
            role=oplan.role,
            starts_on=oplan.effective_start,
            share_percent=oplan.share,
            relation=oplan.relation,
            ends_on=oplan.ends_on,
        )
        for oplan in adds
    ]
    _in_bulk(
        lambda: residents.bulk_add_occupancies(records, actor=actor),
        titles,
        PEOPLE,
        [o.row for o in adds],
        _OCCUPANCY_FIELDS,
    )
