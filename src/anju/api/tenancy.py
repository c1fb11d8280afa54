"""Handlers reach tenant data only through :func:`scoped` (staff) or :func:`resident_scope` (portal).

The community check already ran during authentication (:mod:`anju.api.auth`); :func:`scoped` repeats
it against the same cached :class:`~anju.core.permissions.Access` — cheap, and it keeps a handler
safe even if someone mounts it with the wrong ``auth=`` — then opens ``community_scope`` so that
every lookup by id inside it is confined to that community: another community's home id is a 404
even under your own community's URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import models
from django.http import HttpRequest

from anju.api.auth import request_access
from anju.core.errors import NotFound
from anju.core.permissions import Perm, cached_with_access
from anju.core.tenancy import community_scope
from anju.estates.models import Community

ModelT = TypeVar("ModelT", bound=models.Model)


@contextmanager
def scoped(request: HttpRequest, community_id: int, perm: Perm) -> Iterator[Community]:
    """Require ``perm`` in ``community_id`` (404 when the community is not the caller's, 403 when the
    role lacks ``perm``) and run the block inside that community's scope, yielding the community."""
    access = request_access(request)
    access.require(perm, community_id)
    community = cached_with_access(
        access, f"community:{community_id}", lambda: Community.objects.filter(pk=community_id).first(), per_user=False
    )
    if community is None:
        raise NotFound()
    with community_scope(community_id):
        yield community


@contextmanager
def resident_scope(request: HttpRequest) -> Iterator[set[int]]:
    """The scope of the communities the caller currently lives in (possibly none)."""
    community_ids = set(request_access(request).resident_community_ids)
    with community_scope(sorted(community_ids)):
        yield community_ids


def get_or_404(
    queryset: models.QuerySet[ModelT] | type[ModelT], pk: int, *, field: str | None = None, **filters: Any
) -> ModelT:
    """One object by id, from the active scope for tenant models, or :class:`NotFound` (404) — never
    another tenant's. ``field`` names the body field the id came from, for the error."""
    manager = queryset if isinstance(queryset, models.QuerySet) else queryset.objects  # type: ignore[attr-defined]
    obj = manager.filter(pk=pk, **filters).first()
    if obj is None:
        raise NotFound(field=field)
    return obj
