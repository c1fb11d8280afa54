"""Seed the demo: two companies, a regulator, three communities, their people and staff.

The whole seed is one transaction (each step inside it is its own atomic block), so an interrupted
run leaves nothing behind and the next run starts clean; once it has committed, a later run sees the
three demo communities and does nothing.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils.translation import gettext as _

from anju.core import audit
from anju.core.demo.hooks import DemoContext, run_demo_steps
from anju.core.demo.identity import IdentityPool
from anju.core.demo.plan import ESTATES, HIGHRISE, NEW, SEED, SIZES, WALKUP, EstateKind, EstatePlan, plan_estate
from anju.core.demo.writers import BulkWriter, ServiceWriter, units_by_key
from anju.core.models import AuditEntry, District, Organization, Role, User
from anju.core.services import add_membership, create_district, create_organization, create_user
from anju.estates import services as estates
from anju.estates.models import Building, Community, Home
from anju.residents import services as residents
from anju.residents.models import Person

DEMO_PASSWORD = "anju-demo-2025"
DEMO_CODES = tuple(kind.code for kind in ESTATES)
# Residents with fixed mobile numbers, so the README and the start-up banner can name them.
RESIDENT_WALKUP = "13800138001"
RESIDENT_HIGHRISE = "13800138002"
COMMITTEE_MEMBER = "13800138003"
FIXED_MOBILES = {RESIDENT_WALKUP, RESIDENT_HIGHRISE, COMMITTEE_MEMBER}


@dataclass(frozen=True)
class StaffLogin:
    username: str
    role: str
    company: str  # "anju", "hexie" or "regulator"
    communities: tuple[str, ...] = ()  # community codes; empty means all the organization serves
    description: str = ""


NAMED_STAFF = (
    StaffLogin("admin", Role.COMPANY_ADMIN, "anju", description="安居物业 公司管理员"),
    StaffLogin("manager", Role.MANAGER, "anju", description="安居物业 项目经理（锦绣华庭、云栖新苑）"),
    StaffLogin("steward", Role.STEWARD, "anju", (HIGHRISE.code,), "安居物业 管家（锦绣华庭）"),
    StaffLogin("technician", Role.TECHNICIAN, "anju", description="安居物业 维修工"),
    StaffLogin("guard", Role.GUARD, "anju", (HIGHRISE.code,), "安居物业 保安（锦绣华庭）"),
    StaffLogin("finance", Role.FINANCE_CLERK, "anju", description="安居物业 财务"),
    StaffLogin("service", Role.CUSTOMER_SERVICE, "anju", description="安居物业 客服"),
    StaffLogin("hexie", Role.MANAGER, "hexie", description="和谐物业 项目经理（桂花苑）"),
    StaffLogin("regulator", Role.REGULATOR, "regulator", description="锦华区住建局 监管（三个小区）"),
)
# Which company serves which community today (桂花苑 changed from 安居 to 和谐 at the start of 2017).
CURRENT_COMPANY = {WALKUP.code: "hexie", HIGHRISE.code: "anju", NEW.code: "anju"}
CONTRACT_START = {WALKUP.code: dt.date(2017, 1, 1), HIGHRISE.code: dt.date(2012, 10, 1), NEW.code: dt.date(2022, 12, 1)}
STEWARD_TARGET = 50  # homes per steward, the industry norm
# auto_balance_stewards hands out whole blocks (a building, else a unit, else a band of floors of at
# most this many homes). A steward's load stays within one block of homes/stewards, so blocks of at
# most 20 homes keep every steward between 30 and 70 when there is one steward per ~50 homes, while
# a walk-up unit or a band of tower floors still stays with one steward.
STEWARD_BLOCK = 20
STEWARD_RANGE = (30, 70)


@dataclass
class SeedReport:
    size: str
    created: bool
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    writer: str = ""


def demo_present() -> bool:
    return Community.objects.filter(code__in=DEMO_CODES).count() == len(DEMO_CODES)


def seeded_size() -> str:
    entry = AuditEntry.objects.filter(action="demo.seed").order_by("-id").first()
    return str((entry.after or {}).get("size", "")) if entry else ""


def format_logins() -> str:
    """The banner ``seed_demo`` and ``rundemo`` print: who to log in as, and the shared password."""
    lines = [_("Demo logins (password for all: %(password)s)") % {"password": DEMO_PASSWORD}]
    lines.append("  " + _("Staff (user name):"))
    lines += [f"    {s.username:<11} {s.description}" for s in NAMED_STAFF]
    lines.append("  " + _("Residents (mobile number):"))
    lines.append(f"    {RESIDENT_WALKUP}  " + _("owner in 桂花苑 (1998 walk-up)"))
    lines.append(f"    {RESIDENT_HIGHRISE}  " + _("owner in 锦绣华庭 (2012 high-rise)"))
    lines.append(f"    {COMMITTEE_MEMBER}  " + _("owner in 锦绣华庭, owners' committee member"))
    lines.append("  " + _("Every other demo resident with an account logs in with their mobile number too."))
    return "\n".join(lines)


class Seeder:
    def __init__(self, size: str, *, bulk: bool, out: Callable[[str], None]) -> None:
        self.size = size
        self.out = out
        self.password_hash = make_password(DEMO_PASSWORD)
        self.writer: ServiceWriter | BulkWriter = (BulkWriter if bulk else ServiceWriter)(self.password_hash)
        self.pool = new_pool(size)
        self.orgs: dict[str, Organization] = {}
        self.communities: dict[str, Community] = {}
        self.plans: dict[str, EstatePlan] = build_plans(size, self.pool)
        self.people: dict[str, list[Person]] = {}
        self.homes: dict[str, list[Home]] = {}
        self.buildings: dict[str, list[Building]] = {}
        self.counts: dict[str, int] = {}

    # --- organizations and communities -------------------------------------------------------
    def organizations(self) -> District:
        district = create_district(name="锦华区", code="330199", actor=None)
        street = create_district(name="柳岸街道", code="330199001", parent=district, actor=None)
        self.orgs["anju"] = create_organization(
            kind="company", name="安居物业服务有限公司", credit_code="91330199MA2DEMOA1X", actor=None
        )
        self.orgs["hexie"] = create_organization(
            kind="company", name="和谐物业管理有限公司", credit_code="91330199MA2DEMOB2X", actor=None
        )
        self.orgs["regulator"] = create_organization(
            kind="regulator", name="锦华区住房和城乡建设局", districts=[district], actor=None
        )
        self.orgs["developer"] = create_organization(
            kind="developer", name="云栖置业有限公司", credit_code="91330106MA2DEMO01X", actor=None
        )
        return street

    def community(self, kind: EstateKind, street: District) -> Community:
        community = estates.create_community(
            name=kind.name,
            code=kind.code,
            district=street,
            address=kind.address,
            built_year=kind.built_year,
            actor=None,
        )
        if kind is WALKUP:
            first = estates.start_service_contract(
                community=community,
                company=self.orgs["anju"],
                fee_model="lump_sum",
                starts_on=dt.date(1998, 9, 1),
                actor=None,
            )
            estates.end_service_contract(first, ends_on=dt.date(2016, 12, 31), actor=None)
        estates.start_service_contract(
            community=community,
            company=self.orgs[CURRENT_COMPANY[kind.code]],
            fee_model="cost_plus" if kind is NEW else "lump_sum",
            starts_on=CONTRACT_START[kind.code],
            actor=None,
        )
        self.communities[kind.code] = community
        return community

    def register(self, kind: EstateKind, community: Community, plan: EstatePlan) -> None:
        buildings = [
            estates.create_building(
                community=community,
                number=b.number,
                name=f"{b.number}号楼",
                floors_above=b.floors_above,
                floors_below=b.floors_below,
                has_lift=b.has_lift,
                actor=None,
            )
            for b in plan.buildings
        ]
        units = units_by_key(community, plan, buildings)
        self.buildings[kind.code] = buildings
        self.homes[kind.code] = self.writer.homes(community, plan, buildings, units)
        self.writer.parking_spaces(community, plan)
        self.common_parts(community, plan, buildings, units)

    def common_parts(self, community: Community, plan: EstatePlan, buildings: list[Building], units: dict) -> None:
        for name, part_kind in (("水泵房", "pump_room"), ("消防系统", "fire_system"), ("中心绿地", "green_space")):
            estates.create_common_part(community=community, name=name, kind=part_kind, actor=None)
        estates.create_common_part(community=community, name="南大门", kind="gate", actor=None)
        estates.create_common_part(community=community, name="小区道路", kind="road", actor=None)
        if plan.kind is NEW:
            estates.create_common_part(community=community, name="会所", kind="clubhouse", actor=None)
        for index, (spec, building) in enumerate(zip(plan.buildings, buildings, strict=True)):
            estates.create_common_part(
                community=community, name=f"{building.number}号楼屋面", kind="roof", building=building, actor=None
            )
            estates.create_common_part(
                community=community, name=f"{building.number}号楼外立面", kind="facade", building=building, actor=None
            )
            if spec.has_lift:
                for number in spec.units:
                    estates.create_common_part(
                        community=community,
                        name=f"{building.number}号楼{number}单元电梯",
                        kind="lift",
                        building=building,
                        unit=units[(index, number)],
                        actor=None,
                    )

    def residents(self, kind: EstateKind, community: Community, plan: EstatePlan) -> None:
        people = self.writer.people(community, plan)
        self.people[kind.code] = people
        self.writer.accounts(community, plan, people)
        self.writer.occupancies(community, plan, self.homes[kind.code], people)
        self.writer.vehicles(community, plan, people)
        self.writer.consents(community, plan, people)

    # --- staff ---------------------------------------------------------------------------------
    def user(self, username: str, display_name: str) -> User:
        user = create_user(username=username, password=None, display_name=display_name, actor=None)
        # One Argon2 hash of the shared demo password, computed once, reused for every demo account.
        User.objects.filter(pk=user.pk).update(password=self.password_hash)
        return user

    def staff_name(self) -> str:
        return self.pool.name(self.pool.rng.random() < 0.5)

    def member(self, user: User, org_key: str, role: str, codes: tuple[str, ...] = ()) -> None:
        starts = min((CONTRACT_START[c] for c in codes), default=dt.date(2012, 10, 1))
        if org_key == "hexie":
            starts = CONTRACT_START[WALKUP.code]
        add_membership(
            user=user,
            organization=self.orgs[org_key],
            role=role,
            community_ids=[self.communities[c].pk for c in codes] or None,
            starts_on=starts,
            actor=None,
        )

    def staff(self) -> None:
        named: dict[str, User] = {}
        for login in NAMED_STAFF:
            named[login.username] = self.user(login.username, self.staff_name())
            self.member(named[login.username], login.company, login.role, login.communities)
        for kind in ESTATES:
            code = kind.code
            company = CURRENT_COMPANY[code]
            prefix = f"{'aj' if company == 'anju' else 'hx'}-{code.removeprefix('demo-')}"
            homes = len(self.homes[code])
            extra = {
                Role.TECHNICIAN: max(1, homes // 400),
                Role.GUARD: max(2, homes // 300),
                Role.FINANCE_CLERK: 1,
                Role.CUSTOMER_SERVICE: 1,
            }
            for role, count in extra.items():
                for n in range(1, count + 1):
                    user = self.user(f"{prefix}-{role.replace('_', '')}{n:02d}", self.staff_name())
                    self.member(user, company, role, (code,))
            stewards = [named["steward"]] if code == HIGHRISE.code else []
            wanted = self.steward_count(self.communities[code])
            for n in range(len(stewards) + 1, wanted + 1):
                user = self.user(f"{prefix}-steward{n:02d}", self.staff_name())
                self.member(user, company, Role.STEWARD, (code,))
                stewards.append(user)
            balance = residents.auto_balance_stewards(
                community=self.communities[code], stewards=stewards, target=STEWARD_BLOCK, actor=None
            )
            self.counts[f"stewards:{code}"] = len(balance)

    def steward_count(self, community: Community) -> int:
        """How many stewards give every one of them 30-70 homes once buildings are kept together."""
        blocks = [len(pks) for _key, pks in residents.steward_blocks(community.pk, STEWARD_BLOCK)]
        total = sum(blocks)
        ideal = max(1, round(total / STEWARD_TARGET))
        for candidate in sorted(range(1, 2 * ideal + 2), key=lambda s: (abs(s - ideal), s)):
            plan = residents.plan_steward_balance([(None, size) for size in blocks], candidate)
            loads = [0] * candidate
            for size, index in zip(blocks, plan, strict=True):
                loads[index] += size
            if STEWARD_RANGE[0] <= min(loads) and max(loads) <= STEWARD_RANGE[1]:
                return candidate
        return ideal

    # --- volunteers and the committee ----------------------------------------------------------
    def leaders_and_committee(self) -> None:
        for kind in ESTATES:
            plan, people = self.plans[kind.code], self.people[kind.code]
            chosen: dict[int, int] = {}
            for o in plan.occupancies:
                home = plan.homes[o.home]
                person = plan.people[o.person]
                if o.role == "owner" and o.ends_on is None and home.status == "occupied" and person.phone:
                    chosen.setdefault(home.building, o.person)
            for building_index, person_index in sorted(chosen.items()):
                residents.set_building_leader(
                    building=self.buildings[kind.code][building_index], person=people[person_index], actor=None
                )
        community = self.communities[HIGHRISE.code]
        committee = create_organization(
            kind="committee", name="锦绣华庭业主委员会", community_id=community.pk, actor=None
        )
        plan, people = self.plans[HIGHRISE.code], self.people[HIGHRISE.code]
        members = [i for i, p in enumerate(plan.people) if p.account and p.phone == COMMITTEE_MEMBER]
        members += [
            i
            for i in _current_owner_indexes(plan)
            if plan.people[i].account and i not in members and plan.people[i].phone not in FIXED_MOBILES
        ][:4]
        for index in members:
            user = people[index].user
            assert user is not None
            add_membership(
                user=user,
                organization=committee,
                role=Role.COMMITTEE_MEMBER,
                starts_on=dt.date(2021, 5, 1),
                actor=None,
            )

    # --- the whole run ---------------------------------------------------------------------------
    def run(self) -> None:
        with transaction.atomic():
            street = self.organizations()
            for kind in ESTATES:
                started = time.monotonic()
                plan = self.plans[kind.code]
                community = self.community(kind, street)
                self.register(kind, community, plan)
                self.residents(kind, community, plan)
                self.out(
                    _("%(name)s: %(homes)d homes, %(people)d people (%(seconds).1f s)")
                    % {
                        "name": kind.name,
                        "homes": len(plan.homes),
                        "people": len(plan.people),
                        "seconds": time.monotonic() - started,
                    }
                )
                self.counts[f"homes:{kind.code}"] = len(plan.homes)
                self.counts[f"people:{kind.code}"] = len(plan.people)
            self.staff()
            self.leaders_and_committee()
            audit.record(
                actor=None,
                action="demo.seed",
                object_type="demo",
                object_label=self.size,
                after={"size": self.size, "writer": self.writer.name, "counts": self.counts},
            )


def new_pool(size: str) -> IdentityPool:
    return IdentityPool(random.Random(f"{SEED}:{size}"), reserved_phones=set(FIXED_MOBILES))


def build_plans(size: str, pool: IdentityPool | None = None) -> dict[str, EstatePlan]:
    """The three estates of ``size`` as data; the same size always gives the same plans."""
    pool = pool or new_pool(size)
    plans: dict[str, EstatePlan] = {}
    for kind in ESTATES:
        plan = plan_estate(kind, getattr(SIZES[size], _building_field(kind)), pool)
        _fix_named_residents(kind, plan, pool)
        plans[kind.code] = plan
    return plans


def _building_field(kind: EstateKind) -> str:
    return {WALKUP.code: "walkup_buildings", HIGHRISE.code: "highrise_buildings", NEW.code: "new_buildings"}[kind.code]


def _current_owner_indexes(plan: EstatePlan) -> list[int]:
    """People who own an occupied home today, in plan order."""
    seen: list[int] = []
    for o in plan.occupancies:
        if o.role == "owner" and o.ends_on is None and plan.homes[o.home].status == "occupied" and o.person not in seen:
            seen.append(o.person)
    return seen


def _fix_named_residents(kind: EstateKind, plan: EstatePlan, pool: IdentityPool) -> None:
    """Give the residents the banner names their fixed mobile numbers: owners living at home with
    their household, so the portal has something to show."""
    fixed = {WALKUP.code: [RESIDENT_WALKUP], HIGHRISE.code: [RESIDENT_HIGHRISE, COMMITTEE_MEMBER]}.get(kind.code, [])
    household_size: dict[int, int] = {}
    for o in plan.occupancies:
        if o.ends_on is None:
            household_size[o.home] = household_size.get(o.home, 0) + 1
    homes_of = {o.person: o.home for o in plan.occupancies if o.role == "owner" and o.ends_on is None}
    let_homes = {o.home for o in plan.occupancies if o.role == "tenant" and o.ends_on is None}
    candidates = [
        i
        for i in _current_owner_indexes(plan)
        if household_size.get(homes_of[i], 0) >= 2 and homes_of[i] not in let_homes
    ]
    for phone, index in zip(fixed, candidates, strict=False):
        plan.people[index].phone = pool.claim_mobile(phone)
        plan.people[index].account = True


# The keys later apps' demo steps use for the three estates (DemoContext.communities).
WALKUP_KEY, HIGHRISE_KEY, NEW_KEY = "walkup", "highrise", "new"


def seed_demo(size: str, *, bulk: bool | None = None, out: Callable[[str], None] = print) -> SeedReport:
    """Seed the demo of ``size`` unless it is already there. ``bulk`` defaults to True for large only."""
    if size not in SIZES:
        raise ValueError(f"unknown demo size {size!r}; choose one of {', '.join(SIZES)}")
    if demo_present():
        return SeedReport(size=seeded_size() or size, created=False)
    started = time.monotonic()
    seeder = Seeder(size, bulk=size == "large" if bulk is None else bulk, out=out)
    seeder.run()
    run_demo_steps(
        DemoContext(
            size=size,
            communities={
                WALKUP_KEY: seeder.communities[WALKUP.code],
                HIGHRISE_KEY: seeder.communities[HIGHRISE.code],
                NEW_KEY: seeder.communities[NEW.code],
            },
            staff={user.username: user for user in User.objects.filter(username__in=[s.username for s in NAMED_STAFF])},
            rng=random.Random(f"{SEED}:{size}:apps"),
            out=out,
            counts=seeder.counts,
        )
    )
    # Fresh planner statistics: right after a bulk load the database would otherwise plan queries
    # for empty tables (nested loops over thousands of rows) until autovacuum catches up.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return SeedReport(
        size=size, created=True, seconds=time.monotonic() - started, counts=seeder.counts, writer=seeder.writer.name
    )
