"""The shared-cache copy of each user's Access must never outlive a change that takes access away.

The cache is on only with a shared cache: Redis, as in production (required in CI). Invalidation
runs after commit, so the tests run the on-commit callbacks.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from anju.core.permissions import access_for
from anju.core.tenancy import community_scope
from anju.estates import services as estates
from anju.estates.models import ServiceContract
from anju.residents import services as residents
from anju.residents.models import Occupancy

REDIS_TEST_URL = os.environ.get("ANJU_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")


def _redis_reachable() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def shared_cache(settings):
    """The real shared cache of production: Redis, under a key prefix of this test's own."""
    if not _redis_reachable():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required in CI ({REDIS_TEST_URL})")
        pytest.skip("Redis is not running")
    settings.CACHES = {
        "default": {
            "BACKEND": "anju.core.cache.RedisCache",
            "LOCATION": REDIS_TEST_URL,
            "KEY_PREFIX": f"anju-test-{uuid.uuid4().hex}",
        }
    }
    settings.ANJU_ACCESS_CACHE = True
    yield caches["default"]
    caches["default"].clear()


def test_a_cached_access_costs_no_query_and_equals_the_computed_one(world, shared_cache):
    manager = world.user("manager_x")
    first = access_for(manager)
    with CaptureQueriesContext(connection) as queries:
        second = access_for(manager)
    assert len(queries) == 0
    assert second.grants == first.grants and second.roles == first.roles
    assert set(second.community_ids()) == {world.a.community.pk, world.c.community.pk}


def test_without_a_shared_cache_access_is_computed_every_time(world, settings):
    settings.ANJU_ACCESS_CACHE = False
    access_for(world.user("manager_x"))
    with CaptureQueriesContext(connection) as queries:
        access_for(world.user("manager_x"))
    assert len(queries) > 0


def test_ending_an_occupancy_takes_effect_on_the_next_request(
    client, world, shared_cache, django_capture_on_commit_callbacks
):
    estate = world.a
    resident = world.user("resident_a")
    client.force_login(resident)
    detail = reverse("portal:home_detail", args=[estate.homes[0].pk])
    assert client.get(detail).status_code == 200  # the Access is now cached
    with django_capture_on_commit_callbacks(execute=True), community_scope(estate.community.pk):
        occupancy = Occupancy.objects.get(home=estate.homes[0], person=estate.people[0])
        residents.end_occupancy(occupancy, ends_on=timezone.localdate() - dt.timedelta(days=1), actor=None)
    assert client.get(detail).status_code == 404
    assert not access_for(resident).is_resident


def test_ending_a_service_contract_takes_effect_on_the_next_request(
    client, world, shared_cache, django_capture_on_commit_callbacks
):
    community = world.a.community
    client.force_login(world.user("manager_x"))
    homes = reverse("console:homes", args=[community.pk])
    assert client.get(homes).status_code == 200
    contract = ServiceContract.objects.get(community=community, company=world.company_x)
    with django_capture_on_commit_callbacks(execute=True):
        estates.end_service_contract(contract, ends_on=timezone.localdate() - dt.timedelta(days=1), actor=None)
    assert client.get(homes).status_code == 404


def test_ending_a_membership_takes_effect_on_the_next_request(
    client, world, shared_cache, django_capture_on_commit_callbacks
):
    from anju.core.models import Membership
    from anju.core.services import end_membership

    client.force_login(world.user("steward"))
    homes = reverse("console:homes", args=[world.a.community.pk])
    assert client.get(homes).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        membership = Membership.objects.get(user=world.user("steward"))
        end_membership(membership, ends_on=timezone.localdate() - dt.timedelta(days=1), actor=None)
    assert client.get(homes).status_code == 404


def test_a_rolled_back_change_does_not_invalidate(world, shared_cache, django_capture_on_commit_callbacks):
    from anju.core.permissions import _GENERATION_KEY

    access_for(world.user("manager_x"))
    token = shared_cache.get(_GENERATION_KEY)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        estates.end_service_contract(
            ServiceContract.objects.get(community=world.a.community, company=world.company_x),
            ends_on=timezone.localdate(),
            actor=None,
        )
    assert callbacks  # queued for the commit, not run before it
    assert shared_cache.get(_GENERATION_KEY) == token


def test_the_console_switcher_follows_a_renamed_community_and_an_ended_contract(
    client, world, shared_cache, django_capture_on_commit_callbacks
):
    client.force_login(world.user("manager_x"))
    page = reverse("console:homes", args=[world.a.community.pk])
    assert "丙小区" in client.get(page).content.decode()  # the switcher lists both of X's communities
    with django_capture_on_commit_callbacks(execute=True):
        community_c = world.c.community
        community_c.name = "丙小区改名"
        community_c.save(update_fields=["name"])
    assert "丙小区改名" in client.get(page).content.decode()
    contract = ServiceContract.objects.get(community=world.c.community, company=world.company_x)
    with django_capture_on_commit_callbacks(execute=True):
        estates.end_service_contract(contract, ends_on=timezone.localdate() - dt.timedelta(days=1), actor=None)
    assert "丙小区改名" not in client.get(page).content.decode()


def test_the_account_behind_a_session_is_read_from_the_cache(client, world, shared_cache):
    client.force_login(world.user("manager_x"))
    page = reverse("console:homes", args=[world.a.community.pk])
    client.get(page)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(page).status_code == 200
    assert not [q for q in queries if '"core_user"' in q["sql"] and q["sql"].lstrip().startswith("SELECT")]


def test_a_changed_password_ends_other_sessions_on_their_next_request(
    client, world, shared_cache, django_capture_on_commit_callbacks
):
    from django.contrib.auth import get_user_model

    client.force_login(world.user("manager_x"))
    page = reverse("console:homes", args=[world.a.community.pk])
    assert client.get(page).status_code == 200  # the account is now cached
    with django_capture_on_commit_callbacks(execute=True):
        user = get_user_model().objects.get(pk=world.user("manager_x").pk)
        user.set_password("a-new-password-2")
        user.save()
    response = client.get(page)
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_a_deactivated_account_is_refused_on_its_next_request(
    client, world, shared_cache, django_capture_on_commit_callbacks
):
    from django.contrib.auth import get_user_model

    client.force_login(world.user("resident_a"))
    page = reverse("portal:home")
    assert client.get(page).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        user = get_user_model().objects.get(pk=world.user("resident_a").pk)
        user.is_active = False
        user.save(update_fields=["is_active"])
    response = client.get(page)
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_a_renamed_community_shows_on_its_own_pages_at_once(
    client, world, shared_cache, django_capture_on_commit_callbacks
):
    client.force_login(world.user("steward"))  # one community: no switcher, the name stands alone
    page = reverse("console:homes", args=[world.a.community.pk])
    assert "甲小区" in client.get(page).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        community = world.a.community
        community.name = "甲小区新名"
        community.save(update_fields=["name"])
    assert "甲小区新名" in client.get(page).content.decode()


def test_with_a_shared_cache_a_warm_property_map_takes_only_its_own_queries(client, world, shared_cache):
    client.force_login(world.user("manager_x"))
    page = reverse("console:property_map", args=[world.a.community.pk, world.a.buildings[0].pk])
    client.get(page)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(page).status_code == 200
    # the session (database-backed in tests), the building, its homes, their occupancies, and the
    # unread-notification count in the top bar (one indexed COUNT)
    assert len(queries) <= 5
