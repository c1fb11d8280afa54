"""Service-quality figures over work orders, for dashboards and the later insights issue.

``quality(orders, by=...)`` groups a queryset of orders by category, technician or community and
returns, per group: how many orders, how many rated, the average rating and the share rated 4-5
(satisfaction), response time (report → work started) and resolution time (report → resolved)
p50/p90 in minutes, and the first-time-fix rate (resolved orders never reopened by a dispute).

Percentiles use the nearest-rank method (the smallest value with at least p% of values at or
below it), computed in Python from one narrow query, identically on SQLite and PostgreSQL. The
caller chooses the period and the scope by filtering the queryset first (e.g. one quarter of one
community inside ``community_scope``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from anju.workorders.models import WorkOrder

DIMENSIONS = {
    "category": ("category_id", "category__name"),
    "technician": ("assignee_id", "assignee__username"),
    "community": ("community_id", "community__name"),
    "kind": ("kind", "kind"),
}


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile of ``values`` (unsorted is fine); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Quality:
    key: Any
    label: str
    orders: int = 0
    rated: int = 0
    average_rating: float | None = None
    satisfied_percent: float | None = None
    response_p50_minutes: float | None = None
    response_p90_minutes: float | None = None
    resolution_p50_minutes: float | None = None
    resolution_p90_minutes: float | None = None
    resolved: int = 0
    first_time_fix_percent: float | None = None


def quality(orders: QuerySet[WorkOrder], *, by: str = "category") -> list[Quality]:
    """One :class:`Quality` per group, largest first."""
    key_field, label_field = DIMENSIONS[by]
    rows = orders.values_list(
        key_field, label_field, "created_at", "started_at", "resolved_at", "rating", "reopen_count", "state"
    )
    groups: dict[Any, dict[str, Any]] = defaultdict(
        lambda: {"label": "", "n": 0, "ratings": [], "response": [], "resolution": [], "resolved": 0, "ftf": 0}
    )
    resolved_states = {"resolved", "confirmed", "closed"}
    for key, label, created, started, resolved_at, rating, reopens, state in rows:
        group = groups[key]
        group["label"] = str(label or key or "")
        group["n"] += 1
        if rating is not None:
            group["ratings"].append(rating)
        if started is not None:
            group["response"].append((started - created).total_seconds() / 60)
        if resolved_at is not None:
            group["resolution"].append((resolved_at - created).total_seconds() / 60)
        if state in resolved_states:
            group["resolved"] += 1
            if reopens == 0:
                group["ftf"] += 1
    result = []
    for key, group in groups.items():
        ratings = group["ratings"]
        result.append(
            Quality(
                key=key,
                label=group["label"],
                orders=group["n"],
                rated=len(ratings),
                average_rating=round(sum(ratings) / len(ratings), 2) if ratings else None,
                satisfied_percent=round(100 * sum(1 for r in ratings if r >= 4) / len(ratings), 1) if ratings else None,
                response_p50_minutes=_round(percentile(group["response"], 50)),
                response_p90_minutes=_round(percentile(group["response"], 90)),
                resolution_p50_minutes=_round(percentile(group["resolution"], 50)),
                resolution_p90_minutes=_round(percentile(group["resolution"], 90)),
                resolved=group["resolved"],
                first_time_fix_percent=round(100 * group["ftf"] / group["resolved"], 1) if group["resolved"] else None,
            )
        )
    return sorted(result, key=lambda q: (-q.orders, str(q.label)))


def _round(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None
