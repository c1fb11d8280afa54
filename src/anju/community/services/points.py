"""Points (积分): earning by rule, spending on rewards or fees, corrections by reversal.

The ledger (:class:`PointsEntry`) is append-only. Each person's :class:`PointsAccount` holds the
running balance, changed in the same transaction as the entry it reflects and only by
conditional UPDATEs (``balance = balance - n WHERE balance >= n``): two spends racing on
PostgreSQL serialise on the account row, and the second one re-checks the balance after the first
commits, so points can neither go negative nor be spent twice. A CHECK constraint
(``balance >= 0``) backs this up. :func:`ledger_balance` recomputes a balance from the entries.

Rules are effective-dated (:class:`PointsRule`): the rule in force when the thing happened decides
the award. Before a manager sets any rule, :data:`DEFAULT_POINTS` applies.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from anju.community.models import (
    HazardReport,
    LifeSettings,
    PointsAccount,
    PointsEntry,
    PointsRule,
    Redemption,
    Reward,
)
from anju.community.services.common import require_text
from anju.core import audit
from anju.core.errors import Conflict, DomainError
from anju.core.models import User
from anju.core.tenancy import community_scope
from anju.estates.models import Community, Home
from anju.residents.models import Occupancy, Person

DEFAULT_POINTS = {
    PointsRule.Action.CHECK_IN: 5,
    PointsRule.Action.VOLUNTEER_HOUR: 10,
    PointsRule.Action.HAZARD_REPORT: 20,
}


class NotEnoughPoints(Conflict):
    code = "not_enough_points"
    default_message = _("Not enough points for this.")


class OutOfStock(Conflict):
    code = "out_of_stock"
    default_message = _("This reward is out of stock.")


class BillingNotAvailable(DomainError):
    status = 409
    code = "billing_unavailable"
    default_message = _("Fee discounts are not available: the billing module is not installed.")


def life_settings(community_id: int) -> LifeSettings:
    """The community's settings row, or an unsaved one with the defaults."""
    with community_scope(community_id):
        found = LifeSettings.objects.filter(community_id=community_id).first()
    return found or LifeSettings(community_id=community_id)


def rule_points(community_id: int, action: str, at: dt.datetime | None = None) -> int:
    """The points ``action`` earns under the rule in force at ``at`` (now by default)."""
    moment = at or timezone.now()
    with community_scope(community_id):
        rule = (
            PointsRule.objects.filter(action=action, effective_from__lte=moment)
            .order_by("-effective_from", "-pk")
            .first()
        )
    return rule.points if rule is not None else DEFAULT_POINTS[PointsRule.Action(action)]


@transaction.atomic
def set_points_rule(
    *, community: Community, action: str, points: int, effective_from: dt.datetime | None = None, actor: User | None
) -> PointsRule:
    """Add a rule (never overwrite one): from ``effective_from`` on, ``action`` earns ``points``."""
    if action not in PointsRule.Action.values:
        raise DomainError(_("Unknown action."), code="unknown_action", field="action")
    if not isinstance(points, int) or points < 0 or points > 100000:
        raise DomainError(_("Points must be a whole number from 0 to 100000."), field="points")
    with community_scope(community.pk):
        rule = PointsRule.objects.create(
            community=community,
            action=action,
            points=points,
            effective_from=effective_from or timezone.now(),
            created_by=actor,
        )
        audit.record(actor=actor, action="points.rule", obj=rule, after=audit.snapshot(rule))
    return rule


def _account(person: Person) -> PointsAccount:
    account, _created = PointsAccount.objects.get_or_create(
        person=person, defaults={"community_id": person.community_id}
    )
    return account


def _post(
    person: Person,
    amount: int,
    *,
    kind: str,
    reason: str,
    source_ref: str,
    actor: User | None,
    reverses: PointsEntry | None = None,
) -> PointsEntry:
    """Write one entry and move the balance with it; the caller holds a transaction and the scope.

    A negative ``amount`` only goes through if the balance covers it (conditional UPDATE)."""
    account = _account(person)
    if amount >= 0:
        PointsAccount.objects.filter(pk=account.pk).update(
            balance=F("balance") + amount, earned_total=F("earned_total") + (amount if kind == "earn" else 0)
        )
    else:
        changed = PointsAccount.objects.filter(pk=account.pk, balance__gte=-amount).update(
            balance=F("balance") + amount
        )
        if changed != 1:
            raise NotEnoughPoints()
    balance = PointsAccount.objects.filter(pk=account.pk).values_list("balance", flat=True).get()
    entry = PointsEntry.objects.create(
        community_id=person.community_id,
        person=person,
        kind=kind,
        amount=amount,
        balance_after=balance,
        reason=reason[:200],
        source_ref=source_ref[:100],
        reverses=reverses,
        created_by=actor,
    )
    audit.record(actor=actor, action=f"points.{kind}", obj=entry, after=audit.snapshot(entry))
    return entry


def _existing(community_id: int, source_ref: str) -> PointsEntry | None:
    if not source_ref:
        return None
    return PointsEntry.objects.filter(community_id=community_id, source_ref=source_ref).first()


@transaction.atomic
def award_points(*, person: Person, amount: int, reason: str, source_ref: str, actor: User | None) -> PointsEntry:
    """Credit ``amount`` points, once per ``source_ref`` (a second call returns the first entry)."""
    if amount <= 0:
        raise DomainError(_("An award must be a positive number of points."), field="amount")
    with community_scope(person.community_id):
        existing = _existing(person.community_id, source_ref)
        if existing is not None:
            return existing
        try:
            with transaction.atomic():
                return _post(person, amount, kind="earn", reason=reason, source_ref=source_ref, actor=actor)
        except IntegrityError:
            existing = _existing(person.community_id, source_ref)
            if existing is None:
                raise
            return existing


@transaction.atomic
def reverse_entry(entry: PointsEntry, *, reason: str, actor: User | None) -> PointsEntry:
    """Correct a mistaken entry by posting its opposite. An entry is reversed at most once; reversing
    an award whose points were already spent is refused (the balance may not go negative)."""
    reason = require_text(reason, "reason", max_length=200, message=_("Say why the entry is corrected."))
    with community_scope(entry.community_id):
        if entry.kind == PointsEntry.Kind.REVERSAL:
            raise Conflict(
                _("A correction cannot itself be reversed; post a new entry instead."), code="reverse_reversal"
            )
        if PointsEntry.objects.filter(reverses=entry).exists():
            raise Conflict(_("This entry has already been corrected."), code="already_reversed")
        person = Person.objects.get(pk=entry.person_id)
        try:
            with transaction.atomic():
                return _post(
                    person, -entry.amount, kind="reversal", reason=reason, source_ref="", actor=actor, reverses=entry
                )
        except IntegrityError:
            raise Conflict(_("This entry has already been corrected."), code="already_reversed") from None


def ledger_balance(person: Person) -> int:
    """The balance recomputed from the ledger alone."""
    with community_scope(person.community_id):
        total = PointsEntry.objects.filter(person=person).aggregate(total=Sum("amount"))["total"]
    return int(total or 0)


def balance_of(person: Person) -> int:
    with community_scope(person.community_id):
        value = PointsAccount.objects.filter(person=person).values_list("balance", flat=True).first()
    return int(value or 0)


@transaction.atomic
def redeem_reward(*, person: Person, reward: Reward, request_key: str = "", actor: User | None) -> Redemption:
    """Spend ``reward.cost`` points on one of the reward, taking one from stock.

    Both the points and the stock are taken by conditional UPDATEs in one transaction: if either is
    short, nothing is taken. ``request_key`` (a form's one-time key) makes a double submission
    return the first redemption instead of spending twice."""
    if reward.community_id != person.community_id:
        raise DomainError(_("This reward is not offered in your community."), code="foreign_reward")
    with community_scope(person.community_id):
        source_ref = f"redeem:{person.pk}:{request_key}" if request_key else ""
        existing = _existing(person.community_id, source_ref)
        if existing is not None:
            return Redemption.objects.get(entry=existing)
        if not Reward.objects.filter(pk=reward.pk, active=True).exists():
            raise Conflict(_("This reward is no longer offered."), code="reward_inactive")
        if Reward.objects.filter(pk=reward.pk, stock__gte=1).update(stock=F("stock") - 1) != 1:
            raise OutOfStock()
        try:
            with transaction.atomic():
                entry = _post(
                    person,
                    -reward.cost,
                    kind="spend",
                    reason=gettext("Reward: %(name)s") % {"name": reward.name},
                    source_ref=source_ref,
                    actor=actor,
                )
        except IntegrityError:
            existing = _existing(person.community_id, source_ref)
            if existing is None:
                raise
            # The same request won the race in another transaction; give the stock back.
            Reward.objects.filter(pk=reward.pk).update(stock=F("stock") + 1)
            return Redemption.objects.get(entry=existing)
        redemption = Redemption.objects.create(
            community_id=person.community_id,
            person=person,
            reward=reward,
            points=reward.cost,
            status=Redemption.Status.PENDING,
            entry=entry,
        )
        audit.record(actor=actor, action="points.redeem", obj=redemption, after=audit.snapshot(redemption))
    return redemption


@transaction.atomic
def hand_over_redemption(redemption: Redemption, *, actor: User | None) -> Redemption:
    """The service desk hands the reward over."""
    with community_scope(redemption.community_id):
        changed = Redemption.objects.filter(pk=redemption.pk, status=Redemption.Status.PENDING).update(
            status=Redemption.Status.HANDED_OVER, handed_over_at=timezone.now(), handled_by=actor
        )
        if changed != 1:
            raise Conflict(_("This redemption is not waiting to be collected."), code="not_pending")
        redemption.refresh_from_db()
        audit.record(actor=actor, action="points.hand_over", obj=redemption, after={"status": redemption.status})
    return redemption


@transaction.atomic
def cancel_redemption(redemption: Redemption, *, reason: str, actor: User | None) -> Redemption:
    """Cancel an uncollected redemption: the points come back by reversal, the item back to stock."""
    with community_scope(redemption.community_id):
        changed = Redemption.objects.filter(pk=redemption.pk, status=Redemption.Status.PENDING).update(
            status=Redemption.Status.CANCELLED, handled_by=actor
        )
        if changed != 1:
            raise Conflict(_("This redemption is not waiting to be collected."), code="not_pending")
        if redemption.reward_id:
            Reward.objects.filter(pk=redemption.reward_id).update(stock=F("stock") + 1)
        reverse_entry(redemption.entry, reason=reason or gettext("Redemption cancelled"), actor=actor)
        redemption.refresh_from_db()
        audit.record(
            actor=actor, action="points.redemption_cancel", obj=redemption, after={"status": redemption.status}
        )
    return redemption


def _credit_home() -> object | None:
    """BILL's ``credit_home`` when the billing app provides it, else None (reported as unavailable)."""
    try:
        from anju.billing import services as billing_services
    except ImportError:
        return None
    return getattr(billing_services, "credit_home", None)


def fee_discount_available() -> bool:
    return _credit_home() is not None


@transaction.atomic
def redeem_for_fee_discount(
    *, person: Person, home: Home, points: int, request_key: str = "", actor: User | None
) -> Redemption:
    """Spend ``points`` as a discount on ``home``'s property fees, through billing's ``credit_home``
    (idempotent by the same source reference). The person must currently live at the home; the
    value is ``points × fen_per_point`` (an integer: no rounding)."""
    credit_home = _credit_home()
    if credit_home is None:
        raise BillingNotAvailable()
    if not isinstance(points, int) or points <= 0:
        raise DomainError(_("Give a positive number of points."), field="points")
    with community_scope(person.community_id):
        if not Occupancy.objects.current().filter(person=person, home=home).exists():
            raise DomainError(_("You can only use points for a home you live in."), code="not_your_home", field="home")
        source_ref = f"fee:{person.pk}:{request_key}" if request_key else ""
        existing = _existing(person.community_id, source_ref)
        if existing is not None:
            return Redemption.objects.get(entry=existing)
        fen = points * life_settings(person.community_id).fen_per_point
        entry = _post(
            person,
            -points,
            kind="spend",
            reason=gettext("Fee discount for %(home)s") % {"home": home.label},
            source_ref=source_ref,
            actor=actor,
        )
        redemption = Redemption.objects.create(
            community_id=person.community_id,
            person=person,
            home=home,
            points=points,
            credit_fen=fen,
            status=Redemption.Status.CREDITED,
            entry=entry,
        )
        credit_home(  # type: ignore[operator]
            community_id=person.community_id,
            home_id=home.pk,
            amount_fen=fen,
            reason=gettext("Points discount (%(points)d points)") % {"points": points},
            source_ref=f"points:{entry.pk}",
            actor=actor,
        )
        audit.record(actor=actor, action="points.fee_discount", obj=redemption, after=audit.snapshot(redemption))
    return redemption


@transaction.atomic
def create_reward(
    *, community: Community, name: str, cost: int, stock: int, description: str = "", actor: User | None
) -> Reward:
    name = require_text(name, "name", max_length=80, message=_("A name is required."))
    if not isinstance(cost, int) or cost < 1:
        raise DomainError(_("The cost must be at least one point."), field="cost")
    if not isinstance(stock, int) or stock < 0:
        raise DomainError(_("The stock cannot be negative."), field="stock")
    with community_scope(community.pk):
        reward = Reward.objects.create(
            community=community, name=name, cost=cost, stock=stock, description=(description or "").strip()[:300]
        )
        audit.record(actor=actor, action="points.reward_create", obj=reward, after=audit.snapshot(reward))
    return reward


@transaction.atomic
def restock_reward(reward: Reward, *, add: int, actor: User | None) -> Reward:
    if not isinstance(add, int) or add == 0 or add > 100000:
        raise DomainError(_("Give the number of items to add (or a negative number to remove)."), field="add")
    with community_scope(reward.community_id):
        changed = Reward.objects.filter(pk=reward.pk, stock__gte=max(0, -add)).update(stock=F("stock") + add)
        if changed != 1:
            raise Conflict(_("There are not that many in stock."), code="stock_short")
        reward.refresh_from_db()
        audit.record(actor=actor, action="points.restock", obj=reward, after={"stock": reward.stock, "added": add})
    return reward


@transaction.atomic
def report_hazard(*, person: Person, place: str, description: str, actor: User | None) -> HazardReport:
    place = require_text(place, "place", max_length=120, message=_("Say where the hazard is."))
    description = require_text(description, "description", max_length=1000, message=_("Describe the hazard."))
    with community_scope(person.community_id):
        report = HazardReport.objects.create(
            community_id=person.community_id, reporter=person, place=place, description=description
        )
        audit.record(actor=actor, action="hazard.report", obj=report, after=audit.snapshot(report))
    return report


@transaction.atomic
def decide_hazard_report(report: HazardReport, *, verified: bool, actor: User | None) -> HazardReport:
    """Verify (award the hazard-report points under the rule in force when it was reported) or
    dismiss a report. Decided once."""
    with community_scope(report.community_id):
        status = HazardReport.Status.VERIFIED if verified else HazardReport.Status.DISMISSED
        changed = HazardReport.objects.filter(pk=report.pk, status=HazardReport.Status.OPEN).update(
            status=status, decided_at=timezone.now(), decided_by=actor
        )
        if changed != 1:
            raise Conflict(_("This report has already been decided."), code="already_decided")
        report.refresh_from_db()
        audit.record(actor=actor, action="hazard.decide", obj=report, after={"status": status})
        if verified:
            points = rule_points(report.community_id, PointsRule.Action.HAZARD_REPORT, report.created_at)
            if points > 0:
                award_points(
                    person=Person.objects.get(pk=report.reporter_id),
                    amount=points,
                    reason=gettext("Verified hazard report: %(place)s") % {"place": report.place},
                    source_ref=f"hazard:{report.pk}",
                    actor=actor,
                )
    return report
