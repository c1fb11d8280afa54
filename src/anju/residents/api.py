"""People and who lives where, over the API; and ``/me`` for the caller (staff or resident).

Phone and ID numbers leave the server only masked. The clear value comes from ``POST …/reveal``,
which needs ``Perm.REVEAL_PERSONAL_DATA`` and a reason, and is audited by
:func:`anju.core.personal_data.reveal`.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Literal

from django.db.models import Q
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from anju.api.auth import community_auth, current_user, request_access
from anju.api.errors import COMMUNITY_WRITE, RESIDENT_READ, SIGNED_IN, responses
from anju.api.pagination import Page, PageQuery, paginate
from anju.api.schemas import Input, ObjectId, Patch, SearchText, text
from anju.api.tenancy import get_or_404, resident_scope, scoped
from anju.core import personal_data
from anju.core.errors import NotFound
from anju.core.permissions import Perm
from anju.core.validators import normalize_id_number, normalize_phone
from anju.estates.models import Community, Home
from anju.residents import services
from anju.residents.models import Occupancy, Person

router = Router(tags=["people"])
me_router = Router(tags=["me"])

_MOBILE_LIKE = re.compile(r"^1\d{10}$")
_ID_LIKE = re.compile(r"^[0-9A-Z]{15,18}$")


# --- Schemas ---------------------------------------------------------------------------------------


class OccupancyOut(Schema):
    id: int
    home_id: int
    home_label: str
    person_id: int
    person_name: str
    role: str
    share_percent: Decimal | None
    relation: str
    starts_on: dt.date
    ends_on: dt.date | None
    is_current: bool

    @classmethod
    def of(cls, occupancy: Occupancy) -> OccupancyOut:
        return cls(
            id=occupancy.pk,
            home_id=occupancy.home_id,
            home_label=occupancy.home.label,
            person_id=occupancy.person_id,
            person_name=occupancy.person.name,
            role=occupancy.role,
            share_percent=occupancy.share_percent,
            relation=occupancy.relation,
            starts_on=occupancy.starts_on,
            ends_on=occupancy.ends_on,
            is_current=occupancy.is_current,
        )


class PersonOut(Schema):
    id: int
    kind: str
    name: str
    phone_masked: str
    id_number_masked: str
    is_developer: bool
    has_account: bool
    note: str

    @classmethod
    def of(cls, person: Person) -> PersonOut:
        return cls(
            id=person.pk,
            kind=person.kind,
            name=person.name,
            phone_masked=person.phone_masked,
            id_number_masked=person.id_number_masked,
            is_developer=person.is_developer,
            has_account=person.user_id is not None,
            note=person.note,
        )


class PersonDetailOut(PersonOut):
    occupancies: list[OccupancyOut] = Field(description="Every relation to a home, past ones included.")


class PersonFilters(Schema):
    q: SearchText | None = Field(None, description="Part of the name, or an exact mobile or ID number.")


class PersonIn(Input):
    name: Annotated[str, text(100, min_length=1)]
    phone: Annotated[str, text(30)] = ""
    id_number: Annotated[str, text(30)] = ""
    kind: Person.Kind = Person.Kind.INDIVIDUAL
    is_developer: bool = False
    note: Annotated[str, text(200)] = ""


class PersonPatch(Patch):
    name: Annotated[str, text(100, min_length=1)] | None = None
    phone: Annotated[str, text(30)] | None = Field(None, description="An empty string removes the number.")
    id_number: Annotated[str, text(30)] | None = Field(None, description="An empty string removes the number.")
    note: Annotated[str, text(200)] | None = None


class RevealIn(Input):
    field: Literal["phone", "id_number"]
    reason: Annotated[str, text(200, min_length=2)] = Field(description="Why you need it; kept in the audit log.")


class RevealOut(Schema):
    person_id: int
    field: str
    value: str


class OccupancyIn(Input):
    person_id: ObjectId
    role: Occupancy.Role
    starts_on: dt.date | None = Field(None, description="Defaults to today.")
    share_percent: Decimal | None = Field(None, gt=0, le=100, max_digits=5, decimal_places=2)
    relation: Annotated[str, text(30)] = ""


class OccupancyEndIn(Input):
    ends_on: dt.date | None = Field(None, description="Defaults to today.")


# --- People ----------------------------------------------------------------------------------------


def _search(community_id: int, q: str) -> Q:
    """Name substring, or an exact mobile / ID number through the blind index (never in the clear)."""
    matches: list[int] = []
    phone = normalize_phone(q)
    if _MOBILE_LIKE.match(phone):
        person = services.find_person_by_phone(community_id, phone)
        matches += [person.pk] if person else []
    id_number = normalize_id_number(q)
    if _ID_LIKE.match(id_number):
        person = services.find_person_by_id_number(community_id, id_number)
        matches += [person.pk] if person else []
    return Q(name__icontains=q) | Q(pk__in=matches)


def _person_detail(person: Person) -> PersonDetailOut:
    history = (
        Occupancy.objects.filter(person=person)
        .select_related("home__building", "home__unit", "person")
        .order_by("-starts_on", "-pk")
    )
    return PersonDetailOut(**PersonOut.of(person).model_dump(), occupancies=[OccupancyOut.of(o) for o in history])


@router.get(
    "/communities/{community_id}/people",
    response=responses(Page[PersonOut]),
    auth=community_auth(Perm.VIEW_PEOPLE),
)
def list_people(
    request: HttpRequest, community_id: int, filters: Query[PersonFilters], page: Query[PageQuery]
) -> Page[PersonOut]:
    with scoped(request, community_id, Perm.VIEW_PEOPLE):
        people = Person.objects.all()
        if filters.q:
            people = people.filter(_search(community_id, filters.q))
        return paginate(people, page, PersonOut.of)


@router.post(
    "/communities/{community_id}/people",
    response=responses(PersonDetailOut, status=201, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.EDIT_PEOPLE),
)
def create_person(request: HttpRequest, community_id: int, payload: PersonIn) -> Status[PersonDetailOut]:
    with scoped(request, community_id, Perm.EDIT_PEOPLE) as community:
        person = services.create_person(community=community, **payload.model_dump(), actor=current_user(request))
        return Status(201, _person_detail(person))


@router.get(
    "/communities/{community_id}/people/{person_id}",
    response=responses(PersonDetailOut),
    auth=community_auth(Perm.VIEW_PEOPLE),
)
def get_person(request: HttpRequest, community_id: int, person_id: int) -> PersonDetailOut:
    with scoped(request, community_id, Perm.VIEW_PEOPLE):
        return _person_detail(get_or_404(Person, person_id))


@router.patch(
    "/communities/{community_id}/people/{person_id}",
    response=responses(PersonDetailOut, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.EDIT_PEOPLE),
)
def update_person(request: HttpRequest, community_id: int, person_id: int, payload: PersonPatch) -> PersonDetailOut:
    with scoped(request, community_id, Perm.EDIT_PEOPLE):
        person = get_or_404(Person, person_id)
        return _person_detail(services.update_person(person, actor=current_user(request), **payload.changes()))


@router.post(
    "/communities/{community_id}/people/{person_id}/reveal",
    response=responses(RevealOut, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.REVEAL_PERSONAL_DATA),
)
def reveal_personal_data(request: HttpRequest, community_id: int, person_id: int, payload: RevealIn) -> RevealOut:
    """The clear mobile or ID number, for a stated reason. Every call is written to the audit log."""
    with scoped(request, community_id, Perm.REVEAL_PERSONAL_DATA):
        person = get_or_404(Person, person_id)
        value = personal_data.reveal(person, payload.field, actor=current_user(request), reason=payload.reason)
        return RevealOut(person_id=person.pk, field=payload.field, value=value)


# --- Occupancy -------------------------------------------------------------------------------------


@router.post(
    "/communities/{community_id}/homes/{home_id}/occupancies",
    response=responses(OccupancyOut, status=201, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.EDIT_PEOPLE),
)
def add_occupancy(request: HttpRequest, community_id: int, home_id: int, payload: OccupancyIn) -> Status[OccupancyOut]:
    """Record that a person owns, co-owns, rents or lives in the home from a date."""
    with scoped(request, community_id, Perm.EDIT_PEOPLE):
        home = get_or_404(Home.objects.with_location(), home_id)
        person = get_or_404(Person, payload.person_id, field="person_id")
        occupancy = services.add_occupancy(
            home=home,
            person=person,
            role=str(payload.role),
            starts_on=payload.starts_on,
            share_percent=payload.share_percent,
            relation=payload.relation,
            actor=current_user(request),
        )
        return Status(201, OccupancyOut.of(occupancy))


@router.post(
    "/communities/{community_id}/occupancies/{occupancy_id}/end",
    response=responses(OccupancyOut, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.EDIT_PEOPLE),
)
def end_occupancy(request: HttpRequest, community_id: int, occupancy_id: int, payload: OccupancyEndIn) -> OccupancyOut:
    """Close an occupancy on a date (today by default); the record stays as history."""
    with scoped(request, community_id, Perm.EDIT_PEOPLE):
        occupancy: Occupancy = get_or_404(
            Occupancy.objects.select_related("home__building", "home__unit", "person"), occupancy_id
        )
        return OccupancyOut.of(services.end_occupancy(occupancy, ends_on=payload.ends_on, actor=current_user(request)))


# --- Me --------------------------------------------------------------------------------------------


class CommunityRolesOut(Schema):
    community_id: int
    community_name: str
    roles: list[str]
    permissions: list[str]


class MyHomeOut(Schema):
    home_id: int
    community_id: int
    community_name: str
    label: str
    floor: int
    floor_area: Decimal
    use: str
    my_role: str
    since: dt.date


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    phone_masked: str
    staff_communities: list[CommunityRolesOut]
    homes: list[MyHomeOut] = Field(description="Homes the caller currently owns, rents or lives in.")


class HouseholdMemberOut(Schema):
    person_id: int
    name: str
    role: str
    relation: str
    phone_masked: str
    since: dt.date
    is_me: bool


class HouseholdOut(Schema):
    home: MyHomeOut
    members: list[HouseholdMemberOut]


def _my_occupancies(request: HttpRequest) -> list[Occupancy]:
    """The caller's current occupancies, one per home (the first role found), inside resident_scope."""
    rows = (
        Occupancy.objects.current()
        .filter(person__user=current_user(request))
        .select_related("home__building", "home__unit", "community")
        .order_by("home__community_id", "home_id", "starts_on", "pk")
    )
    by_home: dict[int, Occupancy] = {}
    for occupancy in rows:
        by_home.setdefault(occupancy.home_id, occupancy)
    return list(by_home.values())


def _my_homes(occupancies: list[Occupancy]) -> list[MyHomeOut]:
    """The occupancies' homes (from :func:`_my_occupancies`, which joins the community for its name)."""
    return [
        MyHomeOut(
            home_id=o.home_id,
            community_id=o.community_id,
            community_name=o.community.name,
            label=o.home.label,
            floor=o.home.floor,
            floor_area=o.home.floor_area,
            use=o.home.use,
            my_role=o.role,
            since=o.starts_on,
        )
        for o in occupancies
    ]


@me_router.get("/me", response=responses(MeOut, errors=SIGNED_IN))
def me(request: HttpRequest) -> MeOut:
    """Who the caller is: their roles per community (staff) and the homes they live in (residents)."""
    user = current_user(request)
    access = request_access(request)
    names = dict(Community.objects.filter(pk__in=access.grants.keys()).values_list("pk", "name"))
    with resident_scope(request):
        homes = _my_homes(_my_occupancies(request))
    return MeOut(
        id=user.pk,
        username=user.username,
        display_name=user.display_name,
        phone_masked=user.phone_masked,
        staff_communities=[
            CommunityRolesOut(
                community_id=cid,
                community_name=names.get(cid, ""),
                roles=sorted(access.roles.get(cid, ())),
                permissions=sorted(access.grants[cid]),
            )
            for cid in sorted(access.grants, key=lambda cid: (names.get(cid, ""), cid))
        ],
        homes=homes,
    )


@me_router.get("/me/homes", response=responses(list[MyHomeOut], errors=SIGNED_IN))
def my_homes(request: HttpRequest) -> list[MyHomeOut]:
    with resident_scope(request):
        return _my_homes(_my_occupancies(request))


@me_router.get("/me/homes/{home_id}/household", response=responses(HouseholdOut, errors=RESIDENT_READ))
def my_household(request: HttpRequest, home_id: int) -> HouseholdOut:
    """Everyone currently recorded at one of the caller's homes (phones masked). Any other home: 404."""
    user = current_user(request)
    with resident_scope(request):
        mine = [o for o in _my_occupancies(request) if o.home_id == home_id]
        if not mine:
            raise NotFound()
        members = (
            Occupancy.objects.current().filter(home_id=home_id).select_related("person").order_by("starts_on", "pk")
        )
        return HouseholdOut(
            home=_my_homes(mine)[0],
            members=[
                HouseholdMemberOut(
                    person_id=o.person_id,
                    name=o.person.name,
                    role=o.role,
                    relation=o.relation,
                    phone_masked=o.person.phone_masked,
                    since=o.starts_on,
                    is_me=o.person.user_id == user.pk,
                )
                for o in members
            ],
        )
