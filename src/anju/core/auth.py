"""Log-in by username (staff) or mainland mobile number (residents); the account behind a session.

With a shared cache (``settings.ANJU_ACCESS_CACHE``) the account a session points to is read from
the cache instead of the database on every request, under a per-user version token that
:func:`invalidate_user` replaces after any save or deletion of the user commits (model signals in
:mod:`anju.core.signals`). A changed password, a deactivation or a log-in therefore reaches the next
request: Django then compares the session's password hash with a fresh row, as without a cache.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db import transaction
from django.http import HttpRequest

from anju.core.crypto import blind_index
from anju.core.models import User
from anju.core.permissions import ACCESS_CACHE_SECONDS, shared_cache
from anju.core.validators import normalize_phone


def _version_key(user_id: Any) -> str:
    return f"user:version:{user_id}"


def invalidate_user(user_id: int) -> None:
    """Make the cached copy of this account stale once the current transaction commits."""
    cache = shared_cache()
    if cache is not None:
        transaction.on_commit(lambda: cache.set(_version_key(user_id), uuid.uuid4().hex, timeout=None))


class UsernameOrPhoneBackend(ModelBackend):
    """Authenticate against the username, or, when the input looks like a mobile number, its index."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        if not username or not password:
            return None
        phone = normalize_phone(username)
        user: User | None = None
        if phone.isdigit() and len(phone) == 11:
            user = User.objects.filter(phone_index=blind_index(phone, purpose="phone")).first()
        if user is None:
            user = User.objects.filter(username=username).first()
        if user is None:
            User().set_password(password)  # same work as a real check, so timing tells nothing
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def get_user(self, user_id: Any) -> User | None:
        cache = shared_cache()
        if cache is None:
            return super().get_user(user_id)
        version = cache.get(_version_key(user_id))
        if version is None:
            cache.add(_version_key(user_id), uuid.uuid4().hex, timeout=None)
            version = cache.get(_version_key(user_id))
        key = f"user:{version}:{user_id}"
        user: User | None = cache.get(key)
        if user is None:
            user = super().get_user(user_id)
            if user is None:
                return None
            cache.set(key, user, timeout=ACCESS_CACHE_SECONDS)
        return user if self.user_can_authenticate(user) else None
