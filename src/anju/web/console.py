"""What every console page needs besides its own query: the community, the user's permission flags
for showing only the links and forms they may use, a check for POSTs that need more than viewing,
and rendering with those in the context. Use inside views wrapped by ``community_view``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from anju.core.permissions import Perm
from anju.estates.models import Community
from anju.web.decorators import request_access


def current_community(request: HttpRequest) -> Community:
    """The community ``community_view`` resolved and checked for this request."""
    return request.community  # type: ignore[attr-defined]


def permission_flags(request: HttpRequest, community_id: int) -> dict[str, bool]:
    access = request_access(request)
    return {perm.value: access.has(perm, community_id) for perm in Perm}


def require_permission(request: HttpRequest, perm: Perm, community_id: int) -> None:
    """For actions that need more than the page itself; outsiders already got 404 from the decorator."""
    if not request_access(request).has(perm, community_id):
        raise DjangoPermissionDenied


def render_console(request: HttpRequest, template: str, community_id: int, **context: Any) -> HttpResponse:
    context.setdefault("community", current_community(request))
    context.setdefault("can", permission_flags(request, community_id))
    return render(request, template, context)
