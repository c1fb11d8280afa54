"""The whole loop through the services, every illegal transition, and the contract other apps use."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from anju.core.models import AuditEntry, Notification
from anju.core.tenancy import community_scope
from anju.workorders import services
from anju.workorders.models import FollowUp, State, WorkOrder, WorkOrderEvent
from anju.workorders.services import IllegalTransition
from anju.workorders.services.setup import DEFAULT_CATEGORY_CODES

from .helpers import reload, resident_report

pytestmark = pytest.mark.django_db


def test_contract_create_order_is_idempotent_by_source_ref(world):
    community = world.a.community
    first = services.create_order(
        community=community,
        kind="repair",
        category_code="lift",
        description="2号电梯困人",
        building=world.a.buildings[1],
        source="alarm",
        source_ref="alarm:42",
        actor=None,
    )
    again = services.create_order(
        community=community,
        kind="repair",
        category_code="lift",
        description="something else",
        source="alarm",
        source_ref="alarm:42",
        actor=None,
    )
    assert again.pk == first.pk
    with community_scope(community.pk):
        assert WorkOrder.objects.filter(source_ref="alarm:42").count() == 1
        # Not reported by a resident: accepted at once; the lift is an urgent category (30 minutes).
        order = WorkOrder.objects.get(pk=first.pk)
    assert order.state == State.ACCEPTED
    assert order.priority == "urgent"
    assert order.response_due_at - order.created_at == dt.timedelta(minutes=30)
    # The same reference in another community is another order.
    other = services.create_order(
        community=world.b.community,
        kind="repair",
        category_code="lift",
        description="x",
        source="alarm",
        source_ref="alarm:42",
        actor=None,
    )
    assert other.pk != first.pk


def test_default_categories_exist_with_contract_codes(world):
    services.ensure_defaults(world.a.community)
    with community_scope(world.a.community.pk):
        from anju.workorders.models import Category

        codes = set(Category.objects.values_list("code", flat=True))
    assert {"water", "electricity", "doors_locks", "lift", "public_area", "greenery", "noise", "fire", "other"} <= codes
    assert set(DEFAULT_CATEGORY_CODES) == codes


def test_full_loop_resident_to_rating(world):
    resident, manager, tech = world.user("resident_a"), world.user("manager_x"), world.user("technician")
    order = resident_report(world, category="noise")
    assert order.state == State.SUBMITTED
    assert Notification.objects.filter(recipient=manager, kind="workorders.reported").exists()

    with community_scope(order.community_id):
        services.assign_order(order=reload(order), assignee=tech, actor=manager)
        order = reload(order)
        assert (order.state, order.assignee_id) == (State.ASSIGNED, tech.pk)
        assert Notification.objects.filter(recipient=tech, kind="workorders.assigned").exists()
        services.start_order(order=order, actor=tech)
        services.pause_order(order=reload(order), reason="等配件", actor=tech)
        services.resume_order(order=reload(order), actor=tech)
        services.resolve_order(order=reload(order), note="已更换阀门", actor=tech)
        order = reload(order)
        assert order.state == State.RESOLVED and order.resolution_note == "已更换阀门"
        services.rate_order(order=order, rating=5, comment="很快", actor=resident)
        order = reload(order)
        kinds = list(order.events.values_list("kind", flat=True))
    assert order.state == State.CLOSED
    assert order.rating == 5 and order.confirmed_at and order.closed_at
    assert kinds == [
        "created",
        "accepted",
        "assigned",
        "started",
        "paused",
        "resumed",
        "resolved",
        "confirmed",
        "rated",
    ]
    assert AuditEntry.objects.filter(object_type="workorders.workorder", object_id=str(order.pk)).count() >= 9
    assert Notification.objects.filter(recipient=resident, kind="workorders.resolved").exists()


def _order_in(world, state: str) -> WorkOrder:
    """An order brought into ``state`` through the services."""
    resident, manager, tech = world.user("resident_a"), world.user("manager_x"), world.user("technician")
    order = resident_report(world, category="noise")
    path = {
        State.SUBMITTED: [],
        State.ACCEPTED: ["accept"],
        State.REJECTED: ["reject"],
        State.CANCELLED: ["cancel"],
        State.ASSIGNED: ["assign"],
        State.RETURNED: ["assign", "give_back"],
        State.TRANSFERRED: ["assign", "transfer"],
        State.IN_PROGRESS: ["assign", "start"],
        State.PAUSED: ["assign", "start", "pause"],
        State.RESOLVED: ["assign", "start", "resolve"],
        State.CONFIRMED: ["assign", "start", "resolve", "confirm"],
        State.CLOSED: ["assign", "start", "resolve", "confirm", "close"],
        State.REOPENED: ["assign", "start", "resolve", "dispute"],
    }[state]
    from tests.workorders.helpers import add_technician

    with community_scope(order.community_id):
        for step in path:
            order = reload(order)
            if step == "accept":
                services.accept_order(order=order, actor=manager)
            elif step == "reject":
                services.reject_order(order=order, reason="不属物业范围", actor=manager)
            elif step == "cancel":
                services.cancel_order(order=order, reason="重复", actor=manager)
            elif step == "assign":
                services.assign_order(order=order, assignee=tech, actor=manager)
            elif step == "give_back":
                services.give_back_order(order=order, reason="不会修", actor=tech)
            elif step == "transfer":
                other = add_technician(world, f"tech-{order.pk}")
                services.transfer_order(order=order, assignee=other, reason="换人", actor=manager)
            elif step == "start":
                services.start_order(order=order, actor=tech)
            elif step == "pause":
                services.pause_order(order=order, reason="等配件", actor=tech)
            elif step == "resolve":
                services.resolve_order(order=order, note="好了", actor=tech)
            elif step == "confirm":
                services.confirm_order(order=order, actor=resident)
            elif step == "close":
                services.close_order(order=order, actor=manager)
            elif step == "dispute":
                services.dispute_order(order=order, reason="还在漏", actor=resident)
        order = reload(order)
    assert order.state == state
    return order


# Which services each state allows; every other call must be refused as an illegal transition.
ALLOWED = {
    State.SUBMITTED: {"accept", "reject", "cancel", "assign"},
    State.ACCEPTED: {"reject", "cancel", "assign"},
    State.ASSIGNED: {"cancel", "transfer", "give_back", "start"},
    State.TRANSFERRED: {"cancel", "transfer", "give_back", "start"},
    State.RETURNED: {"cancel", "assign"},
    State.REOPENED: {"cancel", "assign"},
    State.IN_PROGRESS: {"transfer", "pause", "resolve"},
    State.PAUSED: {"transfer", "resume"},
    State.RESOLVED: {"confirm", "dispute"},
    State.CONFIRMED: {"dispute", "close"},
    State.CLOSED: set(),
    State.REJECTED: set(),
    State.CANCELLED: set(),
}
STEPS = [
    "accept",
    "reject",
    "cancel",
    "assign",
    "transfer",
    "give_back",
    "start",
    "pause",
    "resume",
    "resolve",
    "confirm",
    "dispute",
    "close",
]


def _call(step: str, order: WorkOrder, world) -> None:
    resident, manager = world.user("resident_a"), world.user("manager_x")
    tech = order.assignee or world.user("technician")
    calls = {
        "accept": lambda: services.accept_order(order=order, actor=manager),
        "reject": lambda: services.reject_order(order=order, reason="x", actor=manager),
        "cancel": lambda: services.cancel_order(order=order, reason="x", actor=manager),
        "assign": lambda: services.assign_order(order=order, assignee=world.user("technician"), actor=manager),
        "transfer": lambda: services.transfer_order(
            order=order, assignee=world.user("spare_tech"), reason="x", actor=manager
        ),
        "give_back": lambda: services.give_back_order(order=order, reason="x", actor=tech),
        "start": lambda: services.start_order(order=order, actor=tech),
        "pause": lambda: services.pause_order(order=order, reason="x", actor=tech),
        "resume": lambda: services.resume_order(order=order, actor=tech),
        "resolve": lambda: services.resolve_order(order=order, note="x", actor=tech),
        "confirm": lambda: services.confirm_order(order=order, actor=resident),
        "dispute": lambda: services.dispute_order(order=order, reason="x", actor=resident),
        "close": lambda: services.close_order(order=order, actor=manager),
    }
    calls[step]()


@pytest.mark.parametrize("state", list(ALLOWED))
def test_every_illegal_transition_is_refused_and_changes_nothing(world, state):
    from tests.workorders.helpers import add_technician

    world.users["spare_tech"] = add_technician(world, "spare_tech")
    order = _order_in(world, state)
    for step in STEPS:
        if step in ALLOWED[state]:
            continue
        events_before = WorkOrderEvent.objects.filter(order_id=order.pk).count() if False else None
        with community_scope(order.community_id):
            fresh = reload(order)
            if state == State.TRANSFERRED and step == "transfer":
                continue
            with pytest.raises(IllegalTransition) as refused:
                _call(step, fresh, world)
            assert refused.value.code == "illegal_transition"
            assert refused.value.status == 409
            assert reload(order).state == state
        del events_before


def test_only_the_assignee_works_the_order(world):
    from anju.core.errors import PermissionDenied
    from tests.workorders.helpers import add_technician

    other = add_technician(world, "other_tech")
    order = _order_in(world, State.ASSIGNED)
    with community_scope(order.community_id), pytest.raises(PermissionDenied):
        services.start_order(order=reload(order), actor=other)


def test_dispute_window_and_reopen_resets_deadlines(world):
    order = _order_in(world, State.RESOLVED)
    with community_scope(order.community_id):
        WorkOrder.objects.filter(pk=order.pk).update(resolved_at=timezone.now() - dt.timedelta(days=8))
        from anju.core.errors import DomainError

        with pytest.raises(DomainError) as refused:
            services.dispute_order(order=reload(order), reason="还漏", actor=world.user("resident_a"))
        assert refused.value.code == "dispute_window_closed"
        WorkOrder.objects.filter(pk=order.pk).update(
            resolved_at=timezone.now() - dt.timedelta(days=2), response_escalated_at=timezone.now()
        )
        services.dispute_order(order=reload(order), reason="还漏", actor=world.user("resident_a"))
        order = reload(order)
    assert order.state == State.REOPENED and order.reopen_count == 1
    assert order.assignee_id is None and order.response_escalated_at is None
    assert order.response_due_at > timezone.now()


def test_low_rating_creates_follow_up_for_the_steward(world):
    order = _order_in(world, State.RESOLVED)
    with community_scope(order.community_id):
        services.rate_order(order=reload(order), rating=2, comment="态度差", actor=world.user("resident_a"))
        follow_up = FollowUp.objects.get(order_id=order.pk)
    assert follow_up.reason == FollowUp.Reason.LOW_RATING
    assert follow_up.assignee == world.user("steward")
    assert Notification.objects.filter(recipient=world.user("steward"), kind="workorders.follow_up").exists()
    with community_scope(order.community_id):
        services.complete_follow_up(
            follow_up=follow_up, outcome="上门致歉", resident_satisfied=True, actor=world.user("steward")
        )
        follow_up.refresh_from_db()
    assert follow_up.status == FollowUp.Status.DONE


def test_sample_of_good_ratings_is_followed_up(world):
    with community_scope(world.a.community.pk):
        services.ensure_defaults(world.a.community)
        services.update_settings(
            community=world.a.community, follow_up_sample_percent=100, actor=world.user("manager_x")
        )
    order = _order_in(world, State.RESOLVED)
    with community_scope(order.community_id):
        services.rate_order(order=reload(order), rating=5, actor=world.user("resident_a"))
        assert FollowUp.objects.get(order_id=order.pk).reason == FollowUp.Reason.SAMPLE
    with community_scope(world.a.community.pk):
        services.update_settings(community=world.a.community, follow_up_sample_percent=0, actor=world.user("manager_x"))
    second = _order_in(world, State.RESOLVED)
    with community_scope(order.community_id):
        services.rate_order(order=reload(second), rating=4, actor=world.user("resident_a"))
        assert not FollowUp.objects.filter(order_id=second.pk).exists()


def test_another_resident_cannot_act_on_my_order(world):
    from anju.core.errors import PermissionDenied

    order = _order_in(world, State.RESOLVED)
    with community_scope(order.community_id), pytest.raises(PermissionDenied):
        services.confirm_order(order=reload(order), actor=world.user("resident_b"))


def test_auto_confirm_then_close_after_the_dispute_window(world):
    order = _order_in(world, State.RESOLVED)
    fresh = _order_in(world, State.RESOLVED)
    now = timezone.now()
    with community_scope(order.community_id):
        WorkOrder.objects.filter(pk=order.pk).update(resolved_at=now - dt.timedelta(days=4))
    assert services.auto_confirm_due(now) == 1
    assert services.auto_confirm_due(now) == 0
    order, fresh = reload(order), reload(fresh)
    assert order.state == State.CONFIRMED and order.auto_confirmed
    assert fresh.state == State.RESOLVED
    assert services.auto_confirm_due(now + dt.timedelta(days=4)) == 2  # order closes, fresh confirms
    assert reload(order).state == State.CLOSED
    assert reload(fresh).state == State.CONFIRMED


def test_illegal_transition_message_is_chinese(world):
    order = _order_in(world, State.CLOSED)
    from django.utils import translation

    with translation.override("zh-hans"), community_scope(order.community_id):
        with pytest.raises(IllegalTransition) as refused:
            services.start_order(order=reload(order), actor=world.user("technician"))
        message = str(refused.value.message)
    assert "已关闭" in message and "不能" in message
