from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from anju.core.errors import NotFound, PermissionDenied
from anju.core.permissions import Perm, access_for
from anju.estates import services as estates
from anju.estates.models import ServiceContract


def test_company_staff_reach_only_communities_under_a_current_contract(world):
    access = access_for(world.user("manager_x"))
    assert set(access.community_ids()) == {world.a.community.pk, world.c.community.pk}
    assert access_for(world.user("manager_y")).community_ids() == [world.b.community.pk]


def test_membership_limits_narrow_the_reach(world):
    assert access_for(world.user("steward")).community_ids() == [world.a.community.pk]


def test_regulator_sees_its_districts_read_only(world):
    access = access_for(world.user("regulator"))
    assert set(access.community_ids()) == {world.a.community.pk, world.b.community.pk}
    assert access.community_ids(Perm.EDIT_REGISTER) == []
    with pytest.raises(PermissionDenied):
        access.require(Perm.EDIT_REGISTER, world.a.community.pk)
    with pytest.raises(NotFound):
        access.require(Perm.VIEW_REGISTER, world.c.community.pk)


def test_change_of_company_moves_access_and_keeps_history(world):
    community = world.a.community
    contract = ServiceContract.objects.get(community=community, company=world.company_x)
    today = timezone.localdate()
    estates.end_service_contract(contract, ends_on=today, actor=None)
    estates.start_service_contract(
        community=community, company=world.company_y, fee_model="cost_plus", starts_on=today, actor=None
    )
    assert community.pk not in access_for(world.user("manager_x")).community_ids()
    assert community.pk in access_for(world.user("manager_y")).community_ids()
    assert ServiceContract.objects.filter(community=community).count() == 2


def test_overlapping_contracts_are_refused(world):
    from anju.core.errors import Conflict

    with pytest.raises(Conflict):
        estates.start_service_contract(
            community=world.a.community,
            company=world.company_y,
            fee_model="lump_sum",
            starts_on=dt.date(2024, 1, 1),
            actor=None,
        )


def test_residents_reach_only_where_they_live(world):
    access = access_for(world.user("resident_a"))
    assert access.resident_community_ids == {world.a.community.pk}
    assert access.community_ids() == []
