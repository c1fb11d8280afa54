"""Two ways to write an :class:`~anju.core.demo.plan.EstatePlan`: through the services, or in bulk.

:class:`ServiceWriter` calls the same service functions a clerk's actions call, so small and medium
demos exercise every validation and write one audit row per change. :class:`BulkWriter` exists for
the ~100,000-home benchmark size, where row-by-row services would take too long: it inserts exactly
the rows those services would write (sealed personal data, normalised plates, the same defaults) with
``bulk_create``, and records one summary audit row per step instead of one per row. A test seeds the
same plan both ways and compares the results.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models, transaction
from django.utils import timezone

from anju.core import audit
from anju.core.crypto import seal_id_number, seal_phone
from anju.core.demo.plan import EstatePlan
from anju.core.models import User
from anju.core.permissions import invalidate_access
from anju.core.tenancy import community_scope
from anju.estates import services as estates
from anju.estates.models import Building, Community, Home, ParkingSpace, Unit
from anju.residents import services as residents
from anju.residents.models import Consent, Occupancy, Person, Vehicle

BATCH = 2000


class ServiceWriter:
    """Writes through the real services: slower, and the best proof the demo data is valid."""

    name = "services"

    def __init__(self, password_hash: str) -> None:
        self.password_hash = password_hash

    def homes(self, community: Community, plan: EstatePlan, buildings: list[Building], units: dict) -> list[Home]:
        return [
            estates.create_home(
                building=buildings[h.building],
                unit=units[(h.building, h.unit)],
                number=h.number,
                floor=h.floor,
                floor_area=h.floor_area,
                use=h.use,
                status=h.status,
                actor=None,
            )
            for h in plan.homes
        ]

    def parking_spaces(self, community: Community, plan: EstatePlan) -> None:
        for number, location, kind in _parking_rows(plan):
            estates.create_parking_space(community=community, number=number, location=location, kind=kind, actor=None)

    def people(self, community: Community, plan: EstatePlan) -> list[Person]:
        return [
            residents.create_person(
                community=community,
                name=p.name,
                phone=p.phone,
                id_number=p.id_number,
                kind=p.kind,
                is_developer=p.is_developer,
                note=p.note,
                actor=None,
            )
            for p in plan.people
        ]

    def accounts(self, community: Community, plan: EstatePlan, people: list[Person]) -> None:
        """Portal logins under the mobile number. The shared demo password was hashed once by the
        caller (Argon2 per account would take minutes) and is stored as that hash."""
        for spec, person in zip(plan.people, people, strict=True):
            if spec.account:
                user = residents.link_resident_account(person, password=None, actor=None)
                User.objects.filter(pk=user.pk).update(password=self.password_hash)

    def occupancies(self, community: Community, plan: EstatePlan, homes: list[Home], people: list[Person]) -> None:
        for o in plan.occupancies:
            occupancy = residents.add_occupancy(
                home=homes[o.home],
                person=people[o.person],
                role=o.role,
                starts_on=o.starts_on,
                share_percent=o.share_percent,
                relation=o.relation,
                actor=None,
            )
            if o.ends_on is not None:
                residents.end_occupancy(occupancy, ends_on=o.ends_on, actor=None)

    def vehicles(self, community: Community, plan: EstatePlan, people: list[Person]) -> None:
        for v in plan.vehicles:
            residents.register_vehicle(person=people[v.person], plate=v.plate, description=v.description, actor=None)

    def consents(self, community: Community, plan: EstatePlan, people: list[Person]) -> None:
        for spec, person in zip(plan.people, people, strict=True):
            for purpose in spec.consents:
                residents.grant_consent(person=person, purpose=purpose, actor=None)
            for purpose in spec.withdrawn:
                consent = residents.grant_consent(person=person, purpose=purpose, actor=None)
                residents.withdraw_consent(consent, actor=None)


def _parking_rows(plan: EstatePlan) -> list[tuple[str, str, str]]:
    """Underground spaces (B1-001...), a few public visitor spaces at ground level."""
    rows: list[tuple[str, str, str]] = []
    for i in range(plan.parking_spaces):
        if i % 25 == 24:
            rows.append((f"P-{i + 1:04d}", "地面访客车位", ParkingSpace.Kind.PUBLIC))
        else:
            kind = ParkingSpace.Kind.OWNED if i % 3 == 0 else ParkingSpace.Kind.RENTED
            rows.append((f"B1-{i + 1:04d}", "地下一层", kind))
    return rows


def _summary(community: Community, model: type[models.Model], count: int) -> None:
    """The one audit row a bulk step writes in place of one row per record."""
    audit.record(
        actor=None,
        action="demo.bulk_insert",
        object_type=model._meta.label_lower,
        object_label=str(community),
        community_id=community.pk,
        after={"count": count, "source": "seed_demo"},
    )


class BulkWriter:
    """Inserts in batches the rows the services would write; one summary audit row per step."""

    name = "bulk"

    def __init__(self, password_hash: str) -> None:
        self.password_hash = password_hash

    def homes(self, community: Community, plan: EstatePlan, buildings: list[Building], units: dict) -> list[Home]:
        rows = [
            Home(
                community_id=community.pk,
                building=buildings[h.building],
                unit=units[(h.building, h.unit)],
                number=h.number,
                floor=h.floor,
                floor_area=estates.parse_floor_area(h.floor_area),
                use=h.use,
                status=h.status,
            )
            for h in plan.homes
        ]
        with transaction.atomic(), community_scope(community.pk):
            created = Home.objects.bulk_create(rows, batch_size=BATCH)
            _summary(community, Home, len(created))
        return created

    def parking_spaces(self, community: Community, plan: EstatePlan) -> None:
        rows = [
            ParkingSpace(community=community, number=number, location=location, kind=kind)
            for number, location, kind in _parking_rows(plan)
        ]
        with transaction.atomic(), community_scope(community.pk):
            ParkingSpace.objects.bulk_create(rows, batch_size=BATCH)
            _summary(community, ParkingSpace, len(rows))

    def people(self, community: Community, plan: EstatePlan) -> list[Person]:
        rows = []
        for p in plan.people:
            phone = seal_phone(p.phone) if p.phone else None
            ident = seal_id_number(p.id_number) if p.id_number else None
            rows.append(
                Person(
                    community=community,
                    kind=p.kind,
                    name=p.name,
                    phone_encrypted=phone.encrypted if phone else "",
                    phone_index=phone.index if phone else "",
                    phone_masked=phone.masked if phone else "",
                    id_number_encrypted=ident.encrypted if ident else "",
                    id_number_index=ident.index if ident else "",
                    id_number_masked=ident.masked if ident else "",
                    is_developer=p.is_developer,
                    note=p.note,
                )
            )
        with transaction.atomic(), community_scope(community.pk):
            created = Person.objects.bulk_create(rows, batch_size=BATCH)
            _summary(community, Person, len(created))
        return created

    def accounts(self, community: Community, plan: EstatePlan, people: list[Person]) -> None:
        """Users as :func:`~anju.residents.services.link_resident_account` makes them, then the link."""
        linked = [(spec, person) for spec, person in zip(plan.people, people, strict=True) if spec.account]
        if not linked:
            return
        community_id = community.pk
        users = []
        for spec, person in linked:
            encrypted, index, masked = seal_phone(spec.phone).encrypted, person.phone_index, person.phone_masked
            users.append(
                User(
                    username=f"r{index[:16]}",
                    display_name=person.name,
                    phone_encrypted=encrypted,
                    phone_index=index,
                    phone_masked=masked,
                    password=self.password_hash,
                )
            )
        with transaction.atomic(), community_scope(community_id):
            created = User.objects.bulk_create(users, batch_size=BATCH)
            for (_spec, person), user in zip(linked, created, strict=True):
                person.user = user
            Person.objects.bulk_update([p for _, p in linked], ["user"], batch_size=BATCH)
            invalidate_access()  # bulk writes send no signals
            audit.record(
                actor=None,
                action="demo.bulk_insert",
                object_type="core.user",
                community_id=community_id,
                after={"count": len(created), "source": "seed_demo", "linked_people": len(linked)},
            )

    def occupancies(self, community: Community, plan: EstatePlan, homes: list[Home], people: list[Person]) -> None:
        rows = [
            Occupancy(
                community_id=homes[o.home].community_id,
                home=homes[o.home],
                person=people[o.person],
                role=o.role,
                share_percent=o.share_percent.quantize(Decimal("0.01")) if o.share_percent is not None else None,
                relation=o.relation,
                starts_on=o.starts_on,
                ends_on=o.ends_on,
            )
            for o in plan.occupancies
        ]
        community_id = community.pk
        with transaction.atomic(), community_scope(community_id):
            Occupancy.objects.bulk_create(rows, batch_size=BATCH)
            invalidate_access()  # bulk writes send no signals
            _summary(community, Occupancy, len(rows))

    def vehicles(self, community: Community, plan: EstatePlan, people: list[Person]) -> None:
        if not plan.vehicles:
            return
        community_id = community.pk
        rows = [
            Vehicle(
                community_id=community_id,
                person=people[v.person],
                plate=v.plate.replace(" ", "").upper(),
                description=v.description,
            )
            for v in plan.vehicles
        ]
        with transaction.atomic(), community_scope(community_id):
            Vehicle.objects.bulk_create(rows, batch_size=BATCH)
            _summary(community, Vehicle, len(rows))

    def consents(self, community: Community, plan: EstatePlan, people: list[Person]) -> None:
        now = timezone.now()
        community_id = community.pk
        rows = []
        for spec, person in zip(plan.people, people, strict=True):
            rows += [Consent(community_id=community_id, person=person, purpose=p) for p in spec.consents]
            rows += [
                Consent(community_id=community_id, person=person, purpose=p, withdrawn_at=now) for p in spec.withdrawn
            ]
        with transaction.atomic(), community_scope(community_id):
            Consent.objects.bulk_create(rows, batch_size=BATCH)
            _summary(community, Consent, len(rows))


def units_by_key(community: Community, plan: EstatePlan, buildings: list[Building]) -> dict[tuple[int, str], Unit]:
    """Create each building's units through the service (few rows, so always the real path)."""
    units: dict[tuple[int, str], Unit] = {}
    for index, (spec, building) in enumerate(zip(plan.buildings, buildings, strict=True)):
        for number in spec.units:
            units[(index, number)] = estates.create_unit(building=building, number=number, actor=None)
    return units
