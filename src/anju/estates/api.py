"""The community register over the API: communities, buildings, homes and the property map."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from anju.api.auth import community_auth, current_user, request_access
from anju.api.errors import COMMUNITY_WRITE, SIGNED_IN, responses
from anju.api.pagination import Page, PageQuery, paginate
from anju.api.schemas import Input, ObjectId, Patch, SearchText, text
from anju.api.tenancy import get_or_404, scoped
from anju.core.errors import DomainError
from anju.core.permissions import Perm
from anju.estates import services
from anju.estates.models import Building, Community, Home, Unit
from anju.estates.property_map import build_property_map, get_layer, layers
from anju.residents.models import Occupancy

router = Router(tags=["register"])

FloorArea = Annotated[Decimal, Field(gt=0, max_digits=9, decimal_places=2, description="m², two decimals")]
Floor = Annotated[int, Field(ge=-20, le=300, description="Floors above ground count 1, 2, …; below -1, -2, …")]


# --- Communities -----------------------------------------------------------------------------------


class CommunityOut(Schema):
    id: int
    name: str
    code: str
    address: str
    built_year: int | None
    district: str
    roles: list[str] = Field(description="The caller's roles here.")
    permissions: list[str] = Field(description="What the caller may do here.")


class CommunityDetailOut(CommunityOut):
    building_count: int
    home_count: int
    homes_by_status: dict[str, int]


def _community_out(request: HttpRequest, community: Community) -> CommunityOut:
    access = request_access(request)
    return CommunityOut(
        id=community.pk,
        name=community.name,
        code=community.code,
        address=community.address,
        built_year=community.built_year,
        district=community.district.name,
        roles=sorted(access.roles.get(community.pk, ())),
        permissions=sorted(access.grants.get(community.pk, ())),
    )


@router.get("/communities", response=responses(Page[CommunityOut], errors=(*SIGNED_IN, 422)))
def list_communities(request: HttpRequest, page: Query[PageQuery]) -> Page[CommunityOut]:
    """The communities the caller may view as staff, regulator or committee member (residents see
    their homes under ``/me``)."""
    ids = request_access(request).community_ids(Perm.VIEW_REGISTER)
    communities = Community.objects.filter(pk__in=ids).select_related("district").order_by("name", "pk")
    return paginate(communities, page, lambda community: _community_out(request, community))


@router.get(
    "/communities/{community_id}",
    response=responses(CommunityDetailOut),
    auth=community_auth(Perm.VIEW_REGISTER),
)
def get_community(request: HttpRequest, community_id: int) -> CommunityDetailOut:
    with scoped(request, community_id, Perm.VIEW_REGISTER) as community:
        by_status = dict(Home.objects.values_list("status").annotate(n=Count("pk")).order_by())
        return CommunityDetailOut(
            **_community_out(request, community).model_dump(),
            building_count=Building.objects.count(),
            home_count=sum(by_status.values()),
            homes_by_status={status: by_status.get(status, 0) for status in Home.Status.values},
        )


# --- Buildings -------------------------------------------------------------------------------------


class UnitOut(Schema):
    id: int
    number: str


class BuildingOut(Schema):
    id: int
    number: str
    name: str
    floors_above: int
    floors_below: int
    has_lift: bool
    units: list[UnitOut]
    home_count: int

    @classmethod
    def of(cls, building: Building, home_count: int | None = None) -> BuildingOut:
        return cls(
            id=building.pk,
            number=building.number,
            name=building.name,
            floors_above=building.floors_above,
            floors_below=building.floors_below,
            has_lift=building.has_lift,
            units=[UnitOut(id=unit.pk, number=unit.number) for unit in building.units.all()],
            home_count=home_count if home_count is not None else getattr(building, "home_count", 0),
        )


class BuildingIn(Input):
    number: Annotated[str, text(20, min_length=1)]
    name: Annotated[str, text(50)] = ""
    floors_above: int = Field(1, ge=1, le=300)
    floors_below: int = Field(0, ge=0, le=20)
    has_lift: bool = False
    units: list[Annotated[str, text(20, min_length=1)]] = Field(
        default_factory=list, max_length=50, description="Unit (单元) numbers to create with the building."
    )


@router.get(
    "/communities/{community_id}/buildings",
    response=responses(Page[BuildingOut]),
    auth=community_auth(Perm.VIEW_REGISTER),
)
def list_buildings(request: HttpRequest, community_id: int, page: Query[PageQuery]) -> Page[BuildingOut]:
    with scoped(request, community_id, Perm.VIEW_REGISTER):
        buildings = Building.objects.annotate(home_count=Count("homes")).prefetch_related("units")
        return paginate(buildings, page, BuildingOut.of)


@router.post(
    "/communities/{community_id}/buildings",
    response=responses(BuildingOut, status=201, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.EDIT_REGISTER),
)
def create_building(request: HttpRequest, community_id: int, payload: BuildingIn) -> Status[BuildingOut]:
    """Create a building, and its units if listed: all of it or, on any error, none of it."""
    actor = current_user(request)
    if len(set(payload.units)) != len(payload.units):
        raise DomainError(_("Each unit number may be listed only once."), code="duplicate_unit", field="units")
    with scoped(request, community_id, Perm.EDIT_REGISTER) as community, transaction.atomic():
        building = services.create_building(
            community=community,
            number=payload.number,
            name=payload.name,
            floors_above=payload.floors_above,
            floors_below=payload.floors_below,
            has_lift=payload.has_lift,
            actor=actor,
        )
        for number in payload.units:
            services.create_unit(building=building, number=number, actor=actor)
        return Status(201, BuildingOut.of(building, home_count=0))


# --- Property map ----------------------------------------------------------------------------------


class MapCellOut(Schema):
    home_id: int
    number: str
    unit: str
    floor_area: str
    value: str
    colour: str


class MapRowOut(Schema):
    floor: int
    cells: list[MapCellOut]


class LegendItemOut(Schema):
    value: str
    label: str
    colour: str
    count: int


class LayerOut(Schema):
    name: str
    label: str


class PropertyMapOut(Schema):
    building: BuildingOut
    layer: LayerOut
    available_layers: list[LayerOut]
    legend: list[LegendItemOut]
    units: list[str]
    rows: list[MapRowOut] = Field(description="Top floor first, as the building stands.")
    counts: dict[str, int]


@router.get(
    "/communities/{community_id}/buildings/{building_id}/map",
    response=responses(PropertyMapOut),
    auth=community_auth(Perm.VIEW_REGISTER),
)
def property_map(
    request: HttpRequest,
    community_id: int,
    building_id: int,
    layer: Annotated[str, text(40)] = "occupancy",
) -> PropertyMapOut:
    """The building's floors × homes, each cell coloured by the chosen layer (楼盘表)."""
    chosen = get_layer(layer)
    if chosen is None:
        raise DomainError(_("There is no map layer “%(name)s”.") % {"name": layer}, code="unknown_layer", field="layer")
    with scoped(request, community_id, Perm.VIEW_REGISTER):
        building: Building = get_or_404(Building.objects.prefetch_related("units"), building_id)
        grid = build_property_map(building, chosen.name)
        return PropertyMapOut(
            building=BuildingOut.of(building, home_count=sum(grid.counts.values())),
            layer=LayerOut(name=grid.layer.name, label=str(grid.layer.label)),
            available_layers=[LayerOut(name=item.name, label=str(item.label)) for item in layers()],
            legend=[
                LegendItemOut(
                    value=item.value, label=str(item.label), colour=item.colour, count=grid.counts[item.value]
                )
                for item in grid.layer.legend
            ],
            units=grid.units,
            rows=[
                MapRowOut(floor=row.floor, cells=[MapCellOut(**vars(cell)) for cell in row.cells]) for row in grid.rows
            ],
            counts=grid.counts,
        )


# --- Homes -----------------------------------------------------------------------------------------


class HomeOut(Schema):
    id: int
    community_id: int
    building_id: int
    building_number: str
    unit_id: int | None
    unit_number: str | None
    number: str
    label: str
    floor: int
    floor_area: Decimal
    use: str
    status: str

    @classmethod
    def of(cls, home: Home) -> HomeOut:
        # model_construct: the values come typed from the database, and ninja validates the response
        # once more anyway; validating here too doubled the cost of a 50-home page.
        return cls.model_construct(
            id=home.pk,
            community_id=home.community_id,
            building_id=home.building_id,
            building_number=home.building.number,
            unit_id=home.unit_id,
            unit_number=home.unit.number if home.unit else None,
            number=home.number,
            label=home.label,
            floor=home.floor,
            floor_area=home.floor_area,
            use=home.use,
            status=home.status,
        )


class OccupantOut(Schema):
    occupancy_id: int
    person_id: int
    name: str
    role: str
    share_percent: Decimal | None
    relation: str
    phone_masked: str
    starts_on: dt.date


class HomeDetailOut(HomeOut):
    occupants: list[OccupantOut] | None = Field(
        description="Current owners, tenants and family; null when the caller may not view people."
    )


class HomeFilters(Schema):
    building_id: ObjectId | None = None
    unit_id: ObjectId | None = None
    status: Home.Status | None = None
    use: Home.Use | None = None
    q: SearchText | None = Field(None, description="Part of the home number.")


class HomeIn(Input):
    building_id: ObjectId
    unit_id: ObjectId | None = None
    number: Annotated[str, text(20, min_length=1)]
    floor: Floor
    floor_area: FloorArea
    use: Home.Use = Home.Use.RESIDENTIAL
    status: Home.Status = Home.Status.DELIVERED


class HomePatch(Patch):
    floor: Floor | None = None
    floor_area: FloorArea | None = None
    use: Home.Use | None = None
    status: Home.Status | None = None


def _home_detail(request: HttpRequest, home: Home) -> HomeDetailOut:
    occupants = None
    if request_access(request).has(Perm.VIEW_PEOPLE, home.community_id):
        current = Occupancy.objects.current().filter(home=home).select_related("person").order_by("role", "pk")
        occupants = [
            OccupantOut(
                occupancy_id=occupancy.pk,
                person_id=occupancy.person_id,
                name=occupancy.person.name,
                role=occupancy.role,
                share_percent=occupancy.share_percent,
                relation=occupancy.relation,
                phone_masked=occupancy.person.phone_masked,
                starts_on=occupancy.starts_on,
            )
            for occupancy in current
        ]
    return HomeDetailOut(**HomeOut.of(home).model_dump(), occupants=occupants)


@router.get(
    "/communities/{community_id}/homes",
    response=responses(Page[HomeOut]),
    auth=community_auth(Perm.VIEW_REGISTER),
)
def list_homes(
    request: HttpRequest, community_id: int, filters: Query[HomeFilters], page: Query[PageQuery]
) -> Page[HomeOut]:
    with scoped(request, community_id, Perm.VIEW_REGISTER):
        homes = Home.objects.with_location()
        if filters.building_id is not None:
            homes = homes.filter(building_id=filters.building_id)
        if filters.unit_id is not None:
            homes = homes.filter(unit_id=filters.unit_id)
        if filters.status:
            homes = homes.filter(status=filters.status)
        if filters.use:
            homes = homes.filter(use=filters.use)
        if filters.q:
            homes = homes.filter(Q(number__icontains=filters.q))
        return paginate(homes, page, HomeOut.of)


@router.post(
    "/communities/{community_id}/homes",
    response=responses(HomeDetailOut, status=201, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.EDIT_REGISTER),
)
def create_home(request: HttpRequest, community_id: int, payload: HomeIn) -> Status[HomeDetailOut]:
    with scoped(request, community_id, Perm.EDIT_REGISTER):
        building = get_or_404(Building, payload.building_id, field="building_id")
        unit = get_or_404(Unit, payload.unit_id, field="unit_id") if payload.unit_id is not None else None
        home = services.create_home(
            building=building,
            unit=unit,
            number=payload.number,
            floor=payload.floor,
            floor_area=payload.floor_area,
            use=str(payload.use),
            status=str(payload.status),
            actor=current_user(request),
        )
        return Status(201, _home_detail(request, home))


@router.get(
    "/communities/{community_id}/homes/{home_id}",
    response=responses(HomeDetailOut),
    auth=community_auth(Perm.VIEW_REGISTER),
)
def get_home(request: HttpRequest, community_id: int, home_id: int) -> HomeDetailOut:
    with scoped(request, community_id, Perm.VIEW_REGISTER):
        return _home_detail(request, get_or_404(Home.objects.with_location(), home_id))


@router.patch(
    "/communities/{community_id}/homes/{home_id}",
    response=responses(HomeDetailOut, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.EDIT_REGISTER),
)
def update_home(request: HttpRequest, community_id: int, home_id: int, payload: HomePatch) -> HomeDetailOut:
    """Change floor, floor area, use or status; leave a field out to keep it."""
    with scoped(request, community_id, Perm.EDIT_REGISTER):
        home = get_or_404(Home.objects.with_location(), home_id)
        home = services.update_home(home, actor=current_user(request), **payload.changes())
        return _home_detail(request, home)
