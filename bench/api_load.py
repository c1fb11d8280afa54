"""API and page load benchmark: gunicorn over the medium demo on PostgreSQL, driven from 127.0.0.1.

    python bench/api_load.py [--duration 60] [--users 50] [--size medium] [--workers 4 --threads 4]

Steps: (re)create the database ``anju_bench``, migrate, seed the demo, count the queries each page
makes (in-process, so a slow page can be explained), start gunicorn with DEBUG off on a free port,
then a separate load-generator process pool logs every virtual user in (residents by mobile number,
staff by user name, each with its own session cookie and keep-alive connection) and drives the mix
for ``--duration`` seconds, then the trivial ``/health`` endpoint with the same concurrency. Any
response other than 200 is an error and is reported. The last line is::

    BENCH api_load rps=… p95_ms=… p99_ms=… health_rps=… ratio=…

where ``ratio`` is mixed rps / health rps. See docs/benchmarks.md for the machine and the figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import multiprocessing as mp
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

HOST = "127.0.0.1"  # the only host this script ever talks to
ROOT = Path(__file__).resolve().parent.parent
MAX_REQUESTS_PER_USER = 1_000_000  # a hard bound on every request loop, besides the deadline
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


# --- what each virtual user does -----------------------------------------------------------------
@dataclass
class UserPlan:
    """One virtual user: how to log in and which pages to cycle through (path, label)."""

    login: str
    password: str
    pages: list[tuple[str, str]]


@dataclass
class Result:
    latencies_ms: list[float] = field(default_factory=list)  # successful (200) responses only
    ok_by_label: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    login_failures: int = 0
    client_cpu_s: float = 0.0  # CPU the load generator itself used, to show it was not the bottleneck


class Session:
    """A keep-alive HTTP/1.1 connection with its own cookie jar, like one browser tab."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection(HOST, port, timeout=30)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, dict[str, str], bytes]:
        headers = {"Host": f"{HOST}:{self.port}", "Connection": "keep-alive"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()  # the next request reconnects
            raise
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                cookie = value.split(";", 1)[0]
                key, _, val = cookie.partition("=")
                self.cookies[key.strip()] = val.strip()
        if response.getheader("Connection", "").lower() == "close":
            self.conn.close()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data

    def log_in(self, login: str, password: str) -> bool:
        status, _headers, page = self.request("GET", "/login/")
        match = CSRF_INPUT.search(page.decode("utf-8", "replace"))
        if status != 200 or match is None:
            return False
        form = urlencode({"csrfmiddlewaretoken": match.group(1), "username": login, "password": password})
        status, headers, _body = self.request("POST", "/login/", form)
        return status == 302 and "sessionid" in self.cookies and "/login/" not in headers.get("location", "")


def _drive(session: Session, pages: list[tuple[str, str]], deadline: float, result: Result, seed: int) -> None:
    rng = random.Random(seed)
    order = pages[:]
    for count in range(MAX_REQUESTS_PER_USER):
        if time.monotonic() >= deadline:
            break
        path, label = order[count % len(order)]
        if count % len(order) == 0:
            rng.shuffle(order)
        started = time.perf_counter()
        try:
            status, _headers, _body = session.request("GET", path)
        except (OSError, http.client.HTTPException) as exc:
            result.errors[f"{label}: {type(exc).__name__}"] += 1
            continue
        elapsed = (time.perf_counter() - started) * 1000
        if status == 200:
            result.latencies_ms.append(elapsed)
            result.ok_by_label[label] += 1
        else:
            result.errors[f"{label}: HTTP {status}"] += 1


def load_process(
    port: int,
    users: list[UserPlan],
    duration: float,
    ready: Any,  # multiprocessing Barrier proxies
    health_ready: Any,
    out: Any,  # multiprocessing Queue of (phase, seconds, Result)
    seed: int,
) -> None:
    """One load-generator process: a thread per virtual user, the mix, then /health."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    sessions = [Session(port) for _ in users]
    results = [Result() for _ in users]
    for session, user, result in zip(sessions, users, results, strict=True):
        try:
            if not session.log_in(user.login, user.password):
                result.login_failures += 1
        except (OSError, http.client.HTTPException):
            result.login_failures += 1
    for phase, barrier, pages_of in (
        ("mix", ready, lambda u: u.pages),
        ("health", health_ready, lambda u: [("/health", "health")]),
    ):
        barrier.wait()
        deadline = time.monotonic() + duration
        phase_results = [Result() for _ in users]
        threads = [
            threading.Thread(target=_drive, args=(s, pages_of(u), deadline, r, seed * 1000 + i), daemon=True)
            for i, (s, u, r) in enumerate(zip(sessions, users, phase_results, strict=True))
        ]
        started, cpu_started = time.monotonic(), time.process_time()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=duration + 60)
        merged = Result(
            login_failures=sum(r.login_failures for r in results) if phase == "mix" else 0,
            client_cpu_s=time.process_time() - cpu_started,
        )
        for r in phase_results:
            merged.latencies_ms += r.latencies_ms
            merged.ok_by_label.update(r.ok_by_label)
            merged.errors.update(r.errors)
        out.put((phase, time.monotonic() - started, merged))


# --- setting up the server -------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _run(cmd: list[str], env: dict[str, str]) -> None:
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, env=env, cwd=ROOT, check=True)


def _recreate_database(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def _wait_for(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not answer on port {port} within {timeout:.0f} s")


def plan_users(count: int, residents_share: float) -> tuple[list[UserPlan], list[str]]:
    """Choose the virtual users from the seeded demo (Django must be set up)."""
    from django.urls import reverse

    from anju.core.crypto import decrypt
    from anju.core.demo import DEMO_PASSWORD
    from anju.core.demo.plan import HIGHRISE, NEW, WALKUP
    from anju.core.tenancy import scopes_disabled
    from anju.estates.models import Building, Community
    from anju.residents.models import Occupancy

    rng = random.Random(42)
    resident_count = round(count * residents_share)
    plans: list[UserPlan] = []
    with scopes_disabled():
        occupancies = list(
            Occupancy.objects.current()
            .filter(person__user__isnull=False, person__user__is_active=True)
            .select_related("person__user")
            .order_by("person__user_id", "home_id")
        )
        by_user: dict[int, tuple[str, int]] = {}
        for occ in occupancies:
            by_user.setdefault(occ.person.user_id, (decrypt(occ.person.user.phone_encrypted), occ.home_id))
        chosen = rng.sample(sorted(by_user.values()), min(resident_count, len(by_user)))
        for mobile, home_id in chosen:
            pages = [
                (reverse("portal:home"), "portal home"),
                (f"/api/v1/me/homes/{home_id}/household", "household API"),
            ]
            plans.append(UserPlan(mobile, DEMO_PASSWORD, pages))
        communities = {c.code: c for c in Community.objects.all()}
        staff = [("manager", [HIGHRISE.code, NEW.code]), ("hexie", [WALKUP.code])]
        for n in range(count - len(plans)):
            login, codes = staff[n % len(staff)]
            pages = []
            for code in codes:
                cid = communities[code].pk
                buildings = list(Building.objects.filter(community_id=cid).values_list("pk", flat=True))
                for building_id in rng.sample(buildings, min(3, len(buildings))):
                    query = urlencode({"building": building_id, "status": "occupied"})
                    pages.append((f"{reverse('console:homes', args=[cid])}?{query}", "console home list"))
                    api_query = urlencode({"building_id": building_id, "status": "occupied", "limit": 50})
                    pages.append((f"/api/v1/communities/{cid}/homes?{api_query}", "API home list"))
                    map_path = reverse("console:property_map", args=[cid, building_id])
                    pages.append((f"{map_path}?layer=occupancy", "property map"))
            plans.append(UserPlan(login, DEMO_PASSWORD, pages))
    return plans, [label for label in sorted({label for p in plans for _path, label in p.pages})]


def query_profile(users: list[UserPlan], repeats: int = 5) -> None:
    """Per page: status, queries, time in SQL and in total, in-process through Django's test client
    (DEBUG off), averaged over ``repeats`` warm requests. Explains where the load test's time goes."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    from anju.core.crypto import blind_index

    setup_test_environment()
    seen: set[str] = set()
    print(f"{'page':<20} {'status':>6} {'queries':>7} {'sql_ms':>7} {'total_ms':>8}  path")
    user_model = get_user_model()
    for user in users:
        account = user_model.objects.filter(phone_index=blind_index(user.login, purpose="phone")).first()
        account = account or user_model.objects.get(username=user.login)
        client = Client()
        client.force_login(account)
        for path, label in [*user.pages, ("/health", "health")]:
            if label in seen:
                continue
            seen.add(label)
            client.get(path)  # warm caches and connections once
            sql_seconds: list[float] = []

            def timed(
                execute: Any, sql: str, params: Any, many: bool, context: Any, log: list[float] = sql_seconds
            ) -> Any:
                started = time.perf_counter()
                try:
                    return execute(sql, params, many, context)
                finally:
                    log.append(time.perf_counter() - started)

            started = time.perf_counter()
            with connection.execute_wrapper(timed):
                for _ in range(repeats):
                    response = client.get(path)
            total_ms = (time.perf_counter() - started) * 1000 / repeats
            sql_ms = sum(sql_seconds) * 1000 / repeats
            queries = len(sql_seconds) // repeats
            print(f"{label:<20} {response.status_code:>6} {queries:>7} {sql_ms:>7.1f} {total_ms:>8.1f}  {path}")


def percentile(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per phase (mix, then /health)")
    parser.add_argument("--users", type=int, default=50, help="concurrent virtual users")
    parser.add_argument("--size", default="medium", choices=["small", "medium", "large"])
    parser.add_argument("--residents", type=float, default=0.6, help="share of users who are residents")
    parser.add_argument("--admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--database", default="anju_bench")
    parser.add_argument("--reuse", action="store_true", help="keep an existing bench database (skips the drop)")
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/3",
        help="the shared cache, as production runs with it (sessions, permissions); this Redis database "
        "is flushed first. '' runs without a cache",
    )
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (gthread)")
    parser.add_argument("--worker-class", default="gthread", choices=["gthread", "sync"])
    parser.add_argument("--client-procs", type=int, default=2, help="load-generator processes")
    args = parser.parse_args()

    data_dir = Path(tempfile.gettempdir()) / f"{args.database}-data"
    database_url = args.admin_url.rsplit("/", 1)[0] + "/" + args.database
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ANJU_DATA_DIR": str(data_dir),
        "ANJU_DEBUG": "0",
        "ANJU_LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "anju.settings",
        "REDIS_URL": args.redis_url,
    }
    if args.redis_url:
        import redis

        redis.Redis.from_url(args.redis_url).flushdb()  # the bench's own Redis database only
    if not args.reuse:
        _recreate_database(args.admin_url, args.database)
    anju = [sys.executable, "-m", "anju.manage"]
    _run([*anju, "migrate", "--noinput", "-v0"], env)
    started = time.monotonic()
    _run([*anju, "seed_demo", "--size", args.size, "--bulk"], env)
    print(f"seeded (or found) the {args.size} demo in {time.monotonic() - started:.1f} s", flush=True)

    os.environ.update(env)
    import django

    django.setup()
    users, labels = plan_users(args.users, args.residents)
    print(f"{len(users)} virtual users: {sum(1 for u in users if u.login.isdigit())} residents, rest staff")
    query_profile(users)
    from django.db import connections

    connections.close_all()

    port = _free_port()
    gunicorn = [
        sys.executable,
        "-m",
        "gunicorn",
        "anju.wsgi:application",
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(args.workers),
        "--worker-class",
        args.worker_class,
        "--threads",
        str(args.threads),
        "--keep-alive",
        "75",
        "--backlog",
        "512",
        "--log-level",
        "warning",
    ]
    print("$", " ".join(gunicorn[2:]), flush=True)
    server = subprocess.Popen(gunicorn, env=env, cwd=ROOT)
    try:
        _wait_for(port)
        outcome = _load(port, users, args.duration, args.client_procs, server.pid)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    return _report(outcome, labels, args)


def _cpu_ticks(server_pid: int) -> dict[str, int]:
    """Busy CPU ticks so far: the whole machine, gunicorn (master and workers) and PostgreSQL.

    PostgreSQL counts the postmaster, its live backends and the backends that already ended (the
    postmaster's reaped-children time), so connections recycled mid-phase are not lost; it covers
    every database on the server. Compared before and after a phase this shows whether something
    else was competing for the cores during the run (Linux /proc only; empty elsewhere)."""
    ticks = {"machine": 0, "gunicorn": 0, "postgres": 0}
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
        ticks["machine"] = user + nice + system + irq + softirq + steal
        processes: dict[int, tuple[str, int, list[str]]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                raw = stat.read_text()
            except OSError:  # the process ended while we looked
                continue
            rest = raw[raw.rindex(")") + 2 :].split()
            processes[int(stat.parent.name)] = (raw[raw.index("(") + 1 : raw.rindex(")")], int(rest[1]), rest)
        for pid, (comm, ppid, rest) in processes.items():
            used = int(rest[11]) + int(rest[12])
            if pid == server_pid or ppid == server_pid:
                ticks["gunicorn"] += used
            elif comm.startswith("postgres"):
                ticks["postgres"] += used
                if not processes.get(ppid, ("",))[0].startswith("postgres"):  # the postmaster
                    ticks["postgres"] += int(rest[13]) + int(rest[14])
    except (OSError, ValueError, IndexError):
        return {}
    return ticks


def _cpu_report(before: dict[str, int], after: dict[str, int], seconds: float, client_cpu_s: float) -> str:
    if not before or not after:
        return "CPU split: not available on this system"
    hz = os.sysconf("SC_CLK_TCK")
    used = {key: (after[key] - before[key]) / hz for key in before}
    other = used["machine"] - used["gunicorn"] - used["postgres"] - client_cpu_s
    capacity = seconds * (os.cpu_count() or 1)
    return (
        f"CPU used of {capacity:.0f} core-seconds: machine {used['machine']:.0f}, "
        f"gunicorn {used['gunicorn']:.0f}, postgres (all databases) {used['postgres']:.0f}, "
        f"load generator {client_cpu_s:.0f}, everything else {max(0.0, other):.0f}"
    )


def _load(
    port: int, users: list[UserPlan], duration: float, procs: int, server_pid: int
) -> dict[str, tuple[float, Result]]:
    ctx = mp.get_context("spawn")
    procs = max(1, min(procs, len(users)))
    ready, health_ready = ctx.Barrier(procs + 1), ctx.Barrier(procs + 1)
    out: mp.Queue[tuple[str, float, Result]] = ctx.Queue()
    shares = [users[i::procs] for i in range(procs)]
    children = [
        ctx.Process(target=load_process, args=(port, share, duration, ready, health_ready, out, n), daemon=True)
        for n, share in enumerate(shares)
    ]
    for child in children:
        child.start()
    outcome: dict[str, list[tuple[float, Result]]] = {"mix": [], "health": []}
    ticks: dict[str, tuple[dict[str, int], dict[str, int]]] = {}
    for phase, barrier in (("mix", ready), ("health", health_ready)):
        barrier.wait(timeout=300)  # every user has logged in / finished the previous phase
        print(f"driving {phase}: {len(users)} users for {duration:.0f} s ...", flush=True)
        before = _cpu_ticks(server_pid)
        for _ in children:
            got, elapsed, result = out.get(timeout=duration + 300)
            outcome[got].append((elapsed, result))
        ticks[phase] = (before, _cpu_ticks(server_pid))
    for child in children:
        child.join(timeout=30)
    merged: dict[str, tuple[float, Result]] = {}
    for phase, parts in outcome.items():
        total = Result()
        for _elapsed, part in parts:
            total.latencies_ms += part.latencies_ms
            total.ok_by_label.update(part.ok_by_label)
            total.errors.update(part.errors)
            total.login_failures += part.login_failures
            total.client_cpu_s += part.client_cpu_s
        merged[phase] = (max(elapsed for elapsed, _ in parts), total)
        print(f"{phase}: " + _cpu_report(*ticks[phase], merged[phase][0], total.client_cpu_s))
    return merged


def _report(outcome: dict[str, tuple[float, Result]], labels: list[str], args: argparse.Namespace) -> int:
    mix_seconds, mix = outcome["mix"]
    health_seconds, health = outcome["health"]
    rps = len(mix.latencies_ms) / mix_seconds
    health_rps = len(health.latencies_ms) / health_seconds
    p95, p99 = percentile(mix.latencies_ms, 95), percentile(mix.latencies_ms, 99)
    print(f"\nmix: {len(mix.latencies_ms)} OK responses in {mix_seconds:.1f} s; per page:")
    for label in labels:
        print(f"  {label:<20} {mix.ok_by_label[label]:>8}")
    print(f"health: {len(health.latencies_ms)} OK responses in {health_seconds:.1f} s")
    print(f"health p95_ms={percentile(health.latencies_ms, 95):.1f}")
    errors = mix.errors + health.errors
    if mix.login_failures:
        print(f"LOGIN FAILURES: {mix.login_failures} of {args.users} virtual users could not log in")
    if errors:
        print(f"ERRORS (non-200 or failed requests): {sum(errors.values())}")
        for kind, n in errors.most_common(10):
            print(f"  {n:>8}  {kind}")
    summary = {"rps": rps, "p95_ms": p95, "p99_ms": p99, "health_rps": health_rps, "errors": sum(errors.values())}
    print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in summary.items()}))
    ratio = rps / health_rps if health_rps else math.nan
    print(
        f"BENCH api_load rps={rps:.1f} p95_ms={p95:.1f} p99_ms={p99:.1f} health_rps={health_rps:.1f} ratio={ratio:.2f}"
    )
    return 1 if errors or mix.login_failures else 0


if __name__ == "__main__":
    sys.exit(main())
