"""anju.core.cache.RedisCache: Django's Redis cache with its client reused (Redis runs in CI)."""

from __future__ import annotations

import uuid

import pytest

from anju.core.cache import RedisCache

REDIS_URL = "redis://127.0.0.1:6379/5"


@pytest.fixture
def redis_cache():
    cache = RedisCache(REDIS_URL, {"KEY_PREFIX": f"test-{uuid.uuid4().hex}"})
    try:
        cache.get("probe")
    except Exception as exc:  # any connection failure means no Redis here
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    yield cache
    cache.delete_many(["k", "x", "y", "probe"])  # not clear(): that flushes the whole database


def test_it_stores_reads_and_deletes_like_djangos(redis_cache):
    assert redis_cache.add("k", {"a": [1, 2]}, timeout=30)
    assert not redis_cache.add("k", "other")
    assert redis_cache.get("k") == {"a": [1, 2]}
    redis_cache.set_many({"x": 1, "y": 2})
    assert redis_cache.get_many(["x", "y", "z"]) == {"x": 1, "y": 2}
    redis_cache.delete("k")
    assert redis_cache.get("k") is None


def test_one_client_serves_every_call(redis_cache):
    client = redis_cache._cache.get_client()
    redis_cache.set("k", 1)
    assert redis_cache._cache.get_client() is client
    assert redis_cache._cache.get_client(write=True) is client  # one server: one pool, one client
