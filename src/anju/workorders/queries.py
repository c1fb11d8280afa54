"""Reads shared by the console pages and the API: the filtered list, the board, a resident's orders.

The list and the board are the hot reads (benchmarked in ``bench/workorders.py``): both run on the
``(community, state, created_at)`` and ``(community, created_at)`` indexes, the board with one
grouped count and one small query per column instead of loading every open order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from anju.core.models import User
from anju.workorders.models import BOARD_STATES, OPEN_STATES, State, WorkOrder
from anju.workorders.models.orders import WorkOrderQuerySet


def filter_orders(
    orders: QuerySet[WorkOrder],
    *,
    state: str | None = None,
    category: str | None = None,
    priority: str | None = None,
    kind: str | None = None,
    assignee_id: int | None = None,
    building_id: int | None = None,
    overdue: bool | None = None,
    q: str | None = None,
    **_ignored: Any,
) -> QuerySet[WorkOrder]:
    """Narrow ``orders`` by the list's filters; unknown values simply match nothing."""
    if state == "open":
        orders = orders.filter(state__in=OPEN_STATES)
    elif state:
        orders = orders.filter(state=state)
    if category:
        orders = orders.filter(category__code=category)
    if priority:
        orders = orders.filter(priority=priority)
    if kind:
        orders = orders.filter(kind=kind)
    if assignee_id:
        orders = orders.filter(assignee_id=assignee_id)
    if building_id:
        orders = orders.filter(building_id=building_id)
    if overdue:
        now = timezone.now()
        orders = orders.filter(state__in=OPEN_STATES).filter(
            Q(response_due_at__lt=now, started_at__isnull=True) | Q(resolution_due_at__lt=now)
        )
    if q:
        q = q.strip().lstrip("#")
        if q.isdigit():
            orders = orders.filter(Q(pk=int(q)) | Q(description__icontains=q))
        else:
            orders = orders.filter(description__icontains=q)
    return orders.order_by("-created_at", "-id")


@dataclass
class Column:
    state: str
    label: Any
    count: int
    orders: list[WorkOrder] = field(default_factory=list)


def board_columns(orders: QuerySet[WorkOrder], *, per_column: int = 20, mine: User | None = None) -> list[Column]:
    """The staff board: a column per state still in play, each with its count and its oldest
    ``per_column`` orders (the ones most at risk of missing their deadline).

    Three reads whatever the number of columns: the counts (one grouped query), the card ids (on
    PostgreSQL one ``UNION ALL`` of a ``LIMIT`` index scan per state; elsewhere one small query per
    state) and the cards themselves with what they show (:meth:`WorkOrderQuerySet.for_board`)."""
    if mine is not None:
        orders = orders.filter(assignee=mine)
    counts = dict(orders.filter(state__in=BOARD_STATES).values_list("state").annotate(n=Count("pk")).order_by())
    busy = [state for state in BOARD_STATES if counts.get(state)]
    pieces = [
        orders.filter(state=state).order_by("created_at", "id").values_list("pk", flat=True)[:per_column]
        for state in busy
    ]
    ids: list[int] = []
    if pieces and connection.features.supports_slicing_ordering_in_compound:
        ids = list(pieces[0].union(*pieces[1:], all=True))
    else:
        for piece in pieces:
            ids.extend(piece)
    by_state: dict[str, list[WorkOrder]] = {state: [] for state in BOARD_STATES}
    for order in cast(WorkOrderQuerySet, orders).for_board().filter(pk__in=ids).order_by("created_at", "id"):
        by_state[order.state].append(order)
    return [
        Column(state=state, label=State(state).label, count=counts.get(state, 0), orders=by_state[state])
        for state in BOARD_STATES
    ]


def orders_of_resident(user: User) -> QuerySet[WorkOrder]:
    """What ``user`` reported, and what was filed for a home they live in now (within the active
    resident scope)."""
    from anju.residents.models import Occupancy

    homes = Occupancy.objects.current().filter(person__user=user).values("home_id")
    return WorkOrder.objects.for_board().filter(Q(reporter=user) | Q(home_id__in=homes)).order_by("-created_at", "-id")
