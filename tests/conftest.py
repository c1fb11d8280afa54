from __future__ import annotations

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
