"""Who is calling, and may they touch the community in the URL: both settled before the body is read.

Every operation accepts two credentials, tried in order:

* ``Authorization: Bearer anju_…`` — a personal or app token (:func:`anju.core.services.authenticate_token`).
  A bearer header that does not resolve to an active token is refused with 401 at once, even when a
  session cookie is also present: a client that sent a token meant that token.
* the Django session cookie, as the browser pages use it. For unsafe methods the CSRF token is
  checked, exactly as Django's middleware would (ninja exempts its views from the middleware and
  leaves the check to the cookie authenticator).

Authorisation for ``/communities/{community_id}/…`` runs here too, inside authentication, because
ninja authenticates before it parses parameters and body: a caller probing another company's
community must get 404 whatever body it sends, not a 422 that confirms the endpoint took an interest.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja.security import APIKeyCookie, HttpBearer
from ninja.security.base import AuthBase
from ninja.utils import check_csrf

from anju.core.errors import DomainError
from anju.core.models import User
from anju.core.permissions import Access, Perm, access_for
from anju.core.services import authenticate_token


class InvalidToken(DomainError):
    status = 401
    code = "invalid_token"
    default_message = _("The API token is unknown, revoked or expired.")


class CsrfFailed(DomainError):
    status = 403
    code = "csrf_failed"
    default_message = _("The CSRF token is missing or wrong; reload the page and try again.")


def request_access(request: HttpRequest) -> Access:
    """The caller's :class:`Access`, computed once per request and shared by auth and handlers."""
    cached: Access | None = getattr(request, "_anju_access", None)
    if cached is None:
        cached = access_for(getattr(request, "auth", None) or request.user)  # type: ignore[arg-type]
        request._anju_access = cached  # type: ignore[attr-defined]
    return cached


def current_user(request: HttpRequest) -> User:
    """The authenticated user of an API request (set by one of the authenticators below)."""
    user = getattr(request, "auth", None)
    assert isinstance(user, User), "current_user() called on an unauthenticated request"
    return user


def _authorize(request: HttpRequest, user: User, perm: Perm | None) -> User:
    """Check ``perm`` on the URL's ``community_id`` (if the operation has one): 404 / 403 otherwise."""
    request.user = user
    request.auth = user  # type: ignore[attr-defined]
    match = request.resolver_match
    community_id = match.kwargs.get("community_id") if match is not None else None
    if perm is not None and community_id is not None:
        request_access(request).require(perm, int(community_id))
    return user


class BearerTokenAuth(HttpBearer):
    def __init__(self, perm: Perm | None = None) -> None:
        self.perm = perm
        super().__init__()

    def authenticate(self, request: HttpRequest, token: str) -> User:
        user = authenticate_token(token.strip())
        if user is None:
            raise InvalidToken()
        return _authorize(request, user, self.perm)


class SessionAuth(APIKeyCookie):
    """Django's session, with the CSRF check for unsafe methods only when a session user is present,
    so an anonymous POST is told 401 (log in) rather than 403 (CSRF)."""

    param_name: str = settings.SESSION_COOKIE_NAME

    def __init__(self, perm: Perm | None = None) -> None:
        self.perm = perm
        super().__init__(csrf=True)

    def __call__(self, request: HttpRequest) -> Any:
        return self.authenticate(request, request.COOKIES.get(self.param_name))

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = getattr(request, "user", None)
        if not isinstance(user, User) or not user.is_authenticated or not user.is_active:
            return None
        if not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request) is not None:
            raise CsrfFailed()
        return _authorize(request, user, self.perm)


def signed_in() -> list[AuthBase]:
    """Any authenticated caller (the default for operations outside a community)."""
    return [BearerTokenAuth(), SessionAuth()]


def community_auth(perm: Perm) -> list[AuthBase]:
    """An authenticated caller holding ``perm`` in the URL's ``community_id``."""
    return [BearerTokenAuth(perm), SessionAuth(perm)]
