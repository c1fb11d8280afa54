"""One-off charges, credits (discounts, waivers, points redeemed) and capped late fees."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.billing import ledger
from anju.billing.models import Account, Bill, BillLine, Credit, CreditAllocation
from anju.core import audit
from anju.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from anju.core.models import User
from anju.core.tenancy import community_scope
from anju.estates.models import Home

MAX_CHARGE_FEN = 100_000_000  # ¥1,000,000: anything above is a typo, not a repair

ONE_OFF_ACCOUNTS = {
    "repair": Account.INCOME_ONE_OFF,
    "one_off": Account.INCOME_ONE_OFF,
    "late_fee": Account.INCOME_LATE_FEE,
}


def _home(community_id: int, home_id: int) -> Home:
    home = Home.objects.filter(pk=home_id, community_id=community_id).first()
    if home is None:
        raise NotFound(field="home_id")
    return home


def _check_amount(amount_fen: int) -> None:
    if type(amount_fen) is not int or amount_fen <= 0:
        raise DomainError(_("The amount must be a positive number of fen."), field="amount_fen")
    if amount_fen > MAX_CHARGE_FEN:
        raise DomainError(_("The amount is implausibly large."), field="amount_fen")


@transaction.atomic
def charge_one_off(
    *,
    community_id: int,
    home_id: int,
    amount_fen: int,
    item: str,
    description: str,
    source_ref: str,
    actor: User | None,
    due_on: dt.date | None = None,
) -> Bill:
    """Bill a home once for something outside the monthly run (a paid repair, a late fee).

    Idempotent by ``source_ref`` (e.g. ``"workorder:42"``): a repeat returns the existing bill; the
    same reference with a different amount is refused. The bill and its ledger entry (receivable
    debited, the item's income account credited) commit together.
    """
    _check_amount(amount_fen)
    if not source_ref:
        raise DomainError(_("A one-off charge needs a source reference."), field="source_ref")
    account = ONE_OFF_ACCOUNTS.get(item, Account.INCOME_ONE_OFF)
    with community_scope(community_id):
        existing = Bill.objects.filter(source_ref=source_ref).first()
        if existing is not None:
            if existing.total_fen != amount_fen or existing.home_id != home_id:
                raise Conflict(
                    _("This charge was already made with a different amount or home."), code="charge_differs"
                )
            return existing
        _home(community_id, home_id)
        today = timezone.localdate()
        entry = ledger.post_entry(
            community_id=community_id,
            lines=[
                ledger.LedgerLine(Account.RECEIVABLE, debit_fen=amount_fen, home_id=home_id),
                ledger.LedgerLine(account, credit_fen=amount_fen),
            ],
            key=f"charge:{source_ref}",
            memo=description[:200],
            source_type="bill",
            source_id=source_ref,
            actor=actor,
        )
        bill = Bill.objects.create(
            community_id=community_id,
            home_id=home_id,
            period=today.replace(day=1),
            kind=Bill.Kind.ONE_OFF,
            total_fen=amount_fen,
            due_on=due_on or today + dt.timedelta(days=30),
            source_ref=source_ref,
            ledger_entry=entry,
        )
        BillLine.objects.create(
            community_id=community_id,
            bill=bill,
            item=item[:40],
            account=account,
            description=description[:200],
            quantity="1",
            unit_price=f"{amount_fen / 100:.2f}",
            amount_fen=amount_fen,
        )
        audit.record(actor=actor, action="bill.charge_one_off", obj=bill, after=audit.snapshot(bill))
    return bill


def _apply_credit(credit: Credit, *, actor: User | None) -> None:
    """Settle the home's open bills oldest first with the credit; the rest becomes prepaid. Bills are
    advanced with conditional UPDATEs on the amount read, so a concurrent payment is never lost."""
    remaining = credit.amount_fen
    lines = [ledger.LedgerLine(Account.DISCOUNTS, debit_fen=credit.amount_fen)]
    allocations: list[CreditAllocation] = []
    open_bills = Bill.objects.select_for_update().filter(home_id=credit.home_id, status__in=["unpaid", "partial"])
    for bill in open_bills.order_by("due_on", "period", "id"):
        if remaining <= 0:
            break
        take = min(remaining, bill.total_fen - bill.paid_fen)
        if take <= 0:
            continue
        paid = bill.paid_fen + take
        moved = Bill.objects.filter(pk=bill.pk, paid_fen=bill.paid_fen).update(
            paid_fen=paid, status=Bill.status_for(bill.total_fen, paid)
        )
        if moved != 1:
            raise Conflict()
        allocations.append(
            CreditAllocation(community_id=credit.community_id, credit=credit, bill=bill, amount_fen=take)
        )
        remaining -= take
    settled = credit.amount_fen - remaining
    if settled:
        lines.append(ledger.LedgerLine(Account.RECEIVABLE, credit_fen=settled, home_id=credit.home_id))
    if remaining:
        lines.append(ledger.LedgerLine(Account.PREPAID, credit_fen=remaining, home_id=credit.home_id))
    entry = ledger.post_entry(
        community_id=credit.community_id,
        lines=lines,
        key=f"credit:{credit.pk}",
        memo=credit.reason[:200],
        source_type="credit",
        source_id=str(credit.pk),
        actor=actor,
    )
    CreditAllocation.objects.bulk_create(allocations)
    Credit.objects.filter(pk=credit.pk).update(
        status=Credit.Status.APPLIED, ledger_entry=entry, decided_at=timezone.now(), decided_by=actor
    )
    credit.status = Credit.Status.APPLIED
    credit.ledger_entry = entry


@transaction.atomic
def credit_home(
    *, community_id: int, home_id: int, amount_fen: int, reason: str, source_ref: str, actor: User | None
) -> Credit:
    """Credit a home at once (points redeemed for a fee discount, an approved goodwill gesture).
    Idempotent by ``source_ref``; settles open bills oldest first, the rest becomes prepaid."""
    _check_amount(amount_fen)
    if not reason.strip():
        raise DomainError(_("Give a reason for the credit."), field="reason")
    if not source_ref:
        raise DomainError(_("A credit needs a source reference."), field="source_ref")
    with community_scope(community_id):
        existing = Credit.objects.filter(source_ref=source_ref).first()
        if existing is not None:
            if existing.amount_fen != amount_fen or existing.home_id != home_id:
                raise Conflict(
                    _("This credit was already given with a different amount or home."), code="credit_differs"
                )
            return existing
        _home(community_id, home_id)
        credit = Credit.objects.create(
            community_id=community_id,
            home_id=home_id,
            amount_fen=amount_fen,
            reason=reason.strip()[:200],
            source_ref=source_ref,
            requested_by=actor,
        )
        _apply_credit(credit, actor=actor)
        audit.record(actor=actor, action="credit.apply", obj=credit, after=audit.snapshot(credit))
    return credit


@transaction.atomic
def request_discount(*, community_id: int, home_id: int, amount_fen: int, reason: str, actor: User) -> Credit:
    """A discount or waiver asked for by staff: it waits for an approver other than the requester."""
    _check_amount(amount_fen)
    if not reason.strip():
        raise DomainError(_("Give a reason for the discount or waiver."), field="reason")
    with community_scope(community_id):
        _home(community_id, home_id)
        credit = Credit.objects.create(
            community_id=community_id,
            home_id=home_id,
            amount_fen=amount_fen,
            reason=reason.strip()[:200],
            requested_by=actor,
        )
        audit.record(actor=actor, action="credit.request", obj=credit, after=audit.snapshot(credit))
    return credit


@transaction.atomic
def decide_discount(*, community_id: int, credit_id: int, approve: bool, actor: User) -> Credit:
    """Approve (apply) or reject a requested discount. The requester may not decide their own."""
    with community_scope(community_id):
        credit = Credit.objects.select_for_update().filter(pk=credit_id).first()
        if credit is None:
            raise NotFound()
        if credit.status != Credit.Status.REQUESTED:
            raise Conflict(_("This discount was already decided."), code="already_decided")
        if credit.requested_by_id == actor.pk:
            raise PermissionDenied(_("Someone other than the requester must approve a discount."), code="four_eyes")
        before = audit.snapshot(credit)
        if approve:
            _apply_credit(credit, actor=actor)
        else:
            Credit.objects.filter(pk=credit.pk).update(
                status=Credit.Status.REJECTED, decided_by=actor, decided_at=timezone.now()
            )
            credit.status = Credit.Status.REJECTED
        audit.record(
            actor=actor,
            action="credit.approve" if approve else "credit.reject",
            obj=credit,
            before=before,
            after={"status": credit.status},
        )
    return credit


def late_fee_fen(*, outstanding_fen: int, days_overdue: int, per_day_permyriad: int, cap_percent: int) -> int:
    """The late fee on one overdue bill: outstanding × rate × days, rounded half up, never more than
    ``cap_percent`` of the outstanding amount (the cap itself at most 30%, DOMAIN §3)."""
    if outstanding_fen <= 0 or days_overdue <= 0 or per_day_permyriad <= 0:
        return 0
    accrued = (2 * outstanding_fen * per_day_permyriad * days_overdue + 10_000) // 20_000
    cap = outstanding_fen * min(cap_percent, 30) // 100
    return min(accrued, cap)


@transaction.atomic
def charge_late_fees(*, community_id: int, as_of: dt.date, actor: User | None) -> int:
    """Charge each overdue monthly bill's capped late fee once, as a one-off bill
    (``late_fee:<bill id>``). Off unless the community's settings give a rate. Returns bills charged.
    Never anything else: the company may not cut water, power, heating or gas (Civil Code Art. 944)."""
    from anju.billing.billruns import settings_for

    with community_scope(community_id):
        config = settings_for(community_id)
        if not config.late_fee_per_day_permyriad:
            return 0
        charged = set(Bill.objects.filter(source_ref__startswith="late_fee:").values_list("source_ref", flat=True))
        count = 0
        overdue = Bill.objects.filter(kind=Bill.Kind.PERIODIC, status__in=["unpaid", "partial"], due_on__lt=as_of)
        for bill in overdue.order_by("id"):
            ref = f"late_fee:{bill.pk}"
            if ref in charged:
                continue
            fee = late_fee_fen(
                outstanding_fen=bill.outstanding_fen,
                days_overdue=(as_of - bill.due_on).days,
                per_day_permyriad=config.late_fee_per_day_permyriad,
                cap_percent=config.late_fee_cap_percent,
            )
            if fee > 0:
                charge_one_off(
                    community_id=community_id,
                    home_id=bill.home_id,
                    amount_fen=fee,
                    item="late_fee",
                    description=str(_("Late fee on the bill for %(period)s") % {"period": f"{bill.period:%Y-%m}"}),
                    source_ref=ref,
                    actor=actor,
                )
                count += 1
    return count
