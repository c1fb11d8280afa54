"""Tenant scoping that fails loudly.

Tenant rows carry ``community_id``. Their default manager comes from :func:`scoped_manager`: inside
``with community_scope(ids)`` it filters to those communities; outside any scope every query raises
``django_scopes.ScopeError``. So a view that forgot to check which community it serves cannot list
another community's homes: it crashes in development and in tests instead.

The permission layer (:mod:`anju.core.permissions`) decides which community ids a request may use
and is the only code that opens a scope; management commands and the seeder open one explicitly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import models
from django_scopes import ScopedManager, scope, scopes_disabled

__all__ = ["community_scope", "scoped_manager", "scopes_disabled"]


def scoped_manager(queryset_class: type[models.QuerySet[Any]] | None = None) -> Any:
    base = models.Manager.from_queryset(queryset_class) if queryset_class else models.Manager
    return ScopedManager(_manager_class=base, community="community_id")


@contextmanager
def community_scope(community_ids: int | Iterable[int]) -> Iterator[None]:
    """Activate a scope on one community or a list of them. An empty list matches nothing."""
    if isinstance(community_ids, int):
        value: Any = community_ids
    else:
        value = list(community_ids)
    if value is None:
        raise ValueError("a community scope needs ids; use scopes_disabled() deliberately instead")
    with scope(community=value):
        yield
