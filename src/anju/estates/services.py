"""Writes on the community register. Each function is one transaction with its audit row."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, prefetch_related_objects
from django.utils.translation import gettext as _

from anju.core import audit
from anju.core.errors import Conflict, DomainError, for_item
from anju.core.models import District, Organization, User
from anju.core.tenancy import community_scope
from anju.estates.models import Building, CommonPart, Community, Home, ParkingSpace, ServiceContract, Unit

AREA_QUANTUM = Decimal("0.01")
BULK_BATCH = 500  # rows per INSERT/UPDATE statement in the bulk services


def natural_sort_key(number: str) -> int:
    """Leading digits as an integer so building "10" sorts after "9"; non-numeric names sort last."""
    match = re.match(r"\d+", number)
    return int(match.group()) if match else 10**6


def parse_floor_area(value: Any) -> Decimal:
    """A floor area in m² with at most two decimals, strictly positive."""
    try:
        area = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise DomainError(_("Floor area must be a number of square metres, e.g. 89.50."), field="floor_area") from None
    if not area.is_finite() or area <= 0:
        raise DomainError(_("Floor area must be greater than zero."), field="floor_area")
    if area != area.quantize(AREA_QUANTUM):
        raise DomainError(_("Floor area has at most two decimal places."), field="floor_area")
    if area >= Decimal("10000000"):
        raise DomainError(_("Floor area is implausibly large."), field="floor_area")
    return area.quantize(AREA_QUANTUM)


@transaction.atomic
def create_community(
    *,
    name: str,
    code: str,
    district: District,
    address: str = "",
    built_year: int | None = None,
    actor: User | None,
) -> Community:
    if Community.objects.filter(code=code).exists():
        raise Conflict(_("A community with code “%(code)s” already exists.") % {"code": code}, field="code")
    community = Community.objects.create(
        name=name, code=code, district=district, address=address, built_year=built_year
    )
    audit.record(
        actor=actor,
        action="community.create",
        obj=community,
        community_id=community.pk,
        after=audit.snapshot(community),
    )
    return community


@transaction.atomic
def start_service_contract(
    *,
    community: Community,
    company: Organization,
    fee_model: str,
    starts_on: dt.date,
    ends_on: dt.date | None = None,
    actor: User | None,
) -> ServiceContract:
    """Record that ``company`` manages ``community`` from ``starts_on``. Periods may not overlap: end
    the previous company's contract first, so there is never doubt who was responsible on a day."""
    if company.kind != Organization.Kind.COMPANY:
        raise DomainError(_("Only a property company can hold a service contract."), field="company")
    if fee_model not in ServiceContract.FeeModel.values:
        raise DomainError(_("Unknown fee model."), field="fee_model")
    if ends_on is not None and ends_on <= starts_on:
        raise DomainError(_("The contract must end after it starts."), field="ends_on")
    overlapping = (
        ServiceContract.objects.select_for_update()
        .filter(community=community)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gt=starts_on))
    )
    if ends_on is not None:
        overlapping = overlapping.filter(starts_on__lt=ends_on)
    if overlapping.exists():
        raise Conflict(_("Another service contract covers part of this period; end it first."), field="starts_on")
    contract = ServiceContract.objects.create(
        community=community, company=company, fee_model=fee_model, starts_on=starts_on, ends_on=ends_on
    )
    audit.record(
        actor=actor,
        action="service_contract.start",
        obj=contract,
        organization_id=company.pk,
        after=audit.snapshot(contract),
    )
    return contract


@transaction.atomic
def end_service_contract(contract: ServiceContract, *, ends_on: dt.date, actor: User | None) -> ServiceContract:
    if ends_on <= contract.starts_on:
        raise DomainError(_("The contract must end after it starts."), field="ends_on")
    before = audit.snapshot(contract)
    contract.ends_on = ends_on
    contract.save(update_fields=["ends_on"])
    audit.record(
        actor=actor,
        action="service_contract.end",
        obj=contract,
        organization_id=contract.company_id,
        before=before,
        after=audit.snapshot(contract),
    )
    return contract


@transaction.atomic
def create_building(
    *,
    community: Community,
    number: str,
    name: str = "",
    floors_above: int = 1,
    floors_below: int = 0,
    has_lift: bool = False,
    actor: User | None,
) -> Building:
    number = number.strip()
    if not number:
        raise DomainError(_("A building needs a number."), field="number")
    with community_scope(community.pk):
        if Building.objects.filter(number=number).exists():
            raise Conflict(_("Building %(number)s already exists.") % {"number": number}, field="number")
        building = Building.objects.create(
            community=community,
            number=number,
            name=name,
            floors_above=floors_above,
            floors_below=floors_below,
            has_lift=has_lift,
            sort_key=natural_sort_key(number),
        )
    audit.record(actor=actor, action="building.create", obj=building, after=audit.snapshot(building))
    return building


@transaction.atomic
def update_building(building: Building, *, actor: User | None, **changes: Any) -> Building:
    allowed = {"name", "floors_above", "floors_below", "has_lift"}
    unknown = set(changes) - allowed
    if unknown:
        raise DomainError(_("These fields cannot be changed: %(fields)s") % {"fields": ", ".join(sorted(unknown))})
    before = audit.snapshot(building)
    for key, value in changes.items():
        setattr(building, key, value)
    building.save()
    old, new = audit.changed(before, audit.snapshot(building))
    if new:
        audit.record(actor=actor, action="building.update", obj=building, before=old, after=new)
    return building


@transaction.atomic
def create_unit(*, building: Building, number: str, actor: User | None) -> Unit:
    number = number.strip()
    if not number:
        raise DomainError(_("A unit needs a number."), field="number")
    try:
        with transaction.atomic():
            unit = Unit.objects.create(community_id=building.community_id, building=building, number=number)
    except IntegrityError:
        raise Conflict(_("Unit %(number)s already exists in this building.") % {"number": number}) from None
    audit.record(actor=actor, action="unit.create", obj=unit, after=audit.snapshot(unit))
    return unit


def _check_home_fields(building: Building, floor: int, use: str, status: str) -> None:
    if use not in Home.Use.values:
        raise DomainError(_("Unknown use “%(value)s”.") % {"value": use}, field="use")
    if status not in Home.Status.values:
        raise DomainError(_("Unknown status “%(value)s”.") % {"value": status}, field="status")
    if floor == 0 or floor > building.floors_above or floor < -building.floors_below:
        raise DomainError(
            _("Floor %(floor)s does not exist in building %(building)s (floors -%(below)s to %(above)s, no floor 0).")
            % {
                "floor": floor,
                "building": building.number,
                "below": building.floors_below,
                "above": building.floors_above,
            },
            field="floor",
        )


@dataclass(frozen=True)
class NewHome:
    """One home for :func:`bulk_create_homes`: the arguments :func:`create_home` takes."""

    building: Building
    unit: Unit | None
    number: str
    floor: int
    floor_area: Any
    use: str = Home.Use.RESIDENTIAL
    status: str = Home.Status.DELIVERED


def _new_home(spec: NewHome) -> Home:
    """A checked, unsaved home. Whether its number is free is for the caller to check."""
    number = str(spec.number).strip()
    if not number:
        raise DomainError(_("A home needs a number."), field="number")
    if spec.unit is not None and spec.unit.building_id != spec.building.pk:
        raise DomainError(_("The unit is not in this building."), field="unit")
    area = parse_floor_area(spec.floor_area)
    _check_home_fields(spec.building, spec.floor, spec.use, spec.status)
    return Home(
        community_id=spec.building.community_id,
        building=spec.building,
        unit=spec.unit,
        number=number,
        floor=spec.floor,
        floor_area=area,
        use=spec.use,
        status=spec.status,
    )


def _duplicate_home(number: str) -> Conflict:
    return Conflict(_("Home %(number)s already exists here.") % {"number": number}, field="number")


@transaction.atomic
def create_home(
    *,
    building: Building,
    unit: Unit | None,
    number: str,
    floor: int,
    floor_area: Any,
    use: str = Home.Use.RESIDENTIAL,
    status: str = Home.Status.DELIVERED,
    actor: User | None,
) -> Home:
    home = _new_home(NewHome(building, unit, number, floor, floor_area, use, status))
    with community_scope(building.community_id):
        if Home.objects.filter(building=building, unit=unit, number=home.number).exists():
            raise _duplicate_home(home.number)
    home.save(force_insert=True)
    audit.record(actor=actor, action="home.create", obj=home, after=audit.snapshot(home))
    return home


@transaction.atomic
def bulk_create_homes(homes: Sequence[NewHome], *, actor: User | None) -> list[Home]:
    """Create many homes in a few statements, refusing exactly what :func:`create_home` refuses
    (a number taken in the register or earlier in ``homes`` included), with one ``home.create``
    audit row each. All or none: a refusal's ``item`` is the position of the home refused."""
    if not homes:
        return []
    community_ids = {spec.building.community_id for spec in homes}
    with community_scope(community_ids):
        taken: set[tuple[int, int | None, str]] = set(
            Home.objects.filter(building_id__in={spec.building.pk for spec in homes}).values_list(
                "building_id", "unit_id", "number"
            )
        )
    created: list[Home] = []
    for index, spec in enumerate(homes):
        with for_item(index):
            home = _new_home(spec)
            key = (home.building_id, home.unit_id, home.number)
            if key in taken:
                raise _duplicate_home(home.number)
        taken.add(key)
        created.append(home)
    with community_scope(community_ids):
        Home.objects.bulk_create(created, batch_size=BULK_BATCH)
    audit.record_all(
        [audit.entry(actor=actor, action="home.create", obj=home, after=audit.snapshot(home)) for home in created]
    )
    return created


def _change_home(home: Home, changes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Apply ``changes`` to ``home`` (unsaved) after the checks; returns what changed, before and after."""
    allowed = {"floor", "floor_area", "use", "status"}
    unknown = set(changes) - allowed
    if unknown:
        raise DomainError(_("These fields cannot be changed: %(fields)s") % {"fields": ", ".join(sorted(unknown))})
    if "floor_area" in changes:
        changes = {**changes, "floor_area": parse_floor_area(changes["floor_area"])}
    before = audit.snapshot(home)
    for key, value in changes.items():
        setattr(home, key, value)
    _check_home_fields(home.building, home.floor, home.use, home.status)
    return audit.changed(before, audit.snapshot(home))


@transaction.atomic
def update_home(home: Home, *, actor: User | None, **changes: Any) -> Home:
    old, new = _change_home(home, changes)
    home.save()
    if new:
        audit.record(actor=actor, action="home.update", obj=home, before=old, after=new)
    return home


@transaction.atomic
def bulk_update_homes(changes: Sequence[tuple[Home, dict[str, Any]]], *, actor: User | None) -> list[Home]:
    """:func:`update_home` for many homes in a few statements: the same checks, one ``home.update``
    audit row per home that changed. All or none: a refusal's ``item`` is the position refused."""
    homes = [home for home, _changes in changes]
    if not homes:
        return []
    prefetch_related_objects(homes, "building", "unit")  # for the floor check and the audit labels
    entries = []
    for index, (home, wanted) in enumerate(changes):
        with for_item(index):
            old, new = _change_home(home, wanted)
        if new:
            entries.append(audit.entry(actor=actor, action="home.update", obj=home, before=old, after=new))
    with community_scope({home.community_id for home in homes}):
        Home.objects.bulk_update(homes, ["floor", "floor_area", "use", "status"], batch_size=BULK_BATCH)
    audit.record_all(entries)
    return homes


@transaction.atomic
def create_parking_space(
    *,
    community: Community,
    number: str,
    location: str = "",
    kind: str = ParkingSpace.Kind.RENTED,
    home: Home | None = None,
    actor: User | None,
) -> ParkingSpace:
    if kind not in ParkingSpace.Kind.values:
        raise DomainError(_("Unknown parking space kind."), field="kind")
    with community_scope(community.pk):
        if ParkingSpace.objects.filter(number=number).exists():
            raise Conflict(_("Parking space %(number)s already exists.") % {"number": number}, field="number")
        space = ParkingSpace.objects.create(community=community, number=number, location=location, kind=kind, home=home)
    audit.record(actor=actor, action="parking_space.create", obj=space, after=audit.snapshot(space))
    return space


@transaction.atomic
def create_common_part(
    *,
    community: Community,
    name: str,
    kind: str,
    building: Building | None = None,
    unit: Unit | None = None,
    actor: User | None,
) -> CommonPart:
    if kind not in CommonPart.Kind.values:
        raise DomainError(_("Unknown kind of common part."), field="kind")
    part = CommonPart.objects.create(community=community, name=name, kind=kind, building=building, unit=unit)
    audit.record(actor=actor, action="common_part.create", obj=part, after=audit.snapshot(part))
    return part
