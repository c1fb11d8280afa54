"""The demo as plain data: what to write, decided before anything touches the database.

Planning is separate from writing so that the same plan can go through the real services (small and
medium) or through bulk inserts (large), and so that determinism is testable without a database:
the same size always yields the same plan.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from anju.core.demo.identity import IdentityPool

# A fixed "today" for the story, so ages and dates do not drift with the calendar.
STORY_DATE = dt.date(2025, 6, 1)
SEED = 20250601


@dataclass(frozen=True)
class Size:
    walkup_buildings: int
    highrise_buildings: int
    new_buildings: int


SIZES: dict[str, Size] = {
    "small": Size(walkup_buildings=3, highrise_buildings=1, new_buildings=2),
    "medium": Size(walkup_buildings=28, highrise_buildings=8, new_buildings=14),
    "large": Size(walkup_buildings=900, highrise_buildings=260, new_buildings=480),
}


@dataclass(frozen=True)
class EstateKind:
    """How one of the three demo communities is built and lived in."""

    code: str
    name: str
    address: str
    built_year: int
    province: str  # plate prefix
    floors: tuple[int, int]
    units: tuple[int, int]
    doors_per_floor: tuple[int, int]
    area: tuple[int, int]
    has_lift: bool
    floors_below: int


WALKUP = EstateKind(
    code="demo-guihua",
    name="桂花苑",
    address="锦华区柳岸街道桂花路18号",
    built_year=1998,
    province="浙",
    floors=(6, 7),
    units=(2, 3),
    doors_per_floor=(2, 2),
    area=(48, 92),
    has_lift=False,
    floors_below=0,
)
HIGHRISE = EstateKind(
    code="demo-jinxiu",
    name="锦绣华庭",
    address="锦华区柳岸街道锦绣大道99号",
    built_year=2012,
    province="浙",
    floors=(25, 33),
    units=(2, 3),
    doors_per_floor=(2, 2),
    area=(78, 146),
    has_lift=True,
    floors_below=2,
)
NEW = EstateKind(
    code="demo-yunqi",
    name="云栖新苑",
    address="锦华区柳岸街道云栖路6号",
    built_year=2022,
    province="浙",
    floors=(11, 18),
    units=(2, 2),
    doors_per_floor=(2, 2),
    area=(89, 143),
    has_lift=True,
    floors_below=1,
)
ESTATES = (WALKUP, HIGHRISE, NEW)


@dataclass
class BuildingPlan:
    number: str
    floors_above: int
    floors_below: int
    has_lift: bool
    units: list[str]


@dataclass
class HomePlan:
    building: int  # index into EstatePlan.buildings
    unit: str
    number: str
    floor: int
    floor_area: Decimal
    use: str
    status: str


@dataclass
class PersonPlan:
    name: str
    phone: str = ""
    id_number: str = ""
    kind: str = "individual"
    is_developer: bool = False
    note: str = ""
    account: bool = False  # gets a portal login under the mobile number
    consents: tuple[str, ...] = ()
    withdrawn: tuple[str, ...] = ()  # granted, later withdrawn (history)


@dataclass
class OccupancyPlan:
    home: int
    person: int
    role: str
    starts_on: dt.date
    share_percent: Decimal | None = None
    relation: str = ""
    ends_on: dt.date | None = None


@dataclass
class VehiclePlan:
    person: int
    plate: str
    description: str


@dataclass
class EstatePlan:
    kind: EstateKind
    buildings: list[BuildingPlan] = field(default_factory=list)
    homes: list[HomePlan] = field(default_factory=list)
    people: list[PersonPlan] = field(default_factory=list)
    occupancies: list[OccupancyPlan] = field(default_factory=list)
    vehicles: list[VehiclePlan] = field(default_factory=list)
    parking_spaces: int = 0
    developer: int | None = None  # index of the developer person (2022 estate)

    def add_person(self, person: PersonPlan) -> int:
        self.people.append(person)
        return len(self.people) - 1


def _date_between(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randrange(max(1, (end - start).days)))


def plan_register(kind: EstateKind, building_count: int, rng: random.Random) -> EstatePlan:
    plan = EstatePlan(kind=kind)
    for b in range(building_count):
        floors = rng.randint(*kind.floors)
        units = [str(u + 1) for u in range(rng.randint(*kind.units))]
        plan.buildings.append(BuildingPlan(str(b + 1), floors, kind.floors_below, kind.has_lift, units))
        doors = rng.randint(*kind.doors_per_floor)
        # The same door position has the same layout on every floor, as in real buildings.
        layouts = {
            (unit, door): Decimal(rng.randint(kind.area[0] * 100, kind.area[1] * 100)) / 100
            for unit in units
            for door in range(1, doors + 1)
        }
        for unit in units:
            for floor in range(1, floors + 1):
                for door in range(1, doors + 1):
                    use = "residential"
                    if kind is HIGHRISE and floor == 1 and b % 3 == 0:
                        use = "commercial"
                    plan.homes.append(
                        HomePlan(b, unit, f"{floor}{door:02d}", floor, layouts[(unit, door)], use, "occupied")
                    )
    spaces_per_home = {WALKUP.code: 0.15, HIGHRISE.code: 0.9, NEW.code: 1.0}[kind.code]
    plan.parking_spaces = int(len(plan.homes) * spaces_per_home)
    return plan


def _adult(pool: IdentityPool, age: int, female: bool, *, surname: str | None = None, **extra: object) -> PersonPlan:
    birth = pool.birth_date(age, STORY_DATE)
    return PersonPlan(
        name=pool.name(female, surname),
        phone=pool.mobile(),
        id_number=pool.id_number(birth, female),
        **extra,  # type: ignore[arg-type]
    )


def _child(pool: IdentityPool, age: int, surname: str) -> PersonPlan:
    female = pool.rng.random() < 0.5
    return PersonPlan(
        name=pool.name(female, surname), id_number=pool.id_number(pool.birth_date(age, STORY_DATE), female)
    )


def _household(plan: EstatePlan, pool: IdentityPool, home_index: int, moved_in: dt.date) -> None:
    """An owner-occupied home: an owner (or a couple owning 50/50), family, sometimes a car."""
    rng = pool.rng
    owner_female = rng.random() < 0.45
    owner = _adult(
        pool,
        rng.randint(28, 82),
        owner_female,
        account=rng.random() < 0.6,
        consents=("personal_data", "notifications"),
        withdrawn=("public_listing",) if rng.random() < 0.05 else (),
    )
    owner_i = plan.add_person(owner)
    surname = owner.name[0]
    if rng.random() < 0.55:
        spouse = plan.add_person(_adult(pool, rng.randint(28, 80), not owner_female, consents=("personal_data",)))
        if rng.random() < 0.5:
            plan.occupancies.append(OccupancyPlan(home_index, owner_i, "owner", moved_in, Decimal(50)))
            plan.occupancies.append(OccupancyPlan(home_index, spouse, "co_owner", moved_in, Decimal(50)))
        else:
            plan.occupancies.append(OccupancyPlan(home_index, owner_i, "owner", moved_in))
            plan.occupancies.append(OccupancyPlan(home_index, spouse, "family", moved_in, relation="配偶"))
    else:
        plan.occupancies.append(OccupancyPlan(home_index, owner_i, "owner", moved_in))
    for _ in range(rng.choice((0, 0, 1, 1, 1, 2))):
        child = plan.add_person(_child(pool, rng.randint(1, 17), surname))
        plan.occupancies.append(OccupancyPlan(home_index, child, "family", moved_in, relation="子女"))
    if rng.random() < 0.15:
        parent = plan.add_person(_adult(pool, rng.randint(65, 90), rng.random() < 0.5, surname=surname))
        plan.occupancies.append(OccupancyPlan(home_index, parent, "family", moved_in, relation="父母"))
    if rng.random() < 0.35:
        plan.vehicles.append(VehiclePlan(owner_i, pool.plate(plan.kind.province), pool.car()))


def _rented(plan: EstatePlan, pool: IdentityPool, home_index: int, owned_since: dt.date) -> None:
    """An owner who lives elsewhere lets the home; a previous tenant has moved out (history)."""
    rng = pool.rng
    owner = plan.add_person(_adult(pool, rng.randint(35, 75), rng.random() < 0.5, consents=("personal_data",)))
    plan.occupancies.append(OccupancyPlan(home_index, owner, "owner", owned_since))
    lease_start = _date_between(rng, max(owned_since, dt.date(2021, 1, 1)), STORY_DATE - dt.timedelta(days=30))
    if rng.random() < 0.5 and lease_start > owned_since + dt.timedelta(days=400):
        earlier = plan.add_person(_adult(pool, rng.randint(22, 50), rng.random() < 0.5))
        plan.occupancies.append(
            OccupancyPlan(
                home_index,
                earlier,
                "tenant",
                lease_start - dt.timedelta(days=365),
                ends_on=lease_start - dt.timedelta(days=1),
            )
        )
    for _ in range(rng.choice((1, 1, 2))):
        tenant = plan.add_person(
            _adult(
                pool, rng.randint(22, 50), rng.random() < 0.5, account=rng.random() < 0.5, consents=("personal_data",)
            )
        )
        plan.occupancies.append(OccupancyPlan(home_index, tenant, "tenant", lease_start))


def _previous_owner(plan: EstatePlan, pool: IdentityPool, home_index: int, since: dt.date, sold: dt.date) -> None:
    seller = plan.add_person(_adult(pool, pool.rng.randint(50, 85), pool.rng.random() < 0.5, note="已出售"))
    plan.occupancies.append(OccupancyPlan(home_index, seller, "owner", since, ends_on=sold))


def plan_people(plan: EstatePlan, pool: IdentityPool) -> None:
    """Decide, home by home, who owns it and who lives there, including the history."""
    rng = pool.rng
    kind = plan.kind
    delivered = dt.date(kind.built_year, 9, 1) if kind is not NEW else dt.date(2022, 12, 1)
    if kind is NEW:
        plan.developer = plan.add_person(
            PersonPlan(
                name="云栖置业有限公司",
                kind="organization",
                is_developer=True,
                id_number="91330106MA2DEMO01X",
                note="开发商（未售房屋）",
            )
        )
    for index, home in enumerate(plan.homes):
        roll = rng.random()
        if kind is NEW:
            # Every home starts as the developer's; about a quarter are still unsold.
            assert plan.developer is not None
            if roll < 0.25 and home.use == "residential":
                home.status = "unsold"
                plan.occupancies.append(OccupancyPlan(index, plan.developer, "owner", dt.date(2022, 3, 1)))
                continue
            sold = _date_between(rng, dt.date(2022, 3, 2), dt.date(2024, 6, 1))
            plan.occupancies.append(
                OccupancyPlan(index, plan.developer, "owner", dt.date(2022, 3, 1), ends_on=sold - dt.timedelta(days=1))
            )
            since = max(sold, delivered)
            if roll < 0.40:
                home.status = "delivered"
                owner = plan.add_person(
                    _adult(pool, rng.randint(28, 60), rng.random() < 0.5, consents=("personal_data",))
                )
                plan.occupancies.append(OccupancyPlan(index, owner, "owner", sold))
            elif roll < 0.50:
                home.status = "occupied"
                _rented(plan, pool, index, sold)
            else:
                home.status = "occupied"
                _household(plan, pool, index, since)
            continue
        first_owned = _date_between(rng, delivered, delivered + dt.timedelta(days=400))
        moved_in = first_owned
        if rng.random() < 0.12:  # resold once: the seller's record stays as history
            sold = _date_between(rng, first_owned + dt.timedelta(days=800), dt.date(2023, 1, 1))
            _previous_owner(plan, pool, index, first_owned, sold)
            moved_in = sold + dt.timedelta(days=1)
        if home.use == "commercial" or roll < 0.22:
            home.status = "occupied"
            _rented(plan, pool, index, moved_in)
        elif roll < 0.28:
            home.status = "vacant"
            owner = plan.add_person(_adult(pool, rng.randint(40, 85), rng.random() < 0.5))
            plan.occupancies.append(OccupancyPlan(index, owner, "owner", moved_in))
        else:
            home.status = "occupied"
            _household(plan, pool, index, moved_in)


def plan_estate(kind: EstateKind, building_count: int, pool: IdentityPool) -> EstatePlan:
    plan = plan_register(kind, building_count, pool.rng)
    plan_people(plan, pool)
    return plan
