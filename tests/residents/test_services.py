from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_scopes import ScopeError
from hypothesis import given
from hypothesis import strategies as st

from anju.core.errors import Conflict, DomainError
from anju.core.models import AuditEntry
from anju.core.permissions import access_for
from anju.core.tenancy import community_scope
from anju.residents import services
from anju.residents.models import Occupancy, Person


def test_person_personal_data_is_encrypted_indexed_and_masked(world):
    community = world.a.community
    person = services.create_person(
        community=community, name="王芳", phone="138 1234 5678", id_number="11010519491231002X", actor=None
    )
    assert person.phone_masked == "138****5678"
    assert person.id_number_masked == "110105********002X"
    assert "13812345678" not in person.phone_encrypted
    assert services.find_person_by_phone(community.pk, "13812345678").pk == person.pk
    assert services.find_person_by_id_number(community.pk, "11010519491231002x").pk == person.pk
    assert services.find_person_by_phone(world.b.community.pk, "13812345678") is None


def test_bad_id_number_is_refused_in_chinese(world):
    with pytest.raises(DomainError) as info:
        services.create_person(community=world.a.community, name="李四", id_number="110105194912310021", actor=None)
    assert info.value.field == "id_number"
    assert "校验" in str(info.value.message) or "check" in str(info.value.message)


def test_scoped_queries_outside_a_scope_raise(world):
    with pytest.raises(ScopeError):
        list(Person.objects.all())
    with community_scope(world.a.community.pk):
        names = set(Person.objects.values_list("name", flat=True))
    assert names == {"甲小区业主"}


def test_co_owner_shares_cannot_exceed_100(world):
    home = world.a.homes[1]
    first = services.create_person(community=world.a.community, name="甲", actor=None)
    second = services.create_person(community=world.a.community, name="乙", actor=None)
    services.add_occupancy(home=home, person=first, role="co_owner", share_percent="60", actor=None)
    with pytest.raises(Conflict):
        services.add_occupancy(home=home, person=second, role="co_owner", share_percent="50", actor=None)
    services.add_occupancy(home=home, person=second, role="co_owner", share_percent="40", actor=None)
    assert services.ownership_share_total(home) == 100


def test_ending_occupancy_keeps_history_and_revokes_resident_access(world):
    user = world.user("resident_a")
    assert access_for(user).resident_community_ids == {world.a.community.pk}
    with community_scope(world.a.community.pk):
        occupancy = Occupancy.objects.get(person__user=user)
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    services.end_occupancy(occupancy, ends_on=yesterday, actor=None)
    assert access_for(user).resident_community_ids == set()
    with community_scope(world.a.community.pk):
        assert Occupancy.objects.filter(person__user=user).count() == 1
    entry = AuditEntry.objects.filter(action="occupancy.end").get()
    assert entry.before["ends_on"] is None and entry.after["ends_on"] == yesterday.isoformat()


def test_plan_steward_balance_keeps_blocks_whole_and_even():
    blocks = [(f"b{i}", size) for i, size in enumerate([30, 30, 30, 30, 30, 30, 30, 30, 30, 30])]
    plan = services.plan_steward_balance(blocks, 6)
    assert plan == sorted(plan)  # contiguous
    per = [sum(size for (_, size), s in zip(blocks, plan, strict=True) if s == k) for k in range(6)]
    assert sum(per) == 300
    assert max(per) - min(per) <= 30
    assert set(plan) == set(range(6))


def test_auto_balance_assigns_every_home_once(world):
    steward = world.user("steward")
    counts = services.auto_balance_stewards(community=world.a.community, stewards=[steward], actor=None)
    assert counts == {steward.pk: len(world.a.homes)}
    again = services.auto_balance_stewards(community=world.a.community, stewards=[steward], actor=None)
    assert again == counts
    assert AuditEntry.objects.filter(action="steward.assign").count() == 1


@given(
    st.lists(st.integers(min_value=1, max_value=120), min_size=1, max_size=60),
    st.integers(min_value=1, max_value=20),
)
def test_balance_plan_is_contiguous_and_within_one_block_of_even(sizes, steward_count):
    blocks = [(i, size) for i, size in enumerate(sizes)]
    plan = services.plan_steward_balance(blocks, steward_count)
    assert plan == sorted(plan)
    assert all(0 <= s < steward_count for s in plan)
    total = sum(sizes)
    largest = max(sizes)
    for steward in range(steward_count):
        load = sum(size for size, s in zip(sizes, plan, strict=True) if s == steward)
        # Within one block of the even share, in exact integer arithmetic.
        assert abs(load * steward_count - total) <= largest * steward_count
