"""The only way a page reaches tenant data: resolve the community, check the permission, open the scope.

``@community_view(Perm.X)`` wraps a view taking ``community_id`` from the URL. It answers 404 when
the community is not the user's at all (not confirming that it exists), 403 when the user's role
lacks ``Perm.X`` there, and otherwise runs the view inside ``community_scope(community_id)`` with
``request.community`` and ``request.access`` set.

``@resident_view`` does the same for the portal: the scope is the communities the user lives in.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse

from anju.core.errors import NotFound, PermissionDenied
from anju.core.permissions import Access, Perm, access_for, cached_with_access
from anju.core.tenancy import community_scope
from anju.estates.models import Community

View = Callable[..., HttpResponse]


def request_access(request: HttpRequest) -> Access:
    """The request's :class:`Access`, computed once per request."""
    cached = getattr(request, "_anju_access", None)
    if cached is None:
        cached = access_for(request.user)  # type: ignore[arg-type]
        request._anju_access = cached  # type: ignore[attr-defined]
    return cached


def community_view(perm: Perm) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, community_id: int, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            access = request_access(request)
            try:
                access.require(perm, community_id)
            except NotFound:
                raise Http404 from None
            except PermissionDenied:
                raise DjangoPermissionDenied from None
            request.access = access  # type: ignore[attr-defined]
            request.community = cached_with_access(  # type: ignore[attr-defined]
                access, f"community:{community_id}", lambda: Community.objects.get(pk=community_id), per_user=False
            )
            with community_scope(community_id):
                return view(request, community_id, *args, **kwargs)

        return wrapper

    return decorate


def resident_view(view: View) -> View:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        access = request_access(request)
        request.access = access  # type: ignore[attr-defined]
        with community_scope(sorted(access.resident_community_ids)):
            return view(request, *args, **kwargs)

    return wrapper
