"""Work-order benchmark: the staff list and board and one SLA sweep over a year of orders.

    .venv/bin/python bench/workorders.py [--database anju_wobench] [--orders 100000] [--rounds 200]

Setup (untimed, kept between runs): the large demo in a dedicated PostgreSQL database (``anju
seed_demo --size large``, a few minutes the first time), then a year of work orders generated in
bulk to ``--orders`` (about 10% still open, spread over the three communities by number of homes and
over the year, in every category, priority and state, with the deadlines of their SLA policies; the
open ones older than their deadlines already escalated, as they would be in a running system).

Timed, each the p95 of ``--rounds`` runs inside the community's scope, as the API handlers run them
(queries plus building the response rows):

* ``list_p95_ms``: ``GET /communities/{id}/workorders`` — one random filter (none, a state, open,
  a category, a technician, overdue, a search by number) and page 1 of 50 with the total count;
* ``board_p95_ms``: ``GET /communities/{id}/workorders/board`` — counts per state and the 20
  oldest cards of each column;
* ``sweep_s``: one ``workorders.sla_sweep`` over every community, after un-escalating 100 overdue
  open orders so that the run has real escalations to make (events, audit rows, notifications).

Last line: ``BENCH workorders orders=… open=… list_p95_ms=… board_p95_ms=… sweep_s=… escalated=…``.
Targets (issue 3): list and board p95 ≤ 50 ms, sweep ≤ 1 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="anju_wobench")
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument(
        "--favour",
        action="store_true",
        help="raise this process's and its PostgreSQL backend's CPU priority (root only), to approximate an idle "
        "machine when others share it",
    )
    args = parser.parse_args()
    os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{args.database}")
    os.environ.setdefault("ANJU_DATA_DIR", "/tmp/anju-wobench-data")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anju.settings")
    os.environ.pop("REDIS_URL", None)  # the periodic path without Celery; the sweep is the same function
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("bench/workorders.py measures PostgreSQL: set DATABASE_URL to a PostgreSQL database")
    call_command("migrate", verbosity=0)
    from anju.core.demo.seed import demo_present, seed_demo

    if not demo_present():
        print("seeding the large demo (a few minutes, once)…", flush=True)
        seed_demo("large", out=lambda line: None)
    generate(args.orders)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE workorders_workorder")
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    if args.favour:
        import subprocess

        os.nice(-10)
        subprocess.run(["renice", "-n", "-10", "-p", str(backend)], check=True, capture_output=True)
    measure(args.rounds)


def generate(target: int) -> None:
    """Bulk-insert orders until the database holds ``target`` of them (idempotent between runs)."""
    from django.db import transaction

    from anju.core.models import Role
    from anju.core.permissions import staff_with_role
    from anju.core.tenancy import scopes_disabled
    from anju.estates.models import Community, Home
    from anju.workorders import sla
    from anju.workorders.models import OPEN_STATES, Category, Priority, State, WorkOrder
    from anju.workorders.services import ensure_defaults

    with scopes_disabled():
        existing = WorkOrder.objects.count()
        if existing >= target:
            return
        rng = random.Random(20261124)
        now = dt.datetime.now(dt.UTC)
        communities = list(Community.objects.order_by("pk"))
        homes = {c.pk: list(Home.objects.filter(community=c).values_list("pk", "building_id")) for c in communities}
        total_homes = sum(len(h) for h in homes.values()) or 1
        started = time.monotonic()
        for community in communities:
            ensure_defaults(community)
            categories = list(Category.objects.filter(community=community))
            techs = [u.pk for u in staff_with_role(community.pk, Role.TECHNICIAN)] or [None]
            policies = {(c.pk, p): sla.policy_for(c, p, now) for c in categories for p in Priority.values}
            share = round((target - existing) * len(homes[community.pk]) / total_homes)
            closed_states = [State.CLOSED] * 85 + [State.CONFIRMED] * 5 + [State.CANCELLED] * 5 + [State.REJECTED] * 5
            open_states = [s for s in OPEN_STATES]
            batch: list[WorkOrder] = []
            for index in range(share):
                category = rng.choice(categories)
                priority = category.default_priority if rng.random() < 0.8 else rng.choice(Priority.values)
                is_open = rng.random() < 0.10
                if is_open:
                    # Open orders are recent: most from the last week, a tail over the last month.
                    created = now - dt.timedelta(minutes=rng.expovariate(1 / (3 * 24 * 60)) % (30 * 24 * 60))
                    state = rng.choice(open_states)
                else:
                    created = now - dt.timedelta(minutes=rng.uniform(60 * 24 * 7, 60 * 24 * 365))
                    state = rng.choice(closed_states)
                policy = policies[(category.pk, priority)]
                response_due = created + dt.timedelta(minutes=policy.response_minutes) if policy else None
                resolution_due = created + dt.timedelta(minutes=policy.resolution_minutes) if policy else None
                home_id, building_id = rng.choice(homes[community.pk]) if homes[community.pk] else (None, None)
                started_at = (
                    created + dt.timedelta(minutes=rng.uniform(5, 240))
                    if state
                    not in (
                        State.SUBMITTED,
                        State.ACCEPTED,
                        State.ASSIGNED,
                        State.RETURNED,
                        State.REOPENED,
                        State.TRANSFERRED,
                        State.CANCELLED,
                        State.REJECTED,
                    )
                    else None
                )
                resolved_at = (
                    started_at + dt.timedelta(minutes=rng.uniform(20, 3000))
                    if started_at
                    and state
                    in (
                        State.RESOLVED,
                        State.CONFIRMED,
                        State.CLOSED,
                    )
                    else None
                )
                overdue_response = is_open and started_at is None and response_due and response_due < now
                overdue_resolution = is_open and state != State.PAUSED and resolution_due and resolution_due < now
                assignee = (
                    rng.choice(techs)
                    if state not in (State.SUBMITTED, State.ACCEPTED, State.RETURNED, State.REOPENED, State.REJECTED)
                    else None
                )
                batch.append(
                    WorkOrder(
                        community_id=community.pk,
                        kind="repair" if rng.random() < 0.8 else rng.choice(["complaint", "suggestion", "enquiry"]),
                        category_id=category.pk,
                        priority=priority,
                        state=state,
                        source="resident" if rng.random() < 0.7 else "staff",
                        description=f"基准测试工单 {index}",
                        home_id=home_id if category.code not in ("public_area", "greenery", "lift") else None,
                        building_id=building_id,
                        assignee_id=assignee,
                        created_at=created,
                        updated_at=resolved_at or started_at or created,
                        accepted_at=created + dt.timedelta(minutes=3) if state != State.SUBMITTED else None,
                        started_at=started_at,
                        resolved_at=resolved_at,
                        closed_at=resolved_at + dt.timedelta(days=2) if resolved_at and state == State.CLOSED else None,
                        response_due_at=response_due,
                        resolution_due_at=resolution_due,
                        sla_policy=policy,
                        response_escalated_at=response_due if overdue_response else None,
                        resolution_escalated_at=resolution_due if overdue_resolution else None,
                        rating=rng.choice([5, 5, 5, 4, 4, 3, 2, 1])
                        if state == State.CLOSED and rng.random() < 0.6
                        else None,
                    )
                )
                if len(batch) == 5000:
                    with transaction.atomic():
                        WorkOrder.objects.bulk_create(batch)
                    batch = []
            with transaction.atomic():
                WorkOrder.objects.bulk_create(batch)
        print(
            f"generated {WorkOrder.objects.count() - existing} orders in {time.monotonic() - started:.1f} s", flush=True
        )


def measure(rounds: int) -> None:
    from django.urls import reverse

    from anju.api.pagination import PageQuery, paginate
    from anju.core.tenancy import community_scope, scopes_disabled
    from anju.estates.models import Community
    from anju.workorders.api import BOARD_CARDS, OrderOut
    from anju.workorders.models import OPEN_STATES, State, WorkOrder
    from anju.workorders.queries import board_columns, filter_orders
    from anju.workorders.services import sweep_overdue

    rng = random.Random(7)
    communities = list(Community.objects.order_by("pk"))
    with scopes_disabled():
        total = WorkOrder.objects.count()
        open_count = WorkOrder.objects.filter(state__in=OPEN_STATES).count()
        assignees = {
            c.pk: list(
                WorkOrder.objects.filter(community=c, assignee__isnull=False)
                .values_list("assignee_id", flat=True)
                .distinct()[:10]
            )
            for c in communities
        }
        sample_ids = {
            c.pk: list(WorkOrder.objects.filter(community=c).values_list("pk", flat=True)[:50]) for c in communities
        }

    def random_filter(community_id: int) -> dict[str, object]:
        choice = rng.randrange(8)
        if choice == 0:
            return {}
        if choice == 1:
            return {"state": rng.choice(State.values)}
        if choice == 2:
            return {"state": "open"}
        if choice == 3:
            return {"category": rng.choice(["water", "electricity", "lift", "public_area", "noise"])}
        if choice == 4 and assignees[community_id]:
            return {"assignee_id": rng.choice(assignees[community_id])}
        if choice == 5:
            return {"overdue": True}
        if choice == 6 and sample_ids[community_id]:
            return {"q": str(rng.choice(sample_ids[community_id]))}
        return {"state": "open", "category": rng.choice(["water", "noise"])}

    page = PageQuery(limit=50, offset=0)
    list_ms: list[float] = []
    board_ms: list[float] = []
    for round_index in range(rounds + 10):
        community = rng.choice(communities)
        with community_scope(community.pk):
            filters = random_filter(community.pk)
            t0 = time.perf_counter()
            result = paginate(filter_orders(WorkOrder.objects.for_board(), **filters), page, OrderOut.of)
            t1 = time.perf_counter()
            columns = board_columns(WorkOrder.objects.all(), per_column=BOARD_CARDS)
            [OrderOut.of(order) for column in columns for order in column.orders]
            t2 = time.perf_counter()
        assert result.count >= 0
        if round_index >= 10:  # the first rounds warm the connection and the caches
            list_ms.append((t1 - t0) * 1000)
            board_ms.append((t2 - t1) * 1000)

    # The sweep: make 100 overdue open orders escalate again, then one run over every community.
    with scopes_disabled():
        overdue = list(
            WorkOrder.objects.filter(
                state__in=OPEN_STATES, response_escalated_at__isnull=False, started_at__isnull=True
            )
            .order_by("-created_at")
            .values_list("pk", flat=True)[:100]
        )
        WorkOrder.objects.filter(pk__in=overdue).update(response_escalated_at=None)
    # A worker that has run before has its URLconf loaded (notifications link to the order page).
    reverse("console:workorders_board", args=[communities[0].pk])
    t0 = time.perf_counter()
    escalated = sweep_overdue()
    sweep_s = time.perf_counter() - t0
    print(
        f"list p50 {statistics.median(list_ms):.1f} ms, board p50 {statistics.median(board_ms):.1f} ms, "
        f"sweep escalated {escalated} in {sweep_s:.2f} s",
        flush=True,
    )
    # Wall-clock figures depend on what else the machine runs: the load average says how busy it was.
    load = os.getloadavg()[0]
    print(
        f"BENCH workorders orders={total} open={open_count} list_p95_ms={p95(list_ms):.1f} "
        f"board_p95_ms={p95(board_ms):.1f} sweep_s={sweep_s:.2f} escalated={escalated} "
        f"load={load:.1f} cpus={os.cpu_count()}"
    )


if __name__ == "__main__":
    main()
