"""Demo data for access control: doors on controllers, residents' cards and QR codes, staff cards,
a few visitor passes, and a week of access log produced by the reference controller itself
(:class:`~anju.access.controller.OfflineController`) and uploaded as a real controller would."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from anju.access import services, signing, sync
from anju.access.controller import OfflineController
from anju.access.models import Controller, Credential
from anju.core.demo.hooks import DemoContext, demo_step
from anju.estates.models import Building, Community, Unit
from anju.residents.models import Occupancy

BUILDINGS_WITH_DOORS = {"small": 3, "medium": 8, "large": 20}
CARDS_PER_COMMUNITY = {"small": 40, "medium": 200, "large": 800}
EVENTS_PER_DAY = {"small": 40, "medium": 150, "large": 400}


@demo_step(order=70)
def seed_access(ctx: DemoContext) -> None:
    for code, community in sorted(ctx.communities.items()):
        _seed_community(ctx, code, community)


def _seed_community(ctx: DemoContext, code: str, community: Community) -> None:
    rng = ctx.rng
    manager = ctx.staff.get("manager")
    gate_controller, _token = services.create_controller(
        community=community, name="大门控制器", code="gate", actor=manager
    )
    doors = [
        services.create_door(
            community=community, name="南大门", kind="gate", controller=gate_controller, actor=manager
        ),
        services.create_door(community=community, name="北门", kind="gate", controller=gate_controller, actor=manager),
        services.create_door(
            community=community, name="地库道闸", kind="garage", controller=gate_controller, actor=manager
        ),
    ]
    buildings = list(Building.objects.filter(community=community).order_by("sort_key", "pk"))
    for building in buildings[: BUILDINGS_WITH_DOORS.get(ctx.size, 3)]:
        controller, _ = services.create_controller(
            community=community, name=f"{building.number}号楼控制器", code=f"b-{building.pk}", actor=manager
        )
        doors.append(
            services.create_door(
                community=community,
                name=f"{building.number}号楼大堂",
                kind="building",
                building=building,
                controller=controller,
                actor=manager,
            )
        )
        for unit in Unit.objects.filter(building=building).order_by("pk")[:2]:
            doors.append(
                services.create_door(
                    community=community,
                    name=f"{building.number}号楼{unit.number}单元",
                    kind="unit",
                    building=building,
                    unit=unit,
                    controller=controller,
                    actor=manager,
                )
            )
    month_ago = timezone.now() - dt.timedelta(days=30)
    occupancies = list(
        Occupancy.objects.current()
        .filter(community=community, home__building__in=buildings[: BUILDINGS_WITH_DOORS.get(ctx.size, 3)])
        .select_related("person", "home")
        .order_by("pk")[: CARDS_PER_COMMUNITY.get(ctx.size, 40)]
    )
    cards: list[tuple[str, Occupancy]] = []
    for occupancy in occupancies:
        if Credential.objects.filter(person=occupancy.person, ended_at__isnull=True).exists():
            continue
        number = f"{rng.getrandbits(32):08X}"
        services.issue_credential(
            community=community,
            kind="card",
            person=occupancy.person,
            card_number=number,
            valid_from=month_ago,
            actor=manager,
        )
        cards.append((number, occupancy))
    staff_cards = []
    for username in ("guard", "technician", "steward", "manager"):
        user = ctx.staff.get(username)
        if user is None:
            continue
        number = f"5{rng.getrandbits(28):07X}"
        try:
            services.issue_credential(
                community=community, kind="card", user=user, card_number=number, valid_from=month_ago, actor=manager
            )
        except services.AccessRefused:  # this staff member does not serve this community
            continue
        staff_cards.append(number)
    now = timezone.now()
    passes = []
    for occupancy in occupancies[:3]:
        passes.append(
            services.create_visitor_pass(
                host_person=occupancy.person,
                host_home=occupancy.home,
                valid_from=now,
                valid_until=now + dt.timedelta(hours=rng.choice([4, 24, 48])),
                max_uses=rng.choice([1, 2, 4]),
                visitor_name=rng.choice(["王阿姨", "李师傅", "张同学", "赵叔叔"]),
                actor=occupancy.person.user or manager,
            )
        )
    _week_of_log(ctx, community, gate_controller, cards, staff_cards, [signing.pass_token(p) for p in passes])
    ctx.counts[f"access.{code}.doors"] = len(doors)
    ctx.counts[f"access.{code}.cards"] = len(cards) + len(staff_cards)


def _week_of_log(
    ctx: DemoContext,
    community: Community,
    gate_controller: Controller,
    cards: list[tuple[str, Occupancy]],
    staff_cards: list[str],
    pass_tokens: list[str],
) -> None:
    """Run every controller of the community over the past week and upload what it recorded."""
    rng = ctx.rng
    per_day = EVENTS_PER_DAY.get(ctx.size, 40)
    controllers = list(Controller.objects.filter(community=community).order_by("pk"))
    now = int(timezone.now().timestamp())
    for controller_row in controllers:
        controller = OfflineController(community_id=community.pk)
        controller.apply(sync.payload_for(controller_row, 0))
        door_ids = list(controller.doors)
        if not door_ids:
            continue
        for day in range(7, 0, -1):
            for _ in range(per_day // len(controllers) + 1):
                at = now - day * 86400 + rng.randint(6 * 3600, 23 * 3600)
                door = rng.choice(door_ids)
                roll = rng.random()
                if roll < 0.8 and cards:
                    number, occupancy = rng.choice(cards)
                    # Mostly at a door of their own: the gates or their building's doors.
                    own = [d for d in door_ids if controller.doors[d].building_id in (None, occupancy.home.building_id)]
                    controller.present_card(number, rng.choice(own) if own and rng.random() < 0.95 else door, at)
                elif roll < 0.9 and staff_cards:
                    controller.present_card(rng.choice(staff_cards), door, at)
                else:
                    controller.present_card(f"{rng.getrandbits(32):08X}", door, at)  # an unknown card
        for door in door_ids[:1]:
            for token in pass_tokens:
                controller.present_token(token, door, now)
        services.ingest_events(controller_row, controller.take_events())
        services.record_controller_sync(controller_row, version=controller.version)
