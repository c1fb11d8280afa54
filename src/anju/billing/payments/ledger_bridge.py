"""How payments talk to billing's ledger and bills: the entries payments post, and the reads the
published accounts make. Everything about account codes lives here.

Entries posted (all through :func:`anju.billing.ledger.post_entry`, idempotent by key):

=====================  ==========================================================================
payment ``payment:<trade_no>``   Dr money account (cash / bank / provider clearing) = amount;
                                  Cr receivable(home) = applied to bills; Cr prepaid(home) = rest
prepaid use ``prepaid-use:<n>``  Dr prepaid(home); Cr receivable(home)
refund ``refund:<id>``           (at approval) Dr receivable(home) per reversed bill amount;
                                  Dr prepaid(home) for the prepaid part; Cr ``refunds_payable`` = R
refund pay-out                   (when the money has left) Dr ``refunds_payable`` = R; Cr the money
  ``refund-paid:<id>``            account it left from: provider clearing for a refund the provider
                                  confirmed, cash or bank for one a clerk paid out
expense ``expense:<id>``         Dr ``expense:<category>``; Cr bank
common income ``common:<id>``    Dr bank = gross; Cr ``owners:common_income`` = owners' share;
                                  Cr ``expense:common_costs`` = the cost kept (a recovery of the
                                  company's cost of running it, so a contra-expense)
=====================  ==========================================================================

Why two entries for a refund: approval is certain (the bills owe again, the prepaid credit is
gone, we owe the payer R) but whether the provider pays it back is not — it may refuse, fail on the
payer's closed card or time out. So approval credits the liability ``refunds_payable``, and only the
provider's confirmation (or a clerk's counter pay-out) moves the money out of provider clearing,
cash or bank. A failed or pending refund therefore leaves the money where it is and the debt on
``refunds_payable``; that account's balance is exactly the approved refunds not yet paid out, which
``anju verify_ledger`` checks. Refunds approved before this scheme credited the money account at
approval directly (one entry); they count as paid out.

The prepaid balance of a home is the credit balance of its ``prepaid`` lines; billing's credits
write there too, so the ledger is the only place it is kept.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db.models import Q, Sum
from django.utils import timezone

from anju.billing import ledger
from anju.billing.ledger import LedgerLine
from anju.billing.models import Account, Bill, LedgerChainHead, LedgerEntry, LedgerEntryLine
from anju.core.models import User
from anju.core.tenancy import scopes_disabled

BILL_AGE_ORDER = ("due_on", "period", "id")
MONEY_ACCOUNTS = {
    "cash": Account.CASH.value,
    "transfer": Account.BANK.value,
    "pos": Account.BANK.value,
    "wechat": Account.PROVIDER_CLEARING.value,
    "alipay": Account.PROVIDER_CLEARING.value,
    "sandbox": Account.PROVIDER_CLEARING.value,
}
COMMON_COSTS_ACCOUNT = "expense:common_costs"
REFUND_PAYOUT_SOURCE = "refund_payout"
# How compute_figures reads account codes (``kind:sub``).
FEE_INCOME_PREFIX = "income"
EXPENSE_PREFIX = "expense"
COMMON_INCOME_PREFIX = "owners:common_income"
COMMON_COST_PREFIX = COMMON_COSTS_ACCOUNT


def yuan(fen: int) -> str:
    from anju.billing.payments.labels import yuan as fmt

    return fmt(fen)


def payable_bill_filter() -> dict[str, Any]:
    return {"status__in": [Bill.Status.UNPAID, Bill.Status.PARTIAL], "total_fen__gt": 0}


def bill_status_after(bill: Bill, new_paid_fen: int) -> dict[str, str]:
    return {"status": Bill.status_for(bill.total_fen, new_paid_fen)}


def bill_period_label(bill: Bill) -> str:
    label = f"{bill.period:%Y-%m}"
    return label if bill.kind == Bill.Kind.PERIODIC else f"{label} #{bill.pk}"


def community_name(community_id: int) -> str:
    from anju.estates.models import Community

    return Community.objects.filter(pk=community_id).values_list("name", flat=True).first() or ""


def fee_model(community_id: int, on: dt.date) -> str:
    from anju.estates.models import ServiceContract

    contract = (
        ServiceContract.objects.filter(community_id=community_id, starts_on__lte=on)
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gt=on))
        .order_by("-starts_on")
        .first()
    )
    return contract.fee_model if contract else ServiceContract.FeeModel.LUMP_SUM


def fee_item_label(code: str) -> str:
    for value, label in Account.choices:
        if value == f"income:{code}":
            return str(label)
    if code == "discounts":
        return str(Account.DISCOUNTS.label)
    return code


# --- prepaid balances ---------------------------------------------------------------------------


def lock_ledger(community_id: int) -> None:
    """Hold the community's chain head until commit, so a balance read now stays true until the
    entry that spends it is posted (every ledger writer takes the same lock)."""
    LedgerChainHead.objects.bulk_create(
        [LedgerChainHead(community_id=community_id, seq=0, hash=ledger.GENESIS_HASH)], ignore_conflicts=True
    )
    LedgerChainHead.objects.select_for_update().filter(community_id=community_id).first()


def prepaid_fen(home_id: int) -> int:
    """The home's prepaid balance: credits minus debits of its ``prepaid`` lines."""
    return -ledger.balance_fen(Account.PREPAID, home_id=home_id)


def receivable_fen(home_id: int) -> int:
    return ledger.balance_fen(Account.RECEIVABLE, home_id=home_id)


# --- posting -------------------------------------------------------------------------------------


def post_payment(order: Any, *, allocated_fen: int, prepaid_fen: int, actor: User | None) -> LedgerEntry:
    lines = [LedgerLine(MONEY_ACCOUNTS[order.method], debit_fen=order.amount_fen)]
    if allocated_fen:
        lines.append(LedgerLine(Account.RECEIVABLE, credit_fen=allocated_fen, home_id=order.home_id))
    if prepaid_fen:
        lines.append(LedgerLine(Account.PREPAID, credit_fen=prepaid_fen, home_id=order.home_id))
    return ledger.post_entry(
        community_id=order.community_id,
        lines=lines,
        key=f"payment:{order.trade_no}",
        memo=f"{order.method} {order.trade_no}",
        source_type="payment",
        source_id=str(order.pk),
        actor=actor,
    )


def post_prepaid_use(home: Any, applied: Sequence[Any], *, key: str, actor: User | None) -> LedgerEntry:
    used = sum(a.amount_fen for a in applied)
    return ledger.post_entry(
        community_id=home.community_id,
        lines=[
            LedgerLine(Account.PREPAID, debit_fen=used, home_id=home.pk),
            LedgerLine(Account.RECEIVABLE, credit_fen=used, home_id=home.pk),
        ],
        key=key,
        memo="prepaid applied",
        source_type="prepaid_use",
        source_id=str(home.pk),
        actor=actor,
    )


def post_refund(refund: Any, *, actor: User | None) -> LedgerEntry:
    order = refund.order
    lines = []
    bills = sum(line["amount_fen"] for line in refund.lines if line["kind"] == "bill")
    prepaid = sum(line["amount_fen"] for line in refund.lines if line["kind"] == "prepaid")
    if bills:
        lines.append(LedgerLine(Account.RECEIVABLE, debit_fen=bills, home_id=order.home_id))
    if prepaid:
        lines.append(LedgerLine(Account.PREPAID, debit_fen=prepaid, home_id=order.home_id))
    lines.append(LedgerLine(Account.REFUNDS_PAYABLE, credit_fen=refund.amount_fen))
    return ledger.post_entry(
        community_id=refund.community_id,
        lines=lines,
        key=f"refund:{refund.pk}",
        memo=f"refund {order.trade_no}",
        source_type="refund",
        source_id=str(refund.pk),
        actor=actor,
    )


def post_refund_payout(refund: Any, *, method: str, actor: User | None) -> LedgerEntry:
    """The refund's money has left through ``method``: settle the liability from that account."""
    return ledger.post_entry(
        community_id=refund.community_id,
        lines=[
            LedgerLine(Account.REFUNDS_PAYABLE, debit_fen=refund.amount_fen),
            LedgerLine(MONEY_ACCOUNTS[method], credit_fen=refund.amount_fen),
        ],
        key=f"refund-paid:{refund.pk}",
        memo=f"refund paid {refund.order.trade_no} ({method})",
        source_type=REFUND_PAYOUT_SOURCE,
        source_id=str(refund.pk),
        actor=actor,
    )


def refund_money_out_fen(refund_id: int) -> int:
    """What the refund's entries took out of money accounts (its pay-out, or a legacy approval)."""
    total = LedgerEntryLine.objects.filter(
        entry__source_type__in=["refund", REFUND_PAYOUT_SOURCE],
        entry__source_id=str(refund_id),
        account__in=set(MONEY_ACCOUNTS.values()),
    ).aggregate(s=Sum("credit_fen"))["s"]
    return int(total or 0)


def refunds_payable_fen(community_id: int) -> int:
    """Credits minus debits of ``refunds_payable``: approved refunds not yet paid out."""
    sums = LedgerEntryLine.objects.filter(community_id=community_id, account=Account.REFUNDS_PAYABLE).aggregate(
        d=Sum("debit_fen"), c=Sum("credit_fen")
    )
    return int((sums["c"] or 0) - (sums["d"] or 0))


def _post(community_id: int, draft: ledger.EntryDraft, actor: User | None, posted_at: dt.datetime | None) -> Any:
    return ledger.post_entries(community_id=community_id, drafts=[draft], actor=actor, now=posted_at)[0]


def post_expense(expense: Any, *, actor: User | None, posted_at: dt.datetime | None = None) -> LedgerEntry:
    draft = ledger.EntryDraft(
        key=f"expense:{expense.pk}",
        lines=[
            LedgerLine(f"expense:{expense.category}", debit_fen=expense.amount_fen),
            LedgerLine(Account.BANK, credit_fen=expense.amount_fen),
        ],
        memo=expense.description[:200],
        source_type="expense",
        source_id=str(expense.pk),
    )
    return _post(expense.community_id, draft, actor, posted_at)


def post_common_income(income: Any, *, actor: User | None, posted_at: dt.datetime | None = None) -> LedgerEntry:
    owners = income.amount_fen - income.cost_fen
    lines = [LedgerLine(Account.BANK, debit_fen=income.amount_fen)]
    if owners:
        lines.append(LedgerLine(Account.OWNERS_COMMON_INCOME, credit_fen=owners))
    if income.cost_fen:
        lines.append(LedgerLine(COMMON_COSTS_ACCOUNT, credit_fen=income.cost_fen))
    draft = ledger.EntryDraft(
        key=f"common:{income.pk}",
        lines=lines,
        memo=income.description[:200],
        source_type=f"common_income:{income.kind}",
        source_id=str(income.pk),
    )
    return _post(income.community_id, draft, actor, posted_at)


# --- reading for statements --------------------------------------------------------------------


def chain_head(community_id: int) -> tuple[int, str]:
    head = LedgerChainHead.objects.filter(community_id=community_id).first()
    return (head.seq, head.hash) if head else (0, ledger.GENESIS_HASH)


def _period_lines(community_id: int, starts_on: dt.date, ends_on: dt.date, upto_seq: int) -> Any:
    start = timezone.make_aware(dt.datetime.combine(starts_on, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(ends_on + dt.timedelta(days=1), dt.time.min))
    return LedgerEntryLine.objects.filter(
        community_id=community_id,
        entry__seq__lte=upto_seq,
        entry__posted_at__gte=start,
        entry__posted_at__lt=end,
    )


def period_movements(
    community_id: int, starts_on: dt.date, ends_on: dt.date, upto_seq: int
) -> dict[str, tuple[int, int]]:
    """Debits and credits per account (per common-income kind for the owners' share) of the entries
    posted in the period (Asia/Shanghai days) up to chain position ``upto_seq``."""
    lines = _period_lines(community_id, starts_on, ends_on, upto_seq)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for account, source_type, debit, credit in (
        lines.values("account", "entry__source_type")
        .annotate(d=Sum("debit_fen"), c=Sum("credit_fen"))
        .values_list("account", "entry__source_type", "d", "c")
        .order_by()
    ):
        key = account
        if account == Account.OWNERS_COMMON_INCOME and source_type.startswith("common_income:"):
            key = f"{account}:{source_type.split(':', 1)[1]}"
        elif account == Account.DISCOUNTS:
            key = "income:discounts"
        totals[key][0] += debit or 0
        totals[key][1] += credit or 0
    return {account: (debit, credit) for account, (debit, credit) in sorted(totals.items())}


def collected_fen(community_id: int, starts_on: dt.date, ends_on: dt.date, upto_seq: int) -> int:
    """Money received from payers in the period less refunds paid back: what refund entries took out
    of money accounts (pay-outs, and approvals from before pay-outs were separate), so an approved
    refund still waiting for its pay-out is not yet money gone."""
    entries = LedgerEntry.objects.filter(
        community_id=community_id,
        seq__lte=upto_seq,
        posted_at__gte=timezone.make_aware(dt.datetime.combine(starts_on, dt.time.min)),
        posted_at__lt=timezone.make_aware(dt.datetime.combine(ends_on + dt.timedelta(days=1), dt.time.min)),
    )
    paid = entries.filter(source_type="payment").aggregate(s=Sum("total_fen"))["s"] or 0
    refunded = (
        _period_lines(community_id, starts_on, ends_on, upto_seq)
        .filter(entry__source_type__in=["refund", REFUND_PAYOUT_SOURCE], account__in=set(MONEY_ACCOUNTS.values()))
        .aggregate(s=Sum("credit_fen"))["s"]
        or 0
    )
    return int(paid) - int(refunded)


def chain_intact_to(community_id: int, upto_seq: int, expected_hash: str) -> bool:
    """Recompute the community's hash chain from the first entry to ``upto_seq``: every entry
    balanced, linked to the one before and hashing to its stored hash, and entry ``upto_seq`` hashing
    to ``expected_hash``."""
    if upto_seq == 0:
        return expected_hash == ledger.GENESIS_HASH
    with scopes_disabled():
        entries = list(LedgerEntry.objects.filter(community_id=community_id, seq__lte=upto_seq).order_by("seq"))
        lines: dict[int, list[tuple[str, int, int, int]]] = defaultdict(list)
        for entry_id, account, home_id, debit, credit in (
            LedgerEntryLine.objects.filter(community_id=community_id, entry__seq__lte=upto_seq)
            .values_list("entry_id", "account", "home_id", "debit_fen", "credit_fen")
            .iterator(chunk_size=20000)
        ):
            lines[entry_id].append((account, home_id or 0, debit, credit))
    prev_hash = ledger.GENESIS_HASH
    for expected_seq, entry in enumerate(entries, start=1):
        own = lines.get(entry.pk, [])
        if entry.seq != expected_seq or entry.prev_hash != prev_hash:
            return False
        if sum(line[2] for line in own) != entry.total_fen or sum(line[3] for line in own) != entry.total_fen:
            return False
        recomputed = ledger.entry_hash(
            prev_hash=prev_hash,
            community_id=community_id,
            seq=entry.seq,
            key=entry.key,
            memo=entry.memo,
            source_type=entry.source_type,
            source_id=entry.source_id,
            posted_at=entry.posted_at,
            reverses_id=entry.reverses_id,
            total_fen=entry.total_fen,
            lines_text=ledger.canonical_lines_text(own),
        )
        if recomputed != entry.hash:
            return False
        prev_hash = entry.hash
    return len(entries) == upto_seq and prev_hash == expected_hash
