"""Access-control benchmark: offline pass verification and online decisions at community scale.

    python bench/access.py [--database anju_accessbench] [--sqlite] [--verifications 30000] [--decisions 2000]

Untimed setup (fresh database each run): one community with 62 buildings of two units and 14 floors
(20,832 homes), 1,000 doors — 4 gates, 4 garage barriers, and per building an entrance, two unit
doors and 13 lift floors — on 63 controllers; 20,000 residents each with an occupancy and an IC card
(20,000 credentials), built with the bulk services; then the allow-lists of every controller
(``refresh_allow_list``, timed and reported as ``allow_list_s``); 2,000 visitor passes with random
hosts, windows and use counts, and the gate controller synced from a full snapshot; the passes are
scanned at its four gates.

Timed, on one core:

* ``verify_per_s``: a controller's offline verification of a scanned pass token
  (:meth:`OfflineController.verify_token`: Ed25519 signature with the synced public key, window,
  revocation list, use count, the pass's door scope through the access rule), every token distinct
  from the previous one, so every verification checks a signature. Best of three rounds, counted
  per CPU-second of this process (``time.process_time``) — "on one core", and unaffected by other
  processes competing for the machine; ``verify_wall_per_s`` is the wall-clock rate. The floor,
  measured in the same run: ``raw_ed25519_per_s``, OpenSSL's Ed25519 verification alone;
  ``ratio`` = verify_per_s / raw_ed25519_per_s (1.0 would mean the rest costs nothing).
* ``decide_p50_ms`` / ``decide_p99_ms``: wall-clock latency of the online decision for a card at a
  door (:func:`anju.access.events.decide_online`: keyed-hash look-up of the card, the holder's
  facts — occupancies, deny list — from the database, the rule); half the presentations at a gate,
  half at a random door. ``decide_cpu_p50_ms`` / ``decide_cpu_p99_ms``: the CPU time this process
  spent per decision (with ``--sqlite`` that includes the database's work, so it is what one
  uncontended core needs).

The last line is::

    BENCH access verify_per_s=… decide_p50_ms=… decide_p99_ms=… verify_wall_per_s=… raw_ed25519_per_s=…
          ratio=… decide_cpu_p50_ms=… decide_cpu_p99_ms=… database=… allow_list_s=… doors=…
          credentials=… load=… cores=…

(one line; ``load`` is the one-minute load average at the end, since wall-clock figures on a shared
machine depend on it).

Targets (issue 6): at least 10,000 verifications per second on one core, decision p99 at most 10 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import time

from _setup import start_django

BUILDINGS = 62
FLOORS = 14
HOMES_PER_FLOOR_PER_UNIT = 12
CREDENTIALS = 20_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="anju_accessbench")
    parser.add_argument("--sqlite", action="store_true", help="a temporary SQLite file instead of PostgreSQL")
    parser.add_argument("--verifications", type=int, default=30_000)
    parser.add_argument("--decisions", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()
    start_django(database=args.database, sqlite=args.sqlite, prefix="access-bench-")
    rng = random.Random(args.seed)
    print("building the community (untimed) …", flush=True)
    community, cards, doors, allow_list_s = build(rng)
    print(f"  {len(doors)} doors, {len(cards)} credentials, allow-lists in {allow_list_s:.1f} s", flush=True)
    verify_per_s, verify_wall_per_s, raw_per_s = bench_verify(community, doors, rng, args.verifications)
    p50, p99, cpu_p50, cpu_p99 = bench_decide(community, cards, doors, rng, args.decisions)
    load = os.getloadavg()[0]
    print(
        f"BENCH access verify_per_s={verify_per_s:.0f} decide_p50_ms={p50:.2f} decide_p99_ms={p99:.2f} "
        f"verify_wall_per_s={verify_wall_per_s:.0f} raw_ed25519_per_s={raw_per_s:.0f} "
        f"ratio={verify_per_s / raw_per_s:.2f} decide_cpu_p50_ms={cpu_p50:.2f} decide_cpu_p99_ms={cpu_p99:.2f} "
        f"database={'sqlite' if args.sqlite else 'postgresql'} allow_list_s={allow_list_s:.1f} doors={len(doors)} "
        f"credentials={len(cards)} load={load:.1f} cores={os.cpu_count()}"
    )


def build(rng: random.Random):  # type: ignore[no-untyped-def]
    from django.db import transaction
    from django.utils import timezone

    from anju.access import services, sync, tokens
    from anju.access.models import Credential
    from anju.core.crypto import encrypt
    from anju.core.services import create_district
    from anju.core.tenancy import community_scope
    from anju.estates import services as estates
    from anju.residents import services as residents

    district = create_district(name="基准区", code="990001", actor=None)
    community = estates.create_community(name="基准小区", code="bench", district=district, actor=None)
    doors = []
    with community_scope(community.pk):
        gate_controller, _ = services.create_controller(community=community, name="大门", code="gates", actor=None)
        for n in range(4):
            doors.append(
                services.create_door(
                    community=community, name=f"{n}号门", kind="gate", controller=gate_controller, actor=None
                )
            )
            doors.append(
                services.create_door(
                    community=community, name=f"{n}号道闸", kind="garage", controller=gate_controller, actor=None
                )
            )
        specs = []
        for b in range(1, BUILDINGS + 1):
            building = estates.create_building(
                community=community, number=str(b), floors_above=FLOORS, has_lift=True, actor=None
            )
            controller, _ = services.create_controller(community=community, name=f"{b}号楼", code=f"b{b}", actor=None)
            doors.append(
                services.create_door(
                    community=community,
                    name=f"{b}号楼大堂",
                    kind="building",
                    building=building,
                    controller=controller,
                    actor=None,
                )
            )
            for u in (1, 2):
                unit = estates.create_unit(building=building, number=str(u), actor=None)
                doors.append(
                    services.create_door(
                        community=community,
                        name=f"{b}-{u}单元门",
                        kind="unit",
                        building=building,
                        unit=unit,
                        controller=controller,
                        actor=None,
                    )
                )
                for floor in range(1, FLOORS + 1):
                    for door_no in range(1, HOMES_PER_FLOOR_PER_UNIT + 1):
                        specs.append(estates.NewHome(building, unit, f"{u}{floor:02d}{door_no:02d}", floor, "89.00"))
            for floor in range(2, FLOORS + 1):
                doors.append(
                    services.create_door(
                        community=community,
                        name=f"{b}号楼电梯{floor}层",
                        kind="lift_floor",
                        building=building,
                        floor=floor,
                        controller=controller,
                        actor=None,
                    )
                )
        doors = doors[:1000]
        homes = estates.bulk_create_homes(specs, actor=None)
        people = residents.bulk_create_people(
            community=community, people=[residents.NewPerson(name=f"住户{n}") for n in range(CREDENTIALS)], actor=None
        )
        start = timezone.localdate() - dt.timedelta(days=365)
        residents.bulk_add_occupancies(
            [residents.NewOccupancy(homes[n], people[n], "owner", starts_on=start) for n in range(CREDENTIALS)],
            actor=None,
        )
        secret = sync.card_secret(community.pk)
        cards = [f"{rng.getrandbits(40):010X}" for _ in range(CREDENTIALS)]
        with transaction.atomic():
            Credential.objects.bulk_create(
                [
                    Credential(
                        community=community,
                        kind="card",
                        person=people[n],
                        lookup_key=tokens.card_key(secret, card),
                        card_encrypted=encrypt(card),
                        card_masked="****" + card[-4:],
                    )
                    for n, card in enumerate(cards)
                ],
                batch_size=1000,
            )
        began = time.perf_counter()
        with transaction.atomic():
            sync.refresh_allow_list(community.pk)
        allow_list_s = time.perf_counter() - began
    return community, cards, doors, allow_list_s


def bench_verify(community, doors, rng: random.Random, count: int) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    from django.utils import timezone

    from anju.access import services, signing, sync
    from anju.access.controller import OfflineController
    from anju.access.models import Controller
    from anju.core.tenancy import community_scope
    from anju.residents.models import Occupancy

    now = timezone.now()
    with community_scope(community.pk):
        occupancies = list(Occupancy.objects.select_related("person", "home")[:2000])
        tokens = []
        for occupancy in occupancies:
            visitor_pass = services.create_visitor_pass(
                host_person=occupancy.person,
                host_home=occupancy.home,
                valid_from=now - dt.timedelta(minutes=rng.randint(1, 60)),
                valid_until=now + dt.timedelta(hours=rng.randint(1, 48)),
                max_uses=20,
                actor=None,
            )
            tokens.append(signing.pass_token(visitor_pass))
        controller = OfflineController(community_id=community.pk)
        controller.apply(sync.payload_for(Controller.objects.get(code="gates"), 0))
    door_ids = [door.id for door in controller.doors.values() if door.kind == "gate"]
    at = int(now.timestamp())
    plan = [(tokens[i % len(tokens)], door_ids[i % len(door_ids)]) for i in range(count)]
    best_cpu = best_wall = 0.0
    for _round in range(3):
        allowed = 0
        wall, cpu = time.perf_counter(), time.process_time()
        for token, door_id in plan:
            allowed += controller.verify_token(token, door_id, at).allowed
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        best_cpu, best_wall = max(best_cpu, count / cpu), max(best_wall, count / wall)
        assert allowed == count, f"only {allowed} of {count} valid passes accepted"
    raw = raw_ed25519_per_cpu_s(count)
    print(
        f"  offline verification: {best_cpu:.0f} per CPU-second, {best_wall:.0f}/s wall clock (best of 3, "
        f"{count} each); raw Ed25519 verify of the same bytes: {raw:.0f} per CPU-second",
        flush=True,
    )
    return best_cpu, best_wall, raw


def raw_ed25519_per_cpu_s(count: int) -> float:
    """The floor: OpenSSL's Ed25519 verification alone, on one core, in this same process run."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    public, body = key.public_key(), bytes(38)
    signature = key.sign(body)
    best = 0.0
    for _round in range(3):
        cpu = time.process_time()
        for _ in range(count):
            public.verify(signature, body)
        best = max(best, count / (time.process_time() - cpu))
    return best


def bench_decide(community, cards, doors, rng: random.Random, count: int) -> tuple[float, float, float, float]:  # type: ignore[no-untyped-def]
    """Half the presentations at a gate (which every resident opens), half at a random door."""
    from anju.access.events import decide_online
    from anju.core.tenancy import community_scope

    gates = [door for door in doors if door.kind == "gate"]
    wall_ms: list[float] = []
    cpu_ms: list[float] = []
    allowed = 0
    with community_scope(community.pk):
        for _ in range(50):  # warm the connection and caches
            decide_online(rng.choice(doors), card=rng.choice(cards))
        for n in range(count):
            door, card = rng.choice(gates if n % 2 else doors), rng.choice(cards)
            wall, cpu = time.perf_counter(), time.process_time()
            verdict = decide_online(door, card=card)
            cpu_ms.append((time.process_time() - cpu) * 1000)
            wall_ms.append((time.perf_counter() - wall) * 1000)
            allowed += verdict.allowed

    def p(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))]

    print(
        f"  online decisions: {count}, {allowed} allowed; wall clock p50 {p(wall_ms, 0.5):.2f} ms, "
        f"p99 {p(wall_ms, 0.99):.2f} ms; this process's CPU p50 {p(cpu_ms, 0.5):.2f} ms, p99 {p(cpu_ms, 0.99):.2f} ms",
        flush=True,
    )
    return p(wall_ms, 0.5), p(wall_ms, 0.99), p(cpu_ms, 0.5), p(cpu_ms, 0.99)


if __name__ == "__main__":
    main()
