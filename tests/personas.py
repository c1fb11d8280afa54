"""A small world with named personas, built through the real services.

Two companies (X serves communities A and C, Y serves B), one regulator over district 1 (A and B,
not C), residents of A and B, company X's manager, and its steward, technician, finance clerk and
guard (all limited to A). Every tenancy test
asks: does a persona see what is theirs, and is everything else refused?
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from anju.core.models import District, Organization, Role, User
from anju.core.services import add_membership, create_district, create_organization, create_user
from anju.estates import services as estates
from anju.estates.models import Building, Community, Home
from anju.residents import services as residents
from anju.residents.models import Person

PASSWORD = "anju-test-pass-1"
CONTRACT_START = dt.date(2020, 1, 1)


@dataclass
class Estate:
    community: Community
    buildings: list[Building] = field(default_factory=list)
    homes: list[Home] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)


@dataclass
class World:
    district1: District
    district2: District
    company_x: Organization
    company_y: Organization
    regulator_org: Organization
    a: Estate
    b: Estate
    c: Estate
    users: dict[str, User]

    def user(self, persona: str) -> User:
        return self.users[persona]


def _estate(code: str, name: str, district: District, company: Organization, phone_seed: int) -> Estate:
    community = estates.create_community(name=name, code=code, district=district, built_year=2012, actor=None)
    estates.start_service_contract(
        community=community, company=company, fee_model="lump_sum", starts_on=CONTRACT_START, actor=None
    )
    estate = Estate(community=community)
    for number in ("1", "2"):
        building = estates.create_building(
            community=community, number=number, floors_above=6, has_lift=False, actor=None
        )
        unit = estates.create_unit(building=building, number="1", actor=None)
        estate.buildings.append(building)
        for floor in (1, 2, 3):
            for door in ("01", "02"):
                estate.homes.append(
                    estates.create_home(
                        building=building,
                        unit=unit,
                        number=f"{floor}{door}",
                        floor=floor,
                        floor_area="88.50",
                        actor=None,
                    )
                )
    owner = residents.create_person(community=community, name=f"{name}业主", phone=f"139{phone_seed:08d}", actor=None)
    residents.add_occupancy(home=estate.homes[0], person=owner, role="owner", starts_on=CONTRACT_START, actor=None)
    estate.people.append(owner)
    return estate


def build_world() -> World:
    d1 = create_district(name="一区", code="110101", actor=None)
    d2 = create_district(name="二区", code="110102", actor=None)
    x = create_organization(kind="company", name="X物业", actor=None)
    y = create_organization(kind="company", name="Y物业", actor=None)
    reg = create_organization(kind="regulator", name="一区住建委", districts=[d1], actor=None)
    a = _estate("a", "甲小区", d1, x, 1)
    b = _estate("b", "乙小区", d1, y, 2)
    c = _estate("c", "丙小区", d2, x, 3)
    users: dict[str, User] = {}
    for persona, org, role, limit in [
        ("manager_x", x, Role.MANAGER, None),
        ("manager_y", y, Role.MANAGER, None),
        ("steward", x, Role.STEWARD, [a.community.pk]),
        ("technician", x, Role.TECHNICIAN, [a.community.pk]),
        ("finance", x, Role.FINANCE_CLERK, [a.community.pk]),
        ("guard", x, Role.GUARD, [a.community.pk]),
        ("regulator", reg, Role.REGULATOR, None),
    ]:
        users[persona] = create_user(username=persona, password=PASSWORD, display_name=persona, actor=None)
        add_membership(
            user=users[persona], organization=org, role=role, community_ids=limit, starts_on=CONTRACT_START, actor=None
        )
    users["resident_a"] = residents.link_resident_account(a.people[0], password=PASSWORD, actor=None)
    users["resident_b"] = residents.link_resident_account(b.people[0], password=PASSWORD, actor=None)
    return World(d1, d2, x, y, reg, a, b, c, users)


PERSONAS = ["resident_a", "resident_b", "steward", "technician", "manager_x", "manager_y", "regulator", "anonymous"]
