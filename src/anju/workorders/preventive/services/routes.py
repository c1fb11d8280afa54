"""Writes on inspection routes and their points."""

from __future__ import annotations

import secrets

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from anju.core import audit
from anju.core.errors import Conflict, DomainError
from anju.core.models import User
from anju.core.tenancy import community_scope
from anju.estates.models import Building, CommonPart, Community, Unit
from anju.workorders.preventive.models import Point, Route

# Crockford's base-32 alphabet: no I, L, O or U, so a code typed from the sticker is not misread.
TOKEN_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TOKEN_LENGTH = 16  # 80 random bits
_TYPING_FIXES = str.maketrans({"O": "0", "I": "1", "L": "1", "-": None, " ": None})


def new_point_token() -> str:
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


def normalize_token(raw: str) -> str:
    """A token as scanned or typed: upper case, grouping dashes and spaces dropped, look-alike
    letters read as the digits they stand for."""
    return (raw or "").strip().upper().translate(_TYPING_FIXES)[:64]


@transaction.atomic
def create_route(*, community: Community, name: str, description: str = "", actor: User | None) -> Route:
    name = name.strip()
    if not name:
        raise DomainError(_("A route needs a name."), field="name")
    with community_scope(community.pk):
        if Route.objects.filter(name=name).exists():
            raise Conflict(_("A route called “%(name)s” already exists.") % {"name": name}, field="name")
        route = Route.objects.create(community=community, name=name, description=description.strip())
    audit.record(actor=actor, action="preventive.route.create", obj=route, after=audit.snapshot(route))
    return route


@transaction.atomic
def add_point(
    *,
    route: Route,
    name: str,
    building: Building | None = None,
    unit: Unit | None = None,
    common_part: CommonPart | None = None,
    checklist: str = "",
    actor: User | None,
) -> Point:
    """Add a point at the end of ``route``, with a fresh token for its QR sticker. The place must
    belong to the route's community; a unit implies its building."""
    name = name.strip()
    if not name:
        raise DomainError(_("A point needs a name."), field="name")
    for place, field in ((building, "building"), (unit, "unit"), (common_part, "common_part")):
        if place is not None and place.community_id != route.community_id:
            raise DomainError(_("That place is not in this community."), field=field)
    if unit is not None:
        if building is not None and unit.building_id != building.pk:
            raise DomainError(_("The unit is not in that building."), field="unit")
        building = unit.building
    with community_scope(route.community_id):
        last = Point.objects.filter(route=route).aggregate(last=Max("position"))["last"] or 0
        point = _create_with_fresh_token(
            community_id=route.community_id,
            route=route,
            position=last + 1,
            name=name,
            building=building,
            unit=unit,
            common_part=common_part,
            checklist=checklist.strip(),
        )
    audit.record(
        actor=actor, action="preventive.point.create", obj=point, after=audit.snapshot(point, fields=_AUDITED_POINT)
    )
    return point


# The token is left out of audit rows: the log is readable by more people than may patrol.
_AUDITED_POINT = ("route", "position", "name", "building", "unit", "common_part", "checklist", "active")


def _create_with_fresh_token(**fields: object) -> Point:
    for _attempt in range(5):  # a collision of 80 random bits is not expected; retry anyway
        try:
            with transaction.atomic():
                return Point.objects.create(token=new_point_token(), **fields)
        except IntegrityError:
            continue
    raise Conflict(_("Could not issue a unique code; try again."))


@transaction.atomic
def reissue_point_token(*, point: Point, actor: User | None) -> Point:
    """A new token for a point whose sticker was damaged, lost or copied: the old QR code stops
    proving presence at once. Print and put up the new sticker."""
    with community_scope(point.community_id):
        point = Point.objects.select_for_update().get(pk=point.pk)
        point.token = new_point_token()
        point.save(update_fields=["token"])
    audit.record(actor=actor, action="preventive.point.reissue_token", obj=point, after={"token": "reissued"})
    return point


@transaction.atomic
def set_route_active(*, route: Route, active: bool, actor: User | None) -> Route:
    """Retire a route (or bring it back). A retired route's plans stop generating rounds and its
    rounds nobody has started are cancelled; history stays."""
    from anju.workorders.preventive.models import Round

    with community_scope(route.community_id):
        route.active = active
        route.save(update_fields=["active"])
        cancelled = 0
        if not active:
            cancelled = Round.objects.filter(route=route, state=Round.State.SCHEDULED).update(
                state=Round.State.CANCELLED
            )
    audit.record(
        actor=actor,
        action="preventive.route.set_active",
        obj=route,
        after={"active": active, "rounds_cancelled": cancelled},
    )
    return route


@transaction.atomic
def set_point_active(*, point: Point, active: bool, actor: User | None) -> Point:
    """Take a point out of (or back into) the route. Rounds already planned keep their count of
    points; the next rounds generated use the new set."""
    before = audit.snapshot(point, fields=("active",))
    point.active = active
    point.save(update_fields=["active"])
    audit.record(actor=actor, action="preventive.point.set_active", obj=point, before=before, after={"active": active})
    return point
