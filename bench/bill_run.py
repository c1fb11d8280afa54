"""Bill-run benchmark: one monthly run over the large demo (~95,000 homes) on PostgreSQL.

    python bench/bill_run.py [--database anju_billbench] [--period 2026-10] [--workers 1]

Steps: create the database if missing, migrate, seed the large demo once (a few minutes; reused by
later runs), then — untimed — empty the billing and payments tables (TRUNCATE: the ledger refuses
DELETE) and set up every demo community as a finance clerk would: a property fee per m² for every
home, a parking fee for ~30% of homes (one leased space each), tiered water and flat electricity
prices, one water and one electricity meter per home, each with an opening and a closing reading.

Timed: the monthly run of every community — computing each home's lines, writing bills and lines
(COPY), posting the ledger entries (receivable per home, income per account, hash chain) and
advancing the run's progress — exactly what ``anju`` does when finance presses "issue". With
``--workers N`` the communities' runs go to N processes at once (as N Celery workers would take
them); the default is one process, one community after the other.

Floor, in the same process run: a raw COPY of the same bill and line rows into tables built LIKE
the real ones (same columns, constraints and indexes), nothing else. The last line is::

    BENCH bill_run homes=… seconds=… bills_per_s=… raw_seconds=… ratio=…

where ``ratio`` = raw_seconds / seconds (1.0 would mean the run costs no more than writing its rows).
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


def ensure_database(name: str) -> str:
    url = f"postgres://postgres@{HOST}:5432/{name}"
    exists = subprocess.run(
        ["psql", "-h", HOST, "-U", "postgres", "-Atc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if not exists:
        subprocess.run(["psql", "-h", HOST, "-U", "postgres", "-c", f"CREATE DATABASE {name}"], check=True)
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="anju_billbench")
    parser.add_argument("--period", default="2026-10")
    parser.add_argument("--seed", type=int, default=20261001)
    parser.add_argument(
        "--workers", type=int, default=1, help="issue the communities' runs in this many processes at once"
    )
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = ensure_database(args.database)
    os.environ.setdefault("ANJU_DATA_DIR", "/tmp/bill-bench-data")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anju.settings")
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from anju.estates.models import Community

    if not Community.objects.filter(code__startswith="demo-").exists():
        print("seeding the large demo (takes a few minutes) …", flush=True)
        call_command("seed_demo", size="large")
    run(dt.date.fromisoformat(args.period + "-01"), random.Random(args.seed), args.workers)


def prepare(period: dt.date, rng: random.Random) -> list[int]:
    """Untimed: empty billing, then tariffs, leases, meters and readings for every demo community."""
    from django.db import connection, transaction

    from anju.billing.bulk import insert_rows, reserve_ids
    from anju.billing.models import FeeItem, Meter, ParkingLease, Reading, Tariff
    from anju.core.tenancy import scopes_disabled
    from anju.estates.models import Community, Home, ParkingSpace

    # Payments too: they point at ledger entries, and verify_ledger checks each one is posted.
    billing_tables = [model._meta.db_table for label in ("billing", "payments") for model in django_models(label)]
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE " + ", ".join(billing_tables) + " CASCADE")
    first = period
    opening_day = first - dt.timedelta(days=1)
    closing_day = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    community_ids = []
    with scopes_disabled(), transaction.atomic():
        for community in Community.objects.filter(code__startswith="demo-").order_by("pk"):
            cid = community.pk
            community_ids.append(cid)
            start = dt.date(2020, 1, 1)
            specs = [
                ("property", "物业费", "property_fee", "per_area", "", "2.3500", []),
                ("parking", "停车管理费", "parking", "per_space", "", "150", []),
                (
                    "water",
                    "水费",
                    "water",
                    "metered",
                    "water",
                    "3.45",
                    [
                        {"up_to": "20", "price": "3.45"},
                        {"up_to": "30", "price": "4.83"},
                        {"up_to": None, "price": "10.35"},
                    ],
                ),
                ("power", "电费", "electricity", "metered", "electricity", "0.5880", []),
            ]
            for code, name, kind, basis, meter_kind, price, tiers in specs:
                item = FeeItem.objects.create(
                    community_id=cid, code=code, name=name, kind=kind, basis=basis, meter_kind=meter_kind
                )
                Tariff.objects.create(
                    community_id=cid, fee_item=item, valid_from=start, price=Decimal(price), tiers=tiers
                )
            homes = list(Home.objects.filter(community_id=cid).order_by("pk").values_list("pk", flat=True))
            spaces = list(ParkingSpace.objects.filter(community_id=cid).order_by("pk").values_list("pk", flat=True))
            lessees = rng.sample(homes, min(len(spaces), int(len(homes) * 0.3)))
            insert_rows(
                ParkingLease,
                ("community_id", "space_id", "home_id", "starts_on", "created_at"),
                (
                    (cid, space, home, start, dt.datetime.now(dt.UTC))
                    for space, home in zip(spaces, lessees, strict=False)
                ),
            )
            meter_ids = reserve_ids(Meter, 2 * len(homes))
            insert_rows(
                Meter,
                ("id", "community_id", "kind", "code", "home_id", "installed_on"),
                (
                    (meter_ids[2 * i + k], cid, kind, f"{kind[0].upper()}{home}", home, start)
                    for i, home in enumerate(homes)
                    for k, kind in enumerate(("water", "electricity"))
                ),
            )
            insert_rows(
                Reading,
                ("community_id", "meter_id", "read_on", "value", "source", "status", "flag", "entered_at"),
                reading_rows(cid, meter_ids, opening_day, closing_day, rng),
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return community_ids


def reading_rows(
    community_id: int, meter_ids: list[int], opening_day: dt.date, closing_day: dt.date, rng: random.Random
) -> Iterator[tuple[object, ...]]:
    """An opening and a closing reading per meter: water (even positions) 3-45 m³ a month,
    electricity (odd positions) 80-400 kWh."""
    now = dt.datetime.now(dt.UTC)
    for index, meter in enumerate(meter_ids):
        base = Decimal(rng.randint(100, 5000))
        used = Decimal(rng.randint(300, 4500) if index % 2 == 0 else rng.randint(8000, 40000)) / 100
        yield (community_id, meter, opening_day, base, "import", "ok", "", now)
        yield (community_id, meter, closing_day, base + used, "import", "ok", "", now)


def django_models(label: str) -> list:
    from django.apps import apps

    return list(apps.get_app_config(label).get_models())


def _worker_setup(environ: dict[str, str]) -> None:
    os.environ.update(environ)
    sys.path.insert(0, str(ROOT / "src"))
    import django

    django.setup()


def _worker_ready(_index: int) -> None:
    from django.db import connection

    connection.ensure_connection()
    time.sleep(0.2)  # so that each worker process takes one of the warm-up calls


def _worker_issue(run_id: int) -> int:
    from anju.billing.billruns import process_bill_run

    return process_bill_run(run_id)


def run(period: dt.date, rng: random.Random, workers: int) -> None:
    from django.db import connection

    from anju.billing.billruns import process_bill_run
    from anju.billing.ledger import verify_ledger
    from anju.billing.models import Bill, BillLine, BillRun
    from anju.core.tenancy import scopes_disabled

    started = time.monotonic()
    community_ids = prepare(period, rng)
    print(f"prepared {len(community_ids)} communities in {time.monotonic() - started:.1f} s", flush=True)
    with scopes_disabled():
        runs = [
            BillRun.objects.create(
                community_id=cid, period=period, status=BillRun.Status.ISSUING, due_on=period + dt.timedelta(days=45)
            )
            for cid in community_ids
        ]
    if workers > 1:
        # One process per community, as Celery workers would issue them: started and warmed up (Django
        # loaded, a connection open) before the clock starts.
        context = multiprocessing.get_context("spawn")
        with context.Pool(workers, initializer=_worker_setup, initargs=(dict(os.environ),)) as pool:
            pool.map(_worker_ready, range(workers))
            t0 = time.monotonic()
            pool.map(_worker_issue, [bill_run.pk for bill_run in runs])
            seconds = time.monotonic() - t0
    else:
        t0 = time.monotonic()
        for bill_run in runs:
            process_bill_run(bill_run.pk)
        seconds = time.monotonic() - t0

    with scopes_disabled():
        bills = Bill.objects.count()
        lines = BillLine.objects.count()
        homes = sum(BillRun.objects.filter(pk__in=[r.pk for r in runs]).values_list("home_count", flat=True))
    print(f"issued {bills} bills with {lines} lines in {seconds:.2f} s", flush=True)
    t_verify = time.monotonic()
    problems = [problem for cid in community_ids for problem in verify_ledger(cid)]
    print(f"verify_ledger: {len(problems)} problem(s) in {time.monotonic() - t_verify:.1f} s", flush=True)
    if problems:
        print("\n".join(problems[:10]))
        sys.exit(1)

    # The floor: the same rows, COPYed into tables LIKE the real ones, nothing computed or posted.
    bill_cols = [f.column for f in Bill._meta.concrete_fields]
    line_cols = [f.column for f in BillLine._meta.concrete_fields]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(bill_cols)} FROM billing_bill")
        bill_rows = cursor.fetchall()
        cursor.execute(f"SELECT {', '.join(line_cols)} FROM billing_billline")
        line_rows = cursor.fetchall()
        for table in ("billing_bill", "billing_billline"):
            cursor.execute(f"DROP TABLE IF EXISTS bench_{table}")
            cursor.execute(f"CREATE TABLE bench_{table} (LIKE {table} INCLUDING ALL)")
    connection.commit() if not connection.get_autocommit() else None
    t1 = time.monotonic()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        for table, cols, rows in (
            ("bench_billing_bill", bill_cols, bill_rows),
            ("bench_billing_billline", line_cols, line_rows),
        ):
            with raw.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
    raw_seconds = time.monotonic() - t1
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_billing_bill, bench_billing_billline")
    print(f"raw COPY of {len(bill_rows)} bills and {len(line_rows)} lines: {raw_seconds:.2f} s", flush=True)
    print(
        f"BENCH bill_run homes={homes} seconds={seconds:.2f} bills_per_s={bills / seconds:.0f} "
        f"raw_seconds={raw_seconds:.2f} ratio={raw_seconds / seconds:.2f} workers={workers}"
    )


if __name__ == "__main__":
    main()
