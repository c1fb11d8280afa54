"""What every page's chrome needs to know about the user, computed only if the page asks."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.http import HttpRequest

from anju.core.permissions import cached_with_access
from anju.estates.models import Community
from anju.web.decorators import request_access


class Navigation:
    """Lazy facts for the top bar: nothing is queried unless a template reads an attribute.

    ``communities`` (for the console's community switcher) is one query on top of the request's
    :class:`~anju.core.permissions.Access`, which the page's own permission check has usually
    computed already (it is cached on the request).
    """

    def __init__(self, request: HttpRequest) -> None:
        self._request = request

    @cached_property
    def _access(self) -> Any:
        return request_access(self._request)

    @cached_property
    def is_authenticated(self) -> bool:
        return bool(self._request.user.is_authenticated)

    @cached_property
    def community_ids(self) -> list[int]:
        return self._access.community_ids() if self.is_authenticated else []

    @cached_property
    def communities(self) -> list[Community]:
        """Unsaved stand-ins carrying ``pk`` and ``name``: the pairs are cached with the user's Access
        (a renamed community or a changed contract makes them stale), so console pages skip a query."""
        if not self.community_ids:
            return []
        ids = self.community_ids

        def names() -> list[tuple[int, str]]:
            return list(Community.objects.filter(pk__in=ids).order_by("name").values_list("pk", "name"))

        pairs = cached_with_access(self._access, "switcher", names)
        return [Community(pk=pk, name=name) for pk, name in pairs]

    @cached_property
    def is_staff_user(self) -> bool:
        return self.is_authenticated and self._access.is_staff_user

    @cached_property
    def unread_notifications(self) -> int:
        if not self.is_authenticated:
            return 0
        from anju.core.notifications import unread_count

        return unread_count(self._request.user)  # type: ignore[arg-type]

    @cached_property
    def is_resident(self) -> bool:
        return self.is_authenticated and self._access.is_resident


def navigation(request: HttpRequest) -> dict[str, Any]:
    return {"navigation": Navigation(request)}
