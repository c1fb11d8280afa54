from __future__ import annotations

import pytest

from anju.core import sms

from .personas import World, build_world


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
