"""Limit/offset pagination evaluated inside the handler's scope.

ninja's ``@paginate`` slices the queryset lazily and serialises after the handler has returned,
i.e. after ``community_scope`` has closed, which scoped managers rightly refuse. So handlers call
:func:`paginate` inside the scope and return a ready :class:`Page`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db import models
from ninja import Field, Schema

ItemT = TypeVar("ItemT")
RowT = TypeVar("RowT")

DEFAULT_LIMIT: int = getattr(settings, "NINJA_PAGINATION_PER_PAGE", 50)
MAX_LIMIT: int = getattr(settings, "NINJA_PAGINATION_MAX_LIMIT", 500)
# Far beyond any real list, and well inside a 64-bit OFFSET on every database.
MAX_OFFSET = 1_000_000_000


class PageQuery(Schema):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="How many items to return.")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="How many items to skip.")


class Page(Schema, Generic[ItemT]):
    items: list[ItemT]
    count: int = Field(description="How many items match in total, across all pages.")


def paginate(
    rows: models.QuerySet[Any] | Sequence[RowT], page: PageQuery, convert: Callable[[Any], ItemT]
) -> Page[ItemT]:
    """One page of ``rows`` converted item by item, with the total count."""
    count = rows.count() if isinstance(rows, models.QuerySet) else len(rows)
    window = rows[page.offset : page.offset + page.limit]
    return Page[ItemT](items=[convert(row) for row in window], count=count)
