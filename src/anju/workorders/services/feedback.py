"""The resident's side after the work: confirm, dispute (reopen), rate; follow-up visits (回访);
the silent-resident rule (auto-confirm, then close once the dispute window has passed); and the
hand-off of an accepted quote to billing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.core import audit
from anju.core.errors import DomainError, PermissionDenied
from anju.core.models import Role, User
from anju.core.permissions import staff_with_role
from anju.core.tenancy import scopes_disabled
from anju.workorders import sla
from anju.workorders.models import FollowUp, QuoteState, State, WorkOrder, WorkOrderEvent
from anju.workorders.services.common import (
    IllegalTransition,
    apply_transition,
    dispatchers,
    record_event,
    require_resident,
    require_text,
    tell,
)
from anju.workorders.services.setup import settings_for

FOLLOW_UP_DAYS = 3


def hand_off_to_billing(order: WorkOrder, actor: User | None) -> bool:
    """Charge an accepted quote to the home once the resident has confirmed the work. Billing is
    idempotent by ``source_ref="workorder:<id>"``; the ``charged_at`` stamp, set by a conditional
    UPDATE, keeps us from even asking twice."""
    if order.quote_state != QuoteState.ACCEPTED or not order.quote_fen or not order.home_id or order.charged_at:
        return False
    stamp = timezone.now()
    if WorkOrder.objects.filter(pk=order.pk, charged_at__isnull=True).update(charged_at=stamp) != 1:
        return False
    from anju.billing.services import charge_one_off

    charge_one_off(
        community_id=order.community_id,
        home_id=order.home_id,
        amount_fen=order.quote_fen,
        item="repair",
        description=f"{order.category.name} #{order.number} {order.quote_note}".strip(),
        source_ref=f"workorder:{order.pk}",
        actor=actor,
    )
    order.charged_at = stamp
    record_event(order, WorkOrderEvent.Kind.CHARGED, actor=actor, data={"amount_fen": order.quote_fen})
    return True


@transaction.atomic
def confirm_order(*, order: WorkOrder, actor: User) -> WorkOrder:
    """The resident agrees the job is done."""
    require_resident(order, actor, "confirm")
    apply_transition(
        order, "confirm", actor=actor, event=WorkOrderEvent.Kind.CONFIRMED, changes={"confirmed_at": timezone.now()}
    )
    hand_off_to_billing(order, actor)
    return order


@transaction.atomic
def dispute_order(*, order: WorkOrder, reason: str, actor: User) -> WorkOrder:
    """Not fixed: reopen within the community's dispute window (days after resolution). The order
    goes back for dispatch with fresh deadlines from the policy it was reported under."""
    require_resident(order, actor, "dispute")
    reason = require_text(reason, "reason", max_length=500)
    window = settings_for(order.community_id).dispute_days
    if (
        order.state in (State.RESOLVED, State.CONFIRMED)
        and order.resolved_at
        and timezone.now() > order.resolved_at + dt.timedelta(days=window)
    ):
        raise DomainError(
            _("Disputes are accepted for %(days)d days after the work is done; please report a new problem instead.")
            % {"days": window},
            code="dispute_window_closed",
        )
    now = timezone.now()
    changes: dict[str, Any] = {
        "reopen_count": order.reopen_count + 1,
        "resolved_at": None,
        "confirmed_at": None,
        "response_escalated_at": None,
        "resolution_escalated_at": None,
        "assignee": None,
        "assigned_at": None,
    }
    if order.sla_policy_id:
        calendar = order.category.calendar if order.category.calendar_id else None
        policy = order.sla_policy
        assert policy is not None
        changes["response_due_at"] = sla.add_working_minutes(now, policy.response_minutes, calendar)
        changes["resolution_due_at"] = sla.add_working_minutes(now, policy.resolution_minutes, calendar)
    previous = order.assignee
    apply_transition(
        order,
        "dispute",
        actor=actor,
        event=WorkOrderEvent.Kind.DISPUTED,
        note=reason,
        data={"previous_assignee": previous.pk if previous else None},
        changes=changes,
    )
    tell(
        [*dispatchers(order.community_id), previous],
        order,
        _("Order %(number)s was reopened by the resident"),
        reason,
        kind="disputed",
    )
    return order


@transaction.atomic
def rate_order(*, order: WorkOrder, rating: int, comment: str = "", actor: User) -> WorkOrder:
    """1-5 stars and a comment. A resolved order is confirmed by rating it; rating closes it. Low
    ratings, and a sample of the others, get a follow-up visit by the steward."""
    require_resident(order, actor)
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise DomainError(_("Choose 1 to 5 stars."), code="invalid_rating", field="rating")
    comment = require_text(comment, "comment", max_length=500, required=False)
    if order.rating is not None:
        raise DomainError(_("This order has already been rated."), code="already_rated", field="rating")
    if order.state == State.RESOLVED:
        confirm_order(order=order, actor=actor)
    if order.state != State.CONFIRMED:
        raise IllegalTransition(order, "rate")
    now = timezone.now()
    apply_transition(
        order,
        "close",
        actor=actor,
        event=WorkOrderEvent.Kind.RATED,
        note=comment,
        data={"rating": rating},
        changes={"rating": rating, "rating_comment": comment, "rated_at": now, "closed_at": now},
    )
    _maybe_follow_up(order, rating)
    return order


@transaction.atomic
def close_order(*, order: WorkOrder, actor: User, note: str = "") -> WorkOrder:
    """Staff close a confirmed order without waiting for a rating."""
    apply_transition(
        order, "close", actor=actor, event=WorkOrderEvent.Kind.CLOSED, note=note, changes={"closed_at": timezone.now()}
    )
    return order


# --- follow-up visits -----------------------------------------------------------------------------


def _sampled(order_id: int, percent: int) -> bool:
    """A fixed, evenly spread choice of ``percent`` of orders (Knuth's multiplicative hash of the
    id): reproducible, so a re-run never changes who was sampled."""
    return (order_id * 2654435761 % 2**32) % 100 < percent


def _steward_for(order: WorkOrder) -> User | None:
    from anju.residents.models import StewardAssignment

    if order.home_id:
        today = timezone.localdate()
        with scopes_disabled():
            current = (
                StewardAssignment.objects.filter(home_id=order.home_id, starts_on__lte=today)
                .exclude(ends_on__lt=today)
                .select_related("steward")
                .first()
            )
        if current is not None:
            return current.steward
    stewards = staff_with_role(order.community_id, Role.STEWARD)
    return stewards[0] if stewards else None


def _maybe_follow_up(order: WorkOrder, rating: int) -> FollowUp | None:
    rules = settings_for(order.community_id)
    if rating <= rules.low_rating_max:
        reason = FollowUp.Reason.LOW_RATING
    elif _sampled(order.pk, rules.follow_up_sample_percent):
        reason = FollowUp.Reason.SAMPLE
    else:
        return None
    steward = _steward_for(order)
    follow_up, created = FollowUp.objects.get_or_create(
        order=order,
        defaults={
            "community_id": order.community_id,
            "assignee": steward,
            "reason": reason,
            "due_on": timezone.localdate() + dt.timedelta(days=FOLLOW_UP_DAYS),
        },
    )
    if created:
        audit.record(actor=None, action="workorders.create_follow_up", obj=follow_up, after=audit.snapshot(follow_up))
        tell(
            [steward] if steward else dispatchers(order.community_id),
            order,
            _("Follow up order %(number)s (rated %(rating)d)"),
            order.rating_comment,
            kind="follow_up",
            params={"rating": rating},
        )
    return follow_up


@transaction.atomic
def complete_follow_up(*, follow_up: FollowUp, outcome: str, resident_satisfied: bool | None, actor: User) -> FollowUp:
    """The steward records how the visit or call went."""
    if follow_up.status == FollowUp.Status.DONE:
        raise DomainError(_("This follow-up is already done."), code="already_done")
    if follow_up.assignee_id not in (None, actor.pk) and actor.pk not in {
        u.pk for u in dispatchers(follow_up.community_id)
    }:
        raise PermissionDenied(_("This follow-up is assigned to another steward."))
    outcome = require_text(outcome, "outcome", max_length=2000)
    before = audit.snapshot(follow_up)
    follow_up.status = FollowUp.Status.DONE
    follow_up.outcome = outcome
    follow_up.resident_satisfied = resident_satisfied
    follow_up.done_at = timezone.now()
    follow_up.done_by = actor
    follow_up.save()
    before, after = audit.changed(before, audit.snapshot(follow_up))
    audit.record(actor=actor, action="workorders.complete_follow_up", obj=follow_up, before=before, after=after)
    record_event(
        follow_up.order,
        WorkOrderEvent.Kind.FOLLOW_UP,
        actor=actor,
        note=outcome,
        data={"satisfied": resident_satisfied},
    )
    return follow_up


# --- the silent resident --------------------------------------------------------------------------


def auto_confirm_due(now: dt.datetime | None = None) -> int:
    """Confirm every order resolved more than ``auto_confirm_days`` ago that its resident neither
    confirmed nor disputed, and close every confirmed order whose dispute window has passed.

    Each order is claimed with a conditional UPDATE on its state, in its own transaction, so two
    runs at once confirm (and charge) each order exactly once. Returns how many orders changed."""
    now = now or timezone.now()
    changed = 0
    from anju.workorders.models import WorkOrderSettings

    with scopes_disabled():
        rules = {row.community_id: row for row in WorkOrderSettings.objects.all()}
        shortest_confirm = min([r.auto_confirm_days for r in rules.values()] + [3])
        shortest_dispute = min([r.dispute_days for r in rules.values()] + [7])
        to_confirm = list(
            WorkOrder.objects.filter(
                state=State.RESOLVED, resolved_at__lt=now - dt.timedelta(days=shortest_confirm)
            ).values_list("pk", "community_id", "resolved_at")
        )
        to_close = list(
            WorkOrder.objects.filter(
                state=State.CONFIRMED, resolved_at__lt=now - dt.timedelta(days=shortest_dispute)
            ).values_list("pk", "community_id", "resolved_at")
        )
        for pk, community_id, resolved_at in to_confirm:
            days = rules[community_id].auto_confirm_days if community_id in rules else 3
            if resolved_at < now - dt.timedelta(days=days) and _auto_confirm_one(pk, now):
                changed += 1
        for pk, community_id, resolved_at in to_close:
            days = rules[community_id].dispute_days if community_id in rules else 7
            if resolved_at < now - dt.timedelta(days=days) and _auto_close_one(pk, now):
                changed += 1
    return changed


@transaction.atomic
def _auto_confirm_one(pk: int, now: dt.datetime) -> bool:
    if (
        WorkOrder.objects.filter(pk=pk, state=State.RESOLVED).update(
            state=State.CONFIRMED, confirmed_at=now, auto_confirmed=True, updated_at=now
        )
        != 1
    ):
        return False
    order = WorkOrder.objects.select_related("category").get(pk=pk)
    audit.record(
        actor=None,
        action="workorders.auto_confirm",
        obj=order,
        before={"state": State.RESOLVED},
        after={"state": State.CONFIRMED},
    )
    record_event(order, WorkOrderEvent.Kind.AUTO_CONFIRMED, actor=None, from_state=State.RESOLVED, at=now)
    hand_off_to_billing(order, None)
    return True


@transaction.atomic
def _auto_close_one(pk: int, now: dt.datetime) -> bool:
    if (
        WorkOrder.objects.filter(pk=pk, state=State.CONFIRMED).update(state=State.CLOSED, closed_at=now, updated_at=now)
        != 1
    ):
        return False
    order = WorkOrder.objects.get(pk=pk)
    audit.record(
        actor=None,
        action="workorders.auto_close",
        obj=order,
        before={"state": State.CONFIRMED},
        after={"state": State.CLOSED},
    )
    record_event(order, WorkOrderEvent.Kind.CLOSED, actor=None, from_state=State.CONFIRMED, at=now)
    return True
