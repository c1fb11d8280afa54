"""Writes on people, occupancy, vehicles, consent, stewards and building leaders."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum, prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.core import audit
from anju.core.crypto import blind_index, seal_id_number, seal_phone
from anju.core.errors import Conflict, DomainError, for_item
from anju.core.models import User
from anju.core.permissions import invalidate_access
from anju.core.tenancy import community_scope
from anju.core.validators import normalize_phone, validate_id_number, validate_mobile
from anju.estates.models import Community, Home
from anju.residents.models import Consent, Occupancy, Person, Vehicle

# Steward and building-leader writes live in their own module and are re-exported here, so every
# write of this app is still reached as ``residents.services.<verb_object>``.
from anju.residents.stewards import (  # noqa: F401
    assign_steward,
    auto_balance_stewards,
    plan_steward_balance,
    set_building_leader,
    steward_blocks,
)

OWNERSHIP_ROLES = (Occupancy.Role.OWNER, Occupancy.Role.CO_OWNER)
BULK_BATCH = 500  # rows per INSERT/UPDATE statement in the bulk services
IN_CHUNK = 2000  # ids per ``__in`` look-up, well under SQLite's limit on query parameters

# Who else in ``person``'s community holds a blind index: (person, "phone_index", index) -> them.
HolderLookup = Callable[[Person, str, str], Person | None]


def _domain(exc: ValidationError, field: str) -> DomainError:
    return DomainError(" ".join(str(m) for m in exc.messages), code=exc.code or "invalid", field=field)


def _holder_in_database(person: Person, field: str, index: str) -> Person | None:
    return Person.objects.filter(**{field: index}).exclude(pk=person.pk).first()


class _KnownNumbers:
    """The blind indexes of a community's people, read in one query, so a bulk service checks
    thousands of numbers for clashes without one query each. New people are added as they pass."""

    def __init__(self, community_id: int) -> None:
        self.holders: dict[tuple[str, str], Person] = {}
        with community_scope(community_id):
            for person in Person.objects.only("id", "name", "phone_index", "id_number_index"):
                self.remember(person)

    def remember(self, person: Person) -> None:
        for field in ("phone_index", "id_number_index"):
            if getattr(person, field):
                self.holders[(field, getattr(person, field))] = person

    def holder(self, person: Person, field: str, index: str) -> Person | None:
        held_by = self.holders.get((field, index))
        if held_by is None or held_by is person or (person.pk is not None and held_by.pk == person.pk):
            return None
        return held_by


def _apply_phone(person: Person, phone: str, holder: HolderLookup = _holder_in_database) -> None:
    if not phone:
        person.phone_encrypted = person.phone_index = person.phone_masked = ""
        return
    try:
        phone = validate_mobile(phone)
    except ValidationError as exc:
        raise _domain(exc, "phone") from None
    sealed = seal_phone(phone)
    clash = holder(person, "phone_index", sealed.index)
    if clash is not None:
        raise Conflict(
            _("Mobile number %(masked)s is already recorded for %(name)s in this community.")
            % {"masked": sealed.masked, "name": clash.name},
            field="phone",
        )
    person.phone_encrypted, person.phone_index, person.phone_masked = sealed.encrypted, sealed.index, sealed.masked


def _apply_id_number(person: Person, id_number: str, holder: HolderLookup = _holder_in_database) -> None:
    if not id_number:
        person.id_number_encrypted = person.id_number_index = person.id_number_masked = ""
        return
    if person.kind == Person.Kind.INDIVIDUAL:
        try:
            id_number = validate_id_number(id_number)
        except ValidationError as exc:
            raise _domain(exc, "id_number") from None
    sealed = seal_id_number(id_number.strip().upper())
    clash = holder(person, "id_number_index", sealed.index)
    if clash is not None:
        raise Conflict(
            _("ID number %(masked)s is already recorded for %(name)s in this community.")
            % {"masked": sealed.masked, "name": clash.name},
            field="id_number",
        )
    person.id_number_encrypted = sealed.encrypted
    person.id_number_index = sealed.index
    person.id_number_masked = sealed.masked


@dataclass(frozen=True)
class NewPerson:
    """One person for :func:`bulk_create_people`: the arguments :func:`create_person` takes."""

    name: str
    phone: str = ""
    id_number: str = ""
    kind: str = Person.Kind.INDIVIDUAL
    is_developer: bool = False
    note: str = ""


def _new_person(community: Community, spec: NewPerson, holder: HolderLookup) -> Person:
    """A checked, unsaved person with sealed personal data; ``holder`` finds clashing numbers."""
    name = spec.name.strip()
    if not name:
        raise DomainError(_("A name is required."), field="name")
    if spec.kind not in Person.Kind.values:
        raise DomainError(_("Unknown kind of person."), field="kind")
    person = Person(community=community, name=name, kind=spec.kind, is_developer=spec.is_developer, note=spec.note)
    _apply_phone(person, spec.phone, holder)
    _apply_id_number(person, spec.id_number, holder)
    return person


@transaction.atomic
def create_person(
    *,
    community: Community,
    name: str,
    phone: str = "",
    id_number: str = "",
    kind: str = Person.Kind.INDIVIDUAL,
    is_developer: bool = False,
    note: str = "",
    actor: User | None,
) -> Person:
    with community_scope(community.pk):
        person = _new_person(
            community, NewPerson(name, phone, id_number, kind, is_developer, note), _holder_in_database
        )
        person.save(force_insert=True)
    audit.record(actor=actor, action="person.create", obj=person, after=audit.snapshot(person))
    return person


@transaction.atomic
def bulk_create_people(*, community: Community, people: Sequence[NewPerson], actor: User | None) -> list[Person]:
    """Create many people of ``community`` in a few statements, refusing exactly what
    :func:`create_person` refuses (a mobile or ID number already recorded, in the register or
    earlier in ``people``, included), with one ``person.create`` audit row each.
    All or none: a refusal's ``item`` is the position of the person refused."""
    if not people:
        return []
    known = _KnownNumbers(community.pk)
    created: list[Person] = []
    for index, spec in enumerate(people):
        with for_item(index):
            person = _new_person(community, spec, known.holder)
        known.remember(person)
        created.append(person)
    with community_scope(community.pk):
        Person.objects.bulk_create(created, batch_size=BULK_BATCH)
    audit.record_all(
        [audit.entry(actor=actor, action="person.create", obj=p, after=audit.snapshot(p)) for p in created]
    )
    return created


@transaction.atomic
def update_person(person: Person, *, actor: User | None, **changes: Any) -> Person:
    allowed = {"name", "phone", "id_number", "note"}
    unknown = set(changes) - allowed
    if unknown:
        raise DomainError(_("These fields cannot be changed: %(fields)s") % {"fields": ", ".join(sorted(unknown))})
    before = audit.snapshot(person)
    with community_scope(person.community_id):
        if "name" in changes:
            if not str(changes["name"]).strip():
                raise DomainError(_("A name is required."), field="name")
            person.name = str(changes["name"]).strip()
        if "note" in changes:
            person.note = changes["note"]
        if "phone" in changes:
            _apply_phone(person, changes["phone"])
        if "id_number" in changes:
            _apply_id_number(person, changes["id_number"])
        person.save()
    old, new = audit.changed(before, audit.snapshot(person))
    if new:
        audit.record(actor=actor, action="person.update", obj=person, before=old, after=new)
    return person


def find_person_by_phone(community_id: int, phone: str) -> Person | None:
    """Exact look-up through the blind index; the phone itself is never compared in the clear."""
    index = blind_index(normalize_phone(phone), purpose="phone")
    with community_scope(community_id):
        return Person.objects.filter(phone_index=index).first()


def find_person_by_id_number(community_id: int, id_number: str) -> Person | None:
    index = blind_index(id_number.strip().upper(), purpose="id_number")
    with community_scope(community_id):
        return Person.objects.filter(id_number_index=index).first()


def _parse_share(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        share = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise DomainError(_("The share must be a percentage such as 50."), field="share_percent") from None
    if not Decimal(0) < share <= Decimal(100):
        raise DomainError(_("The share must be more than 0 and at most 100 percent."), field="share_percent")
    return share


def _checked_share(home: Home, person: Person, role: str, share_percent: Any) -> Decimal | None:
    """The rules of one record on its own; returns its share."""
    if role not in Occupancy.Role.values:
        raise DomainError(_("Unknown relation to the home."), field="role")
    if person.community_id != home.community_id:
        raise DomainError(_("The person and the home belong to different communities."), field="person")
    share = _parse_share(share_percent)
    if role == Occupancy.Role.CO_OWNER and share is None:
        raise DomainError(_("A co-owner needs a share in percent."), field="share_percent")
    if role not in OWNERSHIP_ROLES and share is not None:
        raise DomainError(_("Only owners and co-owners have a share."), field="share_percent")
    return share


def _check_against_current(current: Iterable[Occupancy], person: Person, role: str, share: Decimal | None) -> None:
    """The rules against the home's records current on the new record's first day."""
    current = list(current)
    if any(o.person_id == person.pk and o.role == role for o in current):
        raise Conflict(_("%(name)s already has this relation to the home.") % {"name": person.name}, field="person")
    if role in OWNERSHIP_ROLES:
        owners = [o for o in current if o.role in OWNERSHIP_ROLES]
        held = sum((o.share_percent if o.share_percent is not None else Decimal(100) for o in owners), Decimal(0))
        if held + (share if share is not None else Decimal(100)) > Decimal(100):
            raise Conflict(
                _("Ownership shares of this home would exceed 100%; end the previous owner's record first."),
                field="share_percent",
            )


def _checked_end(occupancy: Occupancy, ends_on: dt.date | None) -> dt.date:
    if occupancy.ends_on is not None:
        raise Conflict(_("This record has already ended."))
    ends_on = ends_on or timezone.localdate()
    if ends_on < occupancy.starts_on:
        raise DomainError(
            _("It cannot end before it started (%(date)s).") % {"date": occupancy.starts_on}, field="ends_on"
        )
    return ends_on


def _lock_homes(home_ids: list[int]) -> None:
    """Lock the homes' rows so two clerks adding owners at once cannot both pass the share check."""
    ordered = sorted(home_ids)
    for start in range(0, len(ordered), IN_CHUNK):
        chunk = ordered[start : start + IN_CHUNK]
        list(Home.objects.select_for_update(of=("self",)).filter(pk__in=chunk).order_by("pk").values_list("pk"))


@transaction.atomic
def add_occupancy(
    *,
    home: Home,
    person: Person,
    role: str,
    starts_on: dt.date | None = None,
    share_percent: Any = None,
    relation: str = "",
    actor: User | None,
) -> Occupancy:
    """Record that ``person`` owns, co-owns, rents or lives in ``home`` from ``starts_on``.

    Co-owners' shares (an owner without a share holds 100%) may not add up to more than 100% on any
    day; a person cannot hold the same role in the same home twice at once.
    """
    share = _checked_share(home, person, role, share_percent)
    starts_on = starts_on or timezone.localdate()
    with community_scope(home.community_id):
        _lock_homes([home.pk])
        _check_against_current(Occupancy.objects.current(starts_on).filter(home=home), person, role, share)
        occupancy = Occupancy.objects.create(
            community_id=home.community_id,
            home=home,
            person=person,
            role=role,
            share_percent=share,
            relation=relation,
            starts_on=starts_on,
        )
    audit.record(actor=actor, action="occupancy.add", obj=occupancy, after=audit.snapshot(occupancy))
    return occupancy


@transaction.atomic
def end_occupancy(occupancy: Occupancy, *, ends_on: dt.date | None = None, actor: User | None) -> Occupancy:
    """Close an occupancy; the row stays as history. Ending an ended one is refused."""
    ends_on = _checked_end(occupancy, ends_on)
    before = audit.snapshot(occupancy)
    occupancy.ends_on = ends_on
    occupancy.save(update_fields=["ends_on"])
    audit.record(actor=actor, action="occupancy.end", obj=occupancy, before=before, after=audit.snapshot(occupancy))
    return occupancy


@dataclass(frozen=True)
class NewOccupancy:
    """One record for :func:`bulk_add_occupancies`: the arguments of :func:`add_occupancy`, and
    ``ends_on`` for a record that has already ended (as if :func:`end_occupancy` followed at once)."""

    home: Home
    person: Person
    role: str
    starts_on: dt.date | None = None
    share_percent: Any = None
    relation: str = ""
    ends_on: dt.date | None = None


@transaction.atomic
def bulk_add_occupancies(records: Sequence[NewOccupancy], *, actor: User | None) -> list[Occupancy]:
    """:func:`add_occupancy` (and :func:`end_occupancy` for a record with ``ends_on``) for many
    records, in the given order, in a few statements: the homes are locked and their records read
    once, and each record is checked against those and the ones before it exactly as the single
    functions check it. The same audit rows: ``occupancy.add``, and ``occupancy.end`` for one that ended.
    All or none: a refusal's ``item`` is the position of the record refused."""
    if not records:
        return []
    homes = {record.home.pk: record.home for record in records}
    prefetch_related_objects(list(homes.values()), "building", "unit")  # for the audit labels
    timeline: dict[int, list[Occupancy]] = defaultdict(list)
    with community_scope({home.community_id for home in homes.values()}):
        _lock_homes(list(homes))
        home_ids = list(homes)
        for start in range(0, len(home_ids), IN_CHUNK):
            existing = Occupancy.objects.filter(home_id__in=home_ids[start : start + IN_CHUNK])
            for occupancy in existing.only("home_id", "person_id", "role", "share_percent", "starts_on", "ends_on"):
                timeline[occupancy.home_id].append(occupancy)
    today = timezone.localdate()
    added: list[tuple[Occupancy, dt.date | None]] = []
    for index, record in enumerate(records):
        with for_item(index):
            share = _checked_share(record.home, record.person, record.role, record.share_percent)
            day = record.starts_on or today
            current = (
                o for o in timeline[record.home.pk] if o.starts_on <= day and (o.ends_on is None or o.ends_on >= day)
            )
            _check_against_current(current, record.person, record.role, share)
            occupancy = Occupancy(
                community_id=record.home.community_id,
                home=record.home,
                person=record.person,
                role=record.role,
                share_percent=share,
                relation=record.relation,
                starts_on=day,
            )
            ends_on = None if record.ends_on is None else _checked_end(occupancy, record.ends_on)
        occupancy.ends_on = ends_on
        timeline[record.home.pk].append(occupancy)
        added.append((occupancy, ends_on))
    occupancies = [occupancy for occupancy, _ends_on in added]
    with community_scope({o.community_id for o in occupancies}):
        Occupancy.objects.bulk_create(occupancies, batch_size=BULK_BATCH)
    invalidate_access()  # bulk writes send no signals
    entries = []
    for occupancy, ends_on in added:
        final = audit.snapshot(occupancy)
        as_added = {**final, "ends_on": None}
        entries.append(audit.entry(actor=actor, action="occupancy.add", obj=occupancy, after=as_added))
        if ends_on is not None:
            entries.append(
                audit.entry(actor=actor, action="occupancy.end", obj=occupancy, before=as_added, after=final)
            )
    audit.record_all(entries)
    return occupancies


@transaction.atomic
def bulk_end_occupancies(ends: Sequence[tuple[Occupancy, dt.date | None]], *, actor: User | None) -> list[Occupancy]:
    """:func:`end_occupancy` for many records in a few statements, with the same checks and one
    ``occupancy.end`` audit row each. All or none: a refusal's ``item`` is the position refused."""
    occupancies = [occupancy for occupancy, _ends_on in ends]
    if not occupancies:
        return []
    prefetch_related_objects(occupancies, "person", "home__building", "home__unit")  # for the audit labels
    entries = []
    for index, (occupancy, ends_on) in enumerate(ends):
        with for_item(index):
            day = _checked_end(occupancy, ends_on)
        before = audit.snapshot(occupancy)
        occupancy.ends_on = day
        entries.append(
            audit.entry(
                actor=actor, action="occupancy.end", obj=occupancy, before=before, after=audit.snapshot(occupancy)
            )
        )
    with community_scope({o.community_id for o in occupancies}):
        Occupancy.objects.bulk_update(occupancies, ["ends_on"], batch_size=BULK_BATCH)
    audit.record_all(entries)
    return occupancies


@transaction.atomic
def register_vehicle(*, person: Person, plate: str, description: str = "", actor: User | None) -> Vehicle:
    plate = plate.replace(" ", "").upper()
    if not 7 <= len(plate) <= 8:
        raise DomainError(_("A plate has 7 characters (8 for new-energy vehicles), e.g. 京A12345."), field="plate")
    with community_scope(person.community_id):
        if Vehicle.objects.filter(plate=plate, removed_on__isnull=True).exists():
            raise Conflict(_("Plate %(plate)s is already registered here.") % {"plate": plate}, field="plate")
        vehicle = Vehicle.objects.create(
            community_id=person.community_id, person=person, plate=plate, description=description
        )
    audit.record(actor=actor, action="vehicle.register", obj=vehicle, after=audit.snapshot(vehicle))
    return vehicle


@transaction.atomic
def remove_vehicle(vehicle: Vehicle, *, actor: User | None) -> Vehicle:
    before = audit.snapshot(vehicle)
    vehicle.removed_on = timezone.localdate()
    vehicle.save(update_fields=["removed_on"])
    audit.record(actor=actor, action="vehicle.remove", obj=vehicle, before=before, after=audit.snapshot(vehicle))
    return vehicle


@transaction.atomic
def grant_consent(*, person: Person, purpose: str, text_version: str = "1", actor: User | None) -> Consent:
    if purpose not in Consent.Purpose.values:
        raise DomainError(_("Unknown purpose."), field="purpose")
    with community_scope(person.community_id):
        if Consent.objects.filter(person=person, purpose=purpose, withdrawn_at__isnull=True).exists():
            raise Conflict(_("This consent is already in force."), field="purpose")
        consent = Consent.objects.create(
            community_id=person.community_id, person=person, purpose=purpose, text_version=text_version
        )
    audit.record(actor=actor, action="consent.grant", obj=consent, after=audit.snapshot(consent))
    return consent


@transaction.atomic
def withdraw_consent(consent: Consent, *, actor: User | None) -> Consent:
    if consent.withdrawn_at is not None:
        raise Conflict(_("This consent was already withdrawn."))
    before = audit.snapshot(consent)
    consent.withdrawn_at = timezone.now()
    consent.save(update_fields=["withdrawn_at"])
    audit.record(actor=actor, action="consent.withdraw", obj=consent, before=before, after=audit.snapshot(consent))
    return consent


def ownership_share_total(home: Home, on: dt.date | None = None) -> Decimal:
    with community_scope(home.community_id):
        total = (
            Occupancy.objects.current(on).filter(home=home, role__in=OWNERSHIP_ROLES).aggregate(s=Sum("share_percent"))
        )["s"]
    return total or Decimal(0)


@transaction.atomic
def link_resident_account(person: Person, *, password: str | None = None, actor: User | None) -> User:
    """Give a person a portal login under their mobile number (reusing the account that number
    already has, e.g. from another community)."""
    from anju.core.crypto import decrypt
    from anju.core.services import create_user

    if not person.phone_index:
        raise DomainError(_("A mobile number is needed before the person can log in."), field="phone")
    user = User.objects.filter(phone_index=person.phone_index).first()
    if user is None:
        user = create_user(
            username=f"r{person.phone_index[:16]}",
            password=password,
            display_name=person.name,
            phone=decrypt(person.phone_encrypted),
            actor=actor,
        )
    if person.user_id != user.pk:
        person.user = user
        person.save(update_fields=["user"])
        audit.record(actor=actor, action="person.link_account", obj=person, after={"user_id": user.pk})
    return user
