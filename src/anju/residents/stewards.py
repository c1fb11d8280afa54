"""Stewards (管家) and building leaders (楼栋长): who looks after which homes, over time."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.core import audit
from anju.core.errors import DomainError
from anju.core.models import User
from anju.core.tenancy import community_scope
from anju.estates.models import Building, Community, Home
from anju.residents.models import BuildingLeader, Person, StewardAssignment


@transaction.atomic
def set_building_leader(*, building: Building, person: Person, actor: User | None) -> BuildingLeader:
    """Make ``person`` the building's leader from today, ending the previous leader's term."""
    if person.community_id != building.community_id:
        raise DomainError(_("The person does not belong to this community."), field="person")
    today = timezone.localdate()
    with community_scope(building.community_id):
        previous = BuildingLeader.objects.select_for_update().filter(building=building, ends_on__isnull=True).first()
        if previous is not None:
            if previous.person_id == person.pk:
                return previous
            previous.ends_on = today
            previous.save(update_fields=["ends_on"])
        leader = BuildingLeader.objects.create(
            community_id=building.community_id, building=building, person=person, starts_on=today
        )
    audit.record(
        actor=actor,
        action="building_leader.set",
        obj=leader,
        before={"person_id": previous.person_id} if previous else None,
        after=audit.snapshot(leader),
    )
    return leader


@transaction.atomic
def assign_steward(*, homes: list[Home], steward: User, actor: User | None) -> int:
    """Give ``homes`` to ``steward`` from today; the previous assignments end (and stay as history).
    Returns how many homes changed steward."""
    if not homes:
        return 0
    community_id = homes[0].community_id
    if any(home.community_id != community_id for home in homes):
        raise DomainError(_("All homes must be in one community."))
    from anju.core.permissions import access_for

    if not access_for(steward).has_role("steward", community_id):
        raise DomainError(_("%(name)s is not a steward of this community.") % {"name": steward}, field="steward")
    today = timezone.localdate()
    home_ids = [home.pk for home in homes]
    with community_scope(community_id):
        current = {
            a.home_id: a
            for a in StewardAssignment.objects.select_for_update().filter(home_id__in=home_ids, ends_on__isnull=True)
        }
        moving = [hid for hid in home_ids if current.get(hid) is None or current[hid].steward_id != steward.pk]
        StewardAssignment.objects.filter(home_id__in=moving, ends_on__isnull=True).update(ends_on=today)
        StewardAssignment.objects.bulk_create(
            [
                StewardAssignment(community_id=community_id, home_id=hid, steward=steward, starts_on=today)
                for hid in moving
            ]
        )
    if moving:
        audit.record(
            actor=actor,
            action="steward.assign",
            object_type="residents.stewardassignment",
            object_label=str(steward),
            community_id=community_id,
            after={"steward_id": steward.pk, "home_ids": moving},
        )
    return len(moving)


def plan_steward_balance(blocks: list[tuple[Any, int]], steward_count: int) -> list[int]:
    """Split an ordered list of blocks (a building, or one unit of a large building) among stewards.

    Each block goes whole to one steward, so neighbours share a steward. Walking the blocks in order,
    a block's midpoint in the running home count decides its steward: ``floor(mid * S / N)``. That
    keeps each steward's blocks contiguous and every steward within one block of the even share N/S.
    Returns the steward index for each block.
    """
    total = sum(size for _, size in blocks)
    if steward_count <= 0 or total == 0:
        return [0 for _ in blocks]
    plan: list[int] = []
    running = 0
    for _block, size in blocks:
        midpoint2 = 2 * running + size  # twice the midpoint, to stay in integers
        plan.append(min(steward_count - 1, (midpoint2 * steward_count) // (2 * total)))
        running += size
    return plan


def steward_blocks(community_id: int, target: int) -> list[tuple[tuple[int, int | None], list[int]]]:
    """Homes grouped for balancing: a whole building when it holds at most ``target`` homes,
    otherwise one block per unit (per floor band when it has no units)."""
    with community_scope(community_id):
        rows = list(
            Home.objects.order_by(
                "building__sort_key", "building__number", "unit__number", "floor", "number"
            ).values_list("pk", "building_id", "unit_id")
        )
    by_building: dict[int, list[tuple[int, int | None]]] = {}
    for pk, building_id, unit_id in rows:
        by_building.setdefault(building_id, []).append((pk, unit_id))
    blocks: list[tuple[tuple[int, int | None], list[int]]] = []
    for building_id, homes in by_building.items():
        if len(homes) <= target:
            blocks.append(((building_id, None), [pk for pk, _ in homes]))
            continue
        by_unit: dict[int | None, list[int]] = {}
        for home_pk, home_unit_id in homes:
            by_unit.setdefault(home_unit_id, []).append(home_pk)
        for block_unit_id, pks in by_unit.items():
            for start in range(0, len(pks), target):
                blocks.append(((building_id, block_unit_id), pks[start : start + target]))
    return blocks


@transaction.atomic
def auto_balance_stewards(
    *, community: Community, stewards: list[User], target: int = 50, actor: User | None
) -> dict[int, int]:
    """Assign every home of ``community`` to one of ``stewards``, buildings kept together.

    Returns homes per steward id. ``target`` (~50, the industry norm) decides when a building is
    large enough to split by unit; the share itself is as even as whole blocks allow.
    """
    if not stewards:
        raise DomainError(_("Choose at least one steward."), field="stewards")
    blocks = steward_blocks(community.pk, target)
    plan = plan_steward_balance([(key, len(pks)) for key, pks in blocks], len(stewards))
    counts: dict[int, int] = {s.pk: 0 for s in stewards}
    homes_for: dict[int, list[int]] = {s.pk: [] for s in stewards}
    for (_key, pks), index in zip(blocks, plan, strict=True):
        homes_for[stewards[index].pk].extend(pks)
        counts[stewards[index].pk] += len(pks)
    with community_scope(community.pk):
        for steward in stewards:
            homes = list(Home.objects.filter(pk__in=homes_for[steward.pk]))
            assign_steward(homes=homes, steward=steward, actor=actor)
    audit.record(
        actor=actor,
        action="steward.auto_balance",
        object_type="estates.community",
        object_id=str(community.pk),
        object_label=str(community),
        community_id=community.pk,
        after={"homes_per_steward": {str(k): v for k, v in counts.items()}, "target": target},
    )
    return counts
