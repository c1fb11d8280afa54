"""Two identical small registers, for checking that a bulk service does exactly what its
single-record service does: the same refusal (type, code, field, message, record) or the same
audit trail (action, object, label, before and after, with database ids replaced by what they name).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction

from anju.core.errors import DomainError, for_item
from anju.core.models import AuditEntry
from anju.core.tenancy import community_scope
from anju.core.validators import id_check_character
from anju.estates import services as estates
from anju.estates.models import Building, Community, Home, Unit
from anju.residents import services as residents
from anju.residents.models import Occupancy, Person


def id_number(serial: int) -> str:
    first17 = f"11010519800101{serial:03d}"
    return first17 + id_check_character(first17)


@dataclass
class Twin:
    community: Community
    buildings: dict[str, Building] = field(default_factory=dict)
    units: dict[str, Unit] = field(default_factory=dict)
    homes: dict[str, Home] = field(default_factory=dict)
    people: dict[str, Person] = field(default_factory=dict)
    occupancies: dict[str, Occupancy] = field(default_factory=dict)


def make_twin(world: Any, code: str) -> Twin:
    """Buildings 1 and 2 (floors -1 to 6, unit 1 each), home 1-1-101 owned since 2020 by 老王
    (with mobile and ID number), and 甲, 乙, 丙 registered without numbers."""
    twin = Twin(estates.create_community(name=f"小区{code}", code=code, district=world.district1, actor=None))
    for number in ("1", "2"):
        building = estates.create_building(
            community=twin.community, number=number, floors_above=6, floors_below=1, actor=None
        )
        twin.buildings[number] = building
        twin.units[number] = estates.create_unit(building=building, number="1", actor=None)
    twin.homes["101"] = estates.create_home(
        building=twin.buildings["1"], unit=twin.units["1"], number="101", floor=1, floor_area="88.50", actor=None
    )
    twin.homes["102"] = estates.create_home(
        building=twin.buildings["1"], unit=twin.units["1"], number="102", floor=1, floor_area="66.00", actor=None
    )
    twin.people["老王"] = residents.create_person(
        community=twin.community, name="老王", phone="13900000001", id_number=id_number(1), actor=None
    )
    for name in ("甲", "乙", "丙"):
        twin.people[name] = residents.create_person(community=twin.community, name=name, actor=None)
    twin.occupancies["老王"] = residents.add_occupancy(
        home=twin.homes["101"], person=twin.people["老王"], role="owner", starts_on=dt.date(2020, 1, 1), actor=None
    )
    return twin


def one_by_one(calls: Sequence[Callable[[], Any]]) -> list[Any]:
    """Call single-record services in turn; a refusal says which call (``item``), like a bulk one."""
    done = []
    for index, call in enumerate(calls):
        with for_item(index):
            done.append(call())
    return done


def _label(key: str, value: Any) -> Any:
    models_by_key: dict[str, type[models.Model]] = {
        "building_id": Building,
        "unit_id": Unit,
        "home_id": Home,
        "person_id": Person,
    }
    if key not in models_by_key or value is None:
        return value
    return str(models_by_key[key].objects.get(pk=value))


def _neutral(snapshot: dict[str, Any] | None, object_id: str) -> dict[str, Any] | None:
    if snapshot is None:
        return None
    if "id" in snapshot:
        assert str(snapshot["id"]) == object_id
    skip = {"id", "community_id", "created_at"}
    return {key: _label(key, value) for key, value in snapshot.items() if key not in skip}


def outcome(community: Community, run: Callable[[], Sequence[models.Model]]) -> tuple[Any, ...]:
    """What ``run`` did: ("refused", type, code, field, message, item) — and then it changed
    nothing — or ("done", trail) with one tuple per audit row it wrote."""
    since = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    try:
        with transaction.atomic():
            made = run()
    except DomainError as exc:
        assert not AuditEntry.objects.filter(pk__gt=since).exists()
        return ("refused", type(exc).__name__, exc.code, exc.field, str(exc.message), exc.item)
    made_ids = {str(obj.pk) for obj in made}
    trail = []
    with community_scope(community.pk):
        for row in AuditEntry.objects.filter(pk__gt=since).order_by("id"):
            assert row.object_id in made_ids and row.community_id == community.pk
            trail.append(
                (
                    row.action,
                    row.object_type,
                    row.object_label,
                    row.actor_label,
                    _neutral(row.before, row.object_id),
                    _neutral(row.after, row.object_id),
                )
            )
    return ("done", trail)


def compare(
    twins: tuple[Twin, Twin],
    calls: Callable[[Twin], Sequence[Callable[[], Any]]],
    bulk: Callable[[Twin], Sequence[models.Model]],
) -> tuple[Any, ...]:
    """Run the single-record ``calls`` on one twin and the ``bulk`` service on the other; assert
    both had the same outcome, and return it."""
    single_twin, bulk_twin = twins
    by_one = outcome(single_twin.community, lambda: one_by_one(calls(single_twin)))
    at_once = outcome(bulk_twin.community, lambda: bulk(bulk_twin))
    assert at_once == by_one
    return by_one
