"""Log-in by username (staff) or mainland mobile number (residents)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from anju.core.crypto import blind_index
from anju.core.models import User
from anju.core.validators import normalize_phone


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
