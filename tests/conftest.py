from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from anju.core import sms

from .personas import World, build_world

# Two cores shared with PostgreSQL, a browser and other test runs: time-based deadlines flake.
hypothesis_settings.register_profile("anju", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("anju")


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.ANJU_SMS_BACKEND = "anju.core.sms.LocmemSmsBackend"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.LANGUAGE_CODE = "zh-hans"
    sms.outbox.clear()


@pytest.fixture
def world(db) -> World:
    return build_world()


# One Redis database for every test that runs a real Celery worker: the Celery app keeps its broker
# connection pool for the life of the process, so tests must not point it at different brokers.
CELERY_REDIS_URL = os.environ.get("ANJU_TEST_CELERY_REDIS_URL", "redis://127.0.0.1:6379/13")


@pytest.fixture
def celery_worker(settings):
    """A real Celery worker (solo pool, in a thread of this process) on Redis; with it
    ``settings.ANJU_USE_CELERY`` is on, so after-commit work and periodic tasks go through the broker."""
    import redis

    try:
        redis.Redis.from_url(CELERY_REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required in CI ({CELERY_REDIS_URL})")
        pytest.skip("Redis is not running")
    redis.Redis.from_url(CELERY_REDIS_URL).flushdb()
    from celery.contrib.testing.worker import start_worker

    from anju.celery import app

    app.conf.broker_url = CELERY_REDIS_URL
    app.conf.result_backend = None
    settings.ANJU_USE_CELERY = True
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        yield app
