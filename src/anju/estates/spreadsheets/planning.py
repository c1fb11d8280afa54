"""Checking an uploaded register against the rules and the register as it is, writing nothing.

:func:`plan_import` reads every row, applies the same validators and service rules the estates and
residents services apply (floor area, floors, GB 11643, mobile numbers, roles, shares), matches rows
to what already exists (homes by building + unit + number, people by the blind index of their mobile
or ID number, occupancies by home + person + role + start date), and returns a :class:`Plan`: the
problems found, row by row, and otherwise the exact list of creations and updates a commit makes.

The register is read in a handful of bulk queries, never once per row, so a 10,000-row file
previews in seconds.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.core.crypto import blind_index
from anju.core.errors import DomainError
from anju.core.tenancy import community_scope
from anju.core.validators import validate_id_number, validate_mobile
from anju.estates.models import Building, Community, Home, Unit
from anju.estates.services import parse_floor_area
from anju.estates.spreadsheets.formats import (
    BUILDINGS,
    HOMES,
    LIFT_LABELS,
    PEOPLE,
    PERSON_KIND_LABELS,
    ROLE_LABELS,
    STATUS_LABELS,
    USE_LABELS,
    Problem,
    Row,
    Sheet,
    allowed_labels,
    parse_code,
    parse_date,
)
from anju.estates.spreadsheets.people import PersonGroups
from anju.estates.spreadsheets.plans import (
    BuildingPlan,
    HomeKey,
    HomePlan,
    OccupancyPlan,
    PersonPlan,
    Plan,
    RowError,
    home_label,
)
from anju.residents.models import Occupancy, Person
from anju.residents.services import OWNERSHIP_ROLES
from anju.residents.services import _parse_share as parse_share


def _integer(text: str, column: str, message: str) -> int:
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise RowError(column, message) from None
    if not value.is_finite() or value != value.to_integral_value():
        raise RowError(column, message)
    return int(value)


def _domain_message(exc: DomainError | ValidationError) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(str(m) for m in exc.messages)
    return str(exc.message)


@dataclass
class _Register:
    """The community's register as it is, read in bulk."""

    buildings: dict[str, dict[str, Any]]
    units: dict[tuple[str, str], int]
    homes: dict[HomeKey, dict[str, Any]]
    people: dict[int, dict[str, Any]]
    by_phone: dict[str, int]
    by_id: dict[str, int]
    occupancies: dict[int, list[dict[str, Any]]]  # home id -> its occupancies

    @classmethod
    def load(cls, community_id: int) -> _Register:
        with community_scope(community_id):
            buildings = {
                b["number"]: dict(b)
                for b in Building.objects.values("id", "number", "name", "floors_above", "floors_below", "has_lift")
            }
            units = {
                (u["building__number"], u["number"]): u["id"]
                for u in Unit.objects.values("id", "number", "building__number")
            }
            homes: dict[HomeKey, dict[str, Any]] = {}
            for h in Home.objects.values(
                "id", "building__number", "unit__number", "number", "floor", "floor_area", "use", "status"
            ):
                homes[(h["building__number"], h["unit__number"] or "", h["number"])] = dict(h)
            people: dict[int, dict[str, Any]] = {
                p["id"]: dict(p) for p in Person.objects.values("id", "name", "phone_index", "id_number_index")
            }
            occupancies: dict[int, list[dict[str, Any]]] = defaultdict(list)
            for o in Occupancy.objects.values(
                "id", "home_id", "person_id", "role", "share_percent", "starts_on", "ends_on"
            ):
                occupancies[o["home_id"]].append(dict(o))
        return cls(
            buildings=buildings,
            units=units,
            homes=homes,
            people=people,
            by_phone={p["phone_index"]: pk for pk, p in people.items() if p["phone_index"]},
            by_id={p["id_number_index"]: pk for pk, p in people.items() if p["id_number_index"]},
            occupancies=occupancies,
        )


class _Planner:
    def __init__(self, community: Community, sheets: dict[str, Sheet]) -> None:
        self.sheets = sheets
        self.plan = Plan(community_id=community.pk)
        self.register = _Register.load(community.pk)
        self.today = timezone.localdate()

    def problem(self, sheet: Sheet, row: int, column: str, message: str) -> None:
        header = sheet.header(column) if column else ""
        self.plan.problems.append(Problem(sheet.title, row, header, message))

    def run(self) -> Plan:
        if BUILDINGS in self.sheets:
            self.read_buildings(self.sheets[BUILDINGS])
        if HOMES in self.sheets:
            self.read_homes(self.sheets[HOMES])
        self.settle_buildings()
        if PEOPLE in self.sheets:
            self.read_people(self.sheets[PEOPLE])
        self.plan.problems.sort(key=lambda p: (p.sheet != self._title(BUILDINGS), p.sheet != self._title(HOMES), p.row))
        return self.plan

    def _title(self, kind: str) -> str:
        return self.sheets[kind].title if kind in self.sheets else ""

    # --- buildings ---------------------------------------------------------------------------------

    def read_buildings(self, sheet: Sheet) -> None:
        seen: dict[str, int] = {}
        for row in sheet.rows:
            try:
                number = row.text("building")
                if not number:
                    raise RowError("building", _("A building needs a number."))
                if number in seen:
                    raise RowError(
                        "building",
                        _("Building %(number)s is already on row %(row)s.") % {"number": number, "row": seen[number]},
                    )
                values: dict[str, Any] = {}
                if "name" in row.cells:
                    values["name"] = row.text("name")
                for name in ("floors_above", "floors_below"):
                    text = row.text(name)
                    if text:
                        count = _integer(
                            text, name, _("“%(value)s” is not a whole number of floors.") % {"value": text}
                        )
                        if count < (1 if name == "floors_above" else 0) or count > 200:
                            raise RowError(
                                name, _("“%(value)s” is not a plausible number of floors.") % {"value": text}
                            )
                        values[name] = count
                if row.text("has_lift"):
                    lift = parse_code(row.text("has_lift"), LIFT_LABELS)
                    if lift is None:
                        raise RowError(
                            "has_lift", _("Write 有 or 无, not “%(value)s”.") % {"value": row.text("has_lift")}
                        )
                    values["has_lift"] = lift == "yes"
            except RowError as exc:
                self.problem(sheet, row.number, exc.column, exc.message)
                continue
            seen[number] = row.number
            self.plan.buildings[number] = BuildingPlan(number=number, row=row.number, values=values)

    def building(self, number: str) -> BuildingPlan:
        if number not in self.plan.buildings:
            self.plan.buildings[number] = BuildingPlan(number=number)
        return self.plan.buildings[number]

    def settle_buildings(self) -> None:
        """Decide each building's floors: as the buildings sheet says, else grown to fit its homes."""
        highest: dict[str, int] = {}
        lowest: dict[str, int] = {}
        for key, home in self.plan.homes.items():
            highest[key[0]] = max(highest.get(key[0], 1), home.floor)
            lowest[key[0]] = min(lowest.get(key[0], 1), home.floor)
        for key, registered in self.register.homes.items():
            if key not in self.plan.homes:
                highest[key[0]] = max(highest.get(key[0], 1), registered["floor"])
                lowest[key[0]] = min(lowest.get(key[0], 1), registered["floor"])
        sheet = self.sheets.get(BUILDINGS)
        for number, bplan in self.plan.buildings.items():
            existing = self.register.buildings.get(number)
            wanted = dict(bplan.values)
            need_above, need_below = highest.get(number, 1), max(0, -lowest.get(number, 1))
            for name, need in (("floors_above", need_above), ("floors_below", need_below)):
                if name in wanted and wanted[name] < need and sheet is not None and bplan.row:
                    self.problem(
                        sheet,
                        bplan.row,
                        name,
                        _(
                            "Building %(number)s has a home on floor %(floor)s, "
                            "but the building is given only %(value)s such floors."
                        )
                        % {"number": number, "floor": need if name == "floors_above" else -need, "value": wanted[name]},
                    )
                current = existing[name] if existing else (1 if name == "floors_above" else 0)
                wanted.setdefault(name, max(current, need))
            if existing is None:
                bplan.values = {"name": "", "has_lift": False, **wanted}
            else:
                bplan.existing_id = existing["id"]
                bplan.changes = {k: v for k, v in wanted.items() if existing[k] != v}

    # --- homes -------------------------------------------------------------------------------------

    def read_homes(self, sheet: Sheet) -> None:
        seen: dict[HomeKey, int] = {}
        for row in sheet.rows:
            try:
                home = self.read_home(row, seen)
            except RowError as exc:
                self.problem(sheet, row.number, exc.column, exc.message)
                continue
            seen[home.key] = row.number
            self.plan.homes[home.key] = home
            self.building(home.key[0])
            unit_key = (home.key[0], home.key[1])
            if home.key[1] and unit_key not in self.register.units and unit_key not in self.plan.new_units:
                self.plan.new_units.append(unit_key)

    def read_home(self, row: Row, seen: dict[HomeKey, int]) -> HomePlan:
        building, unit, number = row.text("building"), row.text("unit"), row.text("number")
        if not building:
            raise RowError("building", _("A home needs its building number."))
        if not number:
            raise RowError("number", _("A home needs a number."))
        key = (building, unit, number)
        if key in seen:
            raise RowError(
                "number", _("Home %(home)s is already on row %(row)s.") % {"home": home_label(key), "row": seen[key]}
            )
        floor_text = row.text("floor")
        if not floor_text:
            raise RowError("floor", _("The floor is missing."))
        floor = _integer(
            floor_text, "floor", _("“%(value)s” is not a floor number such as 3 or -1.") % {"value": floor_text}
        )
        if floor == 0:
            raise RowError("floor", _("There is no floor 0: floors above ground start at 1, below ground at -1."))
        area_text = row.text("floor_area")
        if not area_text:
            raise RowError("floor_area", _("The floor area is missing."))
        try:
            area = parse_floor_area(area_text)
        except DomainError as exc:
            raise RowError("floor_area", f"“{area_text}”: {_domain_message(exc)}") from None
        use = self.coded(row, "use", USE_LABELS, Home.Use.RESIDENTIAL)
        status = self.coded(row, "status", STATUS_LABELS, Home.Status.DELIVERED)
        plan = HomePlan(key=key, row=row.number, floor=floor, floor_area=area, use=use, status=status)
        existing = self.register.homes.get(key)
        if existing is not None:
            plan.existing_id = existing["id"]
            wanted = {"floor": floor, "floor_area": area, "use": use, "status": status}
            plan.changes = {k: v for k, v in wanted.items() if existing[k] != v}
        return plan

    @staticmethod
    def coded(row: Row, column: str, labels: dict[str, tuple[str, ...]], default: str) -> str:
        text = row.text(column)
        if not text:
            return default
        code = parse_code(text, labels)
        if code is None:
            raise RowError(
                column,
                _("“%(value)s” is not one of: %(allowed)s.") % {"value": text, "allowed": allowed_labels(labels)},
            )
        return code

    # --- people ------------------------------------------------------------------------------------

    def home_exists(self, key: HomeKey) -> bool:
        return key in self.plan.homes or key in self.register.homes

    def read_people(self, sheet: Sheet) -> None:
        groups = PersonGroups(self)
        rows: list[tuple[OccupancyPlan, PersonPlan]] = []
        seen: dict[tuple[HomeKey, str, str, str, dt.date | None], int] = {}
        for row in sheet.rows:
            try:
                occupancy, person = self.read_person_row(row)
                person = groups.join(person, occupancy.home)
            except RowError as exc:
                self.problem(sheet, row.number, exc.column, exc.message)
                continue
            rows.append((occupancy, person))
        groups.resolve(sheet)
        by_home: dict[HomeKey, list[OccupancyPlan]] = defaultdict(list)
        for occupancy, person in rows:
            occupancy.person = groups.final_key(person)
            dedupe = (occupancy.home, occupancy.person, occupancy.role, occupancy.relation, occupancy.starts_on)
            if dedupe in seen:
                self.problem(
                    sheet,
                    occupancy.row,
                    "name",
                    _("The same record is already on row %(row)s.") % {"row": seen[dedupe]},
                )
                continue
            seen[dedupe] = occupancy.row
            by_home[occupancy.home].append(occupancy)
        for home, occupancies in by_home.items():
            self.settle_occupancies(sheet, home, occupancies)
        self.plan.people = groups.plans()

    def read_person_row(self, row: Row) -> tuple[OccupancyPlan, PersonPlan]:
        key = (row.text("building"), row.text("unit"), row.text("number"))
        if not key[0]:
            raise RowError("building", _("The building number is missing."))
        if not key[2]:
            raise RowError("number", _("The home number is missing."))
        if not self.home_exists(key):
            raise RowError(
                "number",
                _("Home %(home)s is neither in the register nor in the homes sheet.") % {"home": home_label(key)},
            )
        name = row.text("name")
        if not name:
            raise RowError("name", _("A name is required."))
        kind_code = self.coded(row, "person_kind", PERSON_KIND_LABELS, "individual")
        person = PersonPlan(
            key="",
            row=row.number,
            name=name,
            kind=Person.Kind.INDIVIDUAL if kind_code == "individual" else Person.Kind.ORGANIZATION,
            is_developer=kind_code == "developer",
        )
        if row.text("phone"):
            try:
                person.phone = validate_mobile(row.text("phone"))
            except ValidationError as exc:
                raise RowError("phone", _domain_message(exc)) from None
            person.phone_index = blind_index(person.phone, purpose="phone")
        if row.text("id_number"):
            raw = row.text("id_number")
            if person.kind == Person.Kind.INDIVIDUAL:
                try:
                    person.id_number = validate_id_number(raw)
                except ValidationError as exc:
                    raise RowError("id_number", f"“{raw}”: {_domain_message(exc)}") from None
            else:
                person.id_number = raw.strip().upper()
            person.id_index = blind_index(person.id_number, purpose="id_number")
        role_text = row.text("role")
        if not role_text:
            raise RowError(
                "role",
                _("The relation to the home is missing (%(allowed)s).") % {"allowed": allowed_labels(ROLE_LABELS)},
            )
        role = self.coded(row, "role", ROLE_LABELS, "")
        try:
            share = parse_share(row.text("share"))
        except DomainError as exc:
            raise RowError("share", f"“{row.text('share')}”: {_domain_message(exc)}") from None
        if role == Occupancy.Role.CO_OWNER and share is None:
            raise RowError("share", _("A co-owner needs a share in percent."))
        if role not in OWNERSHIP_ROLES and share is not None:
            raise RowError("share", _("Only owners and co-owners have a share."))
        dates: dict[str, dt.date | None] = {}
        for column in ("starts_on", "ends_on"):
            try:
                dates[column] = parse_date(row.raw(column))
            except ValueError:
                raise RowError(
                    column, _("“%(value)s” is not a date such as 2020-05-01.") % {"value": row.text(column)}
                ) from None
        starts_on, ends_on = dates["starts_on"], dates["ends_on"]
        if ends_on is not None and starts_on is None:
            raise RowError("starts_on", _("A record with an end date needs a start date."))
        if ends_on is not None and starts_on is not None and ends_on < starts_on:
            raise RowError("ends_on", _("It cannot end before it started (%(date)s).") % {"date": starts_on})
        occupancy = OccupancyPlan(
            row=row.number,
            home=key,
            person="",
            role=role,
            share=share,
            starts_on=starts_on,
            ends_on=ends_on,
            relation=row.text("relation"),
            effective_start=starts_on or self.today,
        )
        return occupancy, person

    def settle_occupancies(self, sheet: Sheet, home: HomeKey, rows: list[OccupancyPlan]) -> None:
        """Replay the home's records in date order exactly as the commit will, applying the rules of
        :func:`anju.residents.services.add_occupancy` to each: no second identical current record,
        ownership shares (an owner without one holds 100%) never above 100% on a record's first day."""
        existing_home = self.register.homes.get(home)
        timeline: list[dict[str, Any]] = []
        if existing_home is not None:
            for o in self.register.occupancies.get(existing_home["id"], []):
                timeline.append({**o, "person": f"db:{o['person_id']}", "existing": True})
        for occupancy in sorted(rows, key=lambda o: (o.effective_start, o.row)):
            match = self.match_existing(occupancy, timeline)
            if match is not None:
                self.settle_match(sheet, occupancy, match)
                continue
            day = occupancy.effective_start
            current = [t for t in timeline if t["starts_on"] <= day and (t["ends_on"] is None or t["ends_on"] >= day)]
            if any(t["person"] == occupancy.person and t["role"] == occupancy.role for t in current):
                self.problem(
                    sheet,
                    occupancy.row,
                    "role",
                    _("This person already has this relation to the home on %(date)s.") % {"date": day},
                )
                continue
            if occupancy.role in OWNERSHIP_ROLES:
                held = sum(
                    (t["share_percent"] if t["share_percent"] is not None else Decimal(100))
                    for t in current
                    if t["role"] in OWNERSHIP_ROLES
                )
                mine = occupancy.share if occupancy.share is not None else Decimal(100)
                if held + mine > 100:
                    self.problem(
                        sheet,
                        occupancy.row,
                        "share",
                        _(
                            "Ownership shares of home %(home)s would come to %(total)s%% on %(date)s; "
                            "they cannot exceed 100%%."
                        )
                        % {"home": home_label(home), "total": f"{held + mine:g}", "date": day},
                    )
                    continue
            timeline.append(
                {
                    "person": occupancy.person,
                    "role": occupancy.role,
                    "share_percent": occupancy.share,
                    "starts_on": day,
                    "ends_on": occupancy.ends_on,
                    "existing": False,
                }
            )
            self.plan.occupancies.append(occupancy)

    def match_existing(self, occupancy: OccupancyPlan, timeline: list[dict[str, Any]]) -> dict[str, Any] | None:
        candidates = [
            t for t in timeline if t["existing"] and t["person"] == occupancy.person and t["role"] == occupancy.role
        ]
        if occupancy.starts_on is not None:
            return next((t for t in candidates if t["starts_on"] == occupancy.starts_on), None)
        today = self.today
        return next(
            (t for t in candidates if t["starts_on"] <= today and (t["ends_on"] is None or t["ends_on"] >= today)), None
        )

    def settle_match(self, sheet: Sheet, occupancy: OccupancyPlan, match: dict[str, Any]) -> None:
        occupancy.existing_id = match["id"]
        occupancy.effective_start = match["starts_on"]
        if occupancy.share is not None and occupancy.share != match["share_percent"]:
            self.problem(
                sheet,
                occupancy.row,
                "share",
                _(
                    "This record is already in the register with another share; "
                    "change it in the console, not by import."
                ),
            )
            return
        if occupancy.ends_on is None or occupancy.ends_on == match["ends_on"]:
            occupancy.action = "keep"
        elif match["ends_on"] is None:
            occupancy.action = "end"
            match["ends_on"] = occupancy.ends_on
        else:
            self.problem(
                sheet,
                occupancy.row,
                "ends_on",
                _("This record already ended on %(date)s in the register; an import cannot change that.")
                % {"date": match["ends_on"]},
            )
            return
        self.plan.occupancies.append(occupancy)


def plan_import(community: Community, sheets: dict[str, Sheet]) -> Plan:
    """Validate ``sheets`` against ``community``'s register; the result lists problems or changes."""
    return _Planner(community, sheets).run()
