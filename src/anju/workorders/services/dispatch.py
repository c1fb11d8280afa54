"""Who does the job: assigned by a dispatcher, grabbed by a technician (抢单), round-robin, or
chosen automatically by skill, current load and building; transferred (转单) or handed back (退单).

Grabbing is a race by design, so it is decided by one conditional UPDATE: the row changes only
while the order is still waiting and unassigned, and the technician whose UPDATE changed it wins;
everyone else is told it is taken. Round-robin and automatic choices lock the category row so that
two orders dispatched at once do not both go to the same "next" technician.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.core import audit
from anju.core.errors import Conflict, DomainError, NotFound
from anju.core.models import Role, User
from anju.core.permissions import staff_with_role
from anju.workorders.models import (
    DISPATCHABLE_STATES,
    OPEN_STATES,
    Category,
    DispatchMode,
    State,
    TechnicianProfile,
    WorkOrder,
    WorkOrderEvent,
)
from anju.workorders.services.common import (
    IllegalTransition,
    apply_transition,
    record_event,
    require_step,
    require_text,
    tell,
)


def technicians(community_id: int) -> list[User]:
    """Who may be given work orders here: the technicians working in the community today."""
    return staff_with_role(community_id, Role.TECHNICIAN)


def eligible_technicians(order: WorkOrder) -> list[User]:
    """Technicians on duty whose skills include the category's (or who have no profile, or the
    category asks for no skill)."""
    people = technicians(order.community_id)
    profiles = {p.user_id: p for p in TechnicianProfile.objects.filter(community_id=order.community_id)}
    skill = order.category.skill
    chosen = []
    for user in people:
        profile = profiles.get(user.pk)
        if profile is None or (profile.on_duty and (not skill or not profile.skills or skill in profile.skills)):
            chosen.append(user)
    return chosen


def current_load(community_id: int, user_ids: list[int]) -> dict[int, int]:
    rows = (
        WorkOrder.objects.filter(community_id=community_id, assignee_id__in=user_ids, state__in=OPEN_STATES)
        .values("assignee_id")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["assignee_id"]: row["n"] for row in rows}


def choose_technician(order: WorkOrder, category: Category) -> User | None:
    """The automatic rule. Candidates: eligible technicians. Score, lowest wins: open orders in
    hand, minus 2 for a technician whose profile lists the order's building, minus 1 for the exact
    skill; ties go to the one who was given an order of this category longest ago (round-robin
    position), then the lowest id — so the outcome is deterministic and testable."""
    candidates = eligible_technicians(order)
    if not candidates:
        return None
    if category.dispatch_mode == DispatchMode.ROUND_ROBIN:
        ordered = sorted(candidates, key=lambda u: u.pk)
        after = [u for u in ordered if category.last_assignee_id is not None and u.pk > category.last_assignee_id]
        return (after or ordered)[0]
    loads = current_load(order.community_id, [u.pk for u in candidates])
    profiles = {p.user_id: p for p in TechnicianProfile.objects.filter(community_id=order.community_id)}

    def score(user: User) -> tuple[int, int, int]:
        profile = profiles.get(user.pk)
        value = loads.get(user.pk, 0) * 10
        if profile is not None and order.building_id and order.building_id in (profile.building_ids or []):
            value -= 20
        if profile is not None and category.skill and category.skill in (profile.skills or []):
            value -= 10
        recent = 1 if category.last_assignee_id == user.pk else 0
        return (value, recent, user.pk)

    return min(candidates, key=score)


def _assign(order: WorkOrder, assignee: User, *, actor: User | None, event: str, note: str = "") -> WorkOrder:
    apply_transition(
        order,
        "assign",
        actor=actor,
        event=event,
        note=note,
        data={"assignee": assignee.pk, "assignee_name": str(assignee)},
        changes={"assignee": assignee, "assigned_at": timezone.now()},
    )
    Category.objects.filter(pk=order.category_id).update(last_assignee_id=assignee.pk)
    tell(
        [assignee],
        order,
        _("Order %(number)s is yours: %(category)s, %(place)s"),
        order.description[:100],
        kind="assigned",
        params={"category": order.category.name, "place": order.location_label},
    )
    return order


def _require_technician(order: WorkOrder, user: User) -> None:
    if user.pk not in {u.pk for u in technicians(order.community_id)}:
        raise DomainError(
            _("Choose a technician who works in this community."), code="not_a_technician", field="assignee"
        )


@transaction.atomic
def assign_order(*, order: WorkOrder, assignee: User, actor: User, note: str = "") -> WorkOrder:
    """派单 by a dispatcher. A report still waiting to be accepted is accepted in the same step."""
    _require_technician(order, assignee)
    if order.state == State.SUBMITTED:
        apply_transition(
            order, "accept", actor=actor, event=WorkOrderEvent.Kind.ACCEPTED, changes={"accepted_at": timezone.now()}
        )
    return _assign(order, assignee, actor=actor, event=WorkOrderEvent.Kind.ASSIGNED, note=note)


@transaction.atomic
def dispatch_automatically(*, order: WorkOrder, actor: User | None) -> WorkOrder | None:
    """Round-robin or automatic choice; leaves the order waiting (and tells the dispatchers) when
    no technician is eligible."""
    category = Category.objects.select_for_update().get(pk=order.category_id)
    assignee = choose_technician(order, category)
    if assignee is None:
        from anju.workorders.services.common import dispatchers

        tell(
            dispatchers(order.community_id), order, _("No technician available for order %(number)s"), kind="unassigned"
        )
        return None
    return _assign(
        order, assignee, actor=actor, event=WorkOrderEvent.Kind.ASSIGNED, note=str(_("Dispatched automatically"))
    )


@transaction.atomic
def grab_order(*, order: WorkOrder, actor: User) -> WorkOrder:
    """抢单: the first technician whose conditional UPDATE changes the row wins; the rest get 409."""
    if order.category.dispatch_mode != DispatchMode.GRAB:
        raise DomainError(_("Orders of this category are dispatched, not grabbed."), code="not_grabbable")
    if actor.pk not in {u.pk for u in eligible_technicians(order)}:
        raise DomainError(_("This order needs a skill your profile does not list."), code="not_eligible")
    now = timezone.now()
    won = WorkOrder.objects.filter(pk=order.pk, state__in=DISPATCHABLE_STATES, assignee__isnull=True).update(
        state=State.ASSIGNED, assignee=actor, assigned_at=now, updated_at=now
    )
    if won != 1:
        order.refresh_from_db()
        if order.state in DISPATCHABLE_STATES:
            raise IllegalTransition(order, "assign")
        raise Conflict(_("Someone else took this order first."), code="already_taken")
    from_state = order.state
    order.refresh_from_db()
    Category.objects.filter(pk=order.category_id).update(last_assignee_id=actor.pk)
    audit.record(
        actor=actor,
        action="workorders.grab_order",
        obj=order,
        before={"state": from_state},
        after={"state": order.state, "assignee": actor.pk},
    )
    record_event(order, WorkOrderEvent.Kind.GRABBED, actor=actor, from_state=from_state, data={"assignee": actor.pk})
    return order


@transaction.atomic
def transfer_order(*, order: WorkOrder, assignee: User, reason: str, actor: User) -> WorkOrder:
    """转单: to another technician, by the current one or by a dispatcher. A paused order's clock
    restarts as the new technician takes it over."""
    require_step(order, "transfer")
    _require_technician(order, assignee)
    if assignee.pk == order.assignee_id:
        raise DomainError(_("The order is already with this technician."), code="same_assignee", field="assignee")
    reason = require_text(reason, "reason", max_length=500)
    previous = order.assignee
    changes = {"assignee": assignee, "assigned_at": timezone.now()}
    if order.paused_at and order.resolution_due_at:
        changes["resolution_due_at"] = order.resolution_due_at + (timezone.now() - order.paused_at)
        changes["paused_at"] = None
    apply_transition(
        order,
        "transfer",
        actor=actor,
        event=WorkOrderEvent.Kind.TRANSFERRED,
        note=reason,
        data={"from": previous.pk if previous else None, "to": assignee.pk, "to_name": str(assignee)},
        changes=changes,
    )
    tell([assignee], order, _("Order %(number)s was transferred to you"), reason, kind="transferred")
    return order


@transaction.atomic
def give_back_order(*, order: WorkOrder, reason: str, actor: User) -> WorkOrder:
    """退单: the technician hands the job back (wrong skill, cannot reach the home) before starting;
    it waits for dispatch again."""
    require_step(order, "give_back")
    if order.assignee_id != actor.pk:
        raise NotFound()
    reason = require_text(reason, "reason", max_length=500)
    apply_transition(
        order,
        "give_back",
        actor=actor,
        event=WorkOrderEvent.Kind.RETURNED,
        note=reason,
        changes={"assignee": None, "assigned_at": None},
    )
    from anju.workorders.services.common import dispatchers

    tell(dispatchers(order.community_id), order, _("Order %(number)s was handed back"), reason, kind="returned")
    return order


def assignable(order: WorkOrder) -> list[User]:
    """For the dispatch form: eligible technicians first, then the rest."""
    eligible = eligible_technicians(order)
    ids = {u.pk for u in eligible}
    return eligible + [u for u in technicians(order.community_id) if u.pk not in ids]
