"""Expenses, common-area income and the published accounts (账目公示), all through the ledger.

A statement's figures are computed from the ledger alone: the movements of each account between the
period's first and last day, reading only entries up to the chain position ``ledger_seq`` whose hash
is recorded as ``ledger_hash``. ``digest`` is SHA-256 over the canonical JSON of the figures and the
chain position. Verifying a statement (:func:`verify_statement`) therefore checks three things:

1. the stored figures still hash to ``digest`` (the statement row was not edited);
2. the ledger's hash chain is intact up to ``ledger_seq`` and that entry's hash is ``ledger_hash``
   (the ledger the figures were computed from was not rewritten);
3. recomputing the figures from the ledger up to ``ledger_seq`` gives the stored figures.

Figures (all integer fen): fee income by item; money collected (payments less refunds); expenses by
category; common-area income (gross, the reasonable cost the company kept, the owners' share, by
kind); for cost-plus (酬金制) communities the company's remuneration; and the result for the
period: fee income + owners' common income − expenses − remuneration.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.billing.payments import ledger_bridge
from anju.billing.payments.models import CommonIncome, CommonIncomeKind, Expense, ExpenseCategory, Statement
from anju.billing.payments.services.receipts import canonical_json
from anju.core import audit
from anju.core.errors import Conflict, DomainError
from anju.core.models import User
from anju.estates.models import Community

MAX_AMOUNT_FEN = 100_000_000_00


def _positive(amount_fen: int, field_name: str = "amount_fen") -> int:
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise DomainError(_("The amount must be greater than zero."), field=field_name)
    if amount_fen > MAX_AMOUNT_FEN:
        raise DomainError(_("The amount is implausibly large."), field=field_name)
    return amount_fen


@transaction.atomic
def record_expense(
    *,
    community: Community,
    category: str,
    amount_fen: int,
    spent_on: dt.date,
    description: str,
    vendor: str = "",
    actor: User,
    posted_at: dt.datetime | None = None,
) -> Expense:
    """Record money spent by category (posted Dr ``expense:<category>``, Cr bank). ``posted_at``
    back-dates the ledger entry; only the demo seeder uses it, to give last quarter some history."""
    if category not in ExpenseCategory.values:
        raise DomainError(_("Unknown expense category."), field="category")
    description = description.strip()
    if not description:
        raise DomainError(_("Describe the expense."), field="description")
    expense = Expense.objects.create(
        community=community,
        category=category,
        amount_fen=_positive(amount_fen),
        spent_on=spent_on,
        description=description[:200],
        vendor=vendor.strip()[:100],
        recorded_by=actor,
    )
    ledger_bridge.post_expense(expense, actor=actor, posted_at=posted_at)
    audit.record(actor=actor, action="expense.record", obj=expense, after=audit.snapshot(expense))
    return expense


@transaction.atomic
def record_common_income(
    *,
    community: Community,
    kind: str,
    amount_fen: int,
    cost_fen: int = 0,
    received_on: dt.date,
    description: str,
    actor: User,
    posted_at: dt.datetime | None = None,
) -> CommonIncome:
    """Income from common parts; ``cost_fen`` is the reasonable cost the company keeps for running
    it (Civil Code Art. 282), the rest is credited to the owners."""
    if kind not in CommonIncomeKind.values:
        raise DomainError(_("Unknown kind of common-area income."), field="kind")
    amount = _positive(amount_fen)
    if isinstance(cost_fen, bool) or not isinstance(cost_fen, int) or cost_fen < 0 or cost_fen > amount:
        raise DomainError(_("The cost kept must be between zero and the amount received."), field="cost_fen")
    description = description.strip()
    if not description:
        raise DomainError(_("Describe the income."), field="description")
    income = CommonIncome.objects.create(
        community=community,
        kind=kind,
        amount_fen=amount,
        cost_fen=cost_fen,
        received_on=received_on,
        description=description[:200],
        recorded_by=actor,
    )
    ledger_bridge.post_common_income(income, actor=actor, posted_at=posted_at)
    audit.record(actor=actor, action="common_income.record", obj=income, after=audit.snapshot(income))
    return income


# --- statements ------------------------------------------------------------------------------------


def period_bounds(period: str, year: int, number: int) -> tuple[dt.date, dt.date]:
    """First and last day of month ``number`` or quarter ``number`` of ``year``."""
    if period == Statement.Period.MONTH and 1 <= number <= 12:
        first_month, months = number, 1
    elif period == Statement.Period.QUARTER and 1 <= number <= 4:
        first_month, months = 3 * (number - 1) + 1, 3
    else:
        raise DomainError(_("Unknown period."), field="period")
    if not 2000 <= year <= 2200:
        raise DomainError(_("Unknown period."), field="year")
    start = dt.date(year, first_month, 1)
    end_month = first_month + months
    end = (dt.date(year + 1, 1, 1) if end_month > 12 else dt.date(year, end_month, 1)) - dt.timedelta(days=1)
    return start, end


@dataclass
class Figures:
    fee_income: dict[str, int] = field(default_factory=dict)
    expenses: dict[str, int] = field(default_factory=dict)
    common_income: dict[str, int] = field(default_factory=dict)
    collected_fen: int = 0
    refunded_fen: int = 0
    common_cost_fen: int = 0
    remuneration_fen: int = 0


def compute_figures(community: Community, starts_on: dt.date, ends_on: dt.date, upto_seq: int) -> dict[str, Any]:
    """The statement's figures from the ledger movements in the period, up to ``upto_seq``."""
    movements = ledger_bridge.period_movements(community.pk, starts_on, ends_on, upto_seq)
    figures = Figures()
    for account, (debit, credit) in movements.items():
        if account == ledger_bridge.COMMON_COSTS_ACCOUNT:
            figures.common_cost_fen += credit - debit
        elif account.startswith(ledger_bridge.COMMON_INCOME_PREFIX + ":"):
            kind = account.removeprefix(ledger_bridge.COMMON_INCOME_PREFIX + ":")
            figures.common_income[kind] = figures.common_income.get(kind, 0) + credit - debit
        elif account.startswith(ledger_bridge.FEE_INCOME_PREFIX + ":"):
            item = account.removeprefix(ledger_bridge.FEE_INCOME_PREFIX + ":")
            figures.fee_income[item] = figures.fee_income.get(item, 0) + credit - debit
        elif account.startswith(ledger_bridge.EXPENSE_PREFIX + ":"):
            category = account.removeprefix(ledger_bridge.EXPENSE_PREFIX + ":")
            if category == ExpenseCategory.REMUNERATION:
                figures.remuneration_fen += debit - credit
            else:
                figures.expenses[category] = figures.expenses.get(category, 0) + debit - credit
    figures.collected_fen = ledger_bridge.collected_fen(community.pk, starts_on, ends_on, upto_seq)
    fee_total = sum(figures.fee_income.values())
    expenses_total = sum(figures.expenses.values())
    owners_common = sum(figures.common_income.values())
    cost_plus = ledger_bridge.fee_model(community.pk, ends_on) == "cost_plus"
    return {
        "fee_model": "cost_plus" if cost_plus else "lump_sum",
        "from": starts_on.isoformat(),
        "to": ends_on.isoformat(),
        "fee_income": dict(sorted(figures.fee_income.items())),
        "fee_income_total": fee_total,
        "collected_fen": figures.collected_fen,
        "expenses": dict(sorted(figures.expenses.items())),
        "expenses_total": expenses_total,
        "common_income": {
            "owners_share_by_kind": dict(sorted(figures.common_income.items())),
            "owners_share": owners_common,
            "cost_kept": figures.common_cost_fen,
            "gross": owners_common + figures.common_cost_fen,
        },
        "remuneration_fen": figures.remuneration_fen,
        "result_fen": fee_total + owners_common - expenses_total - figures.remuneration_fen,
    }


def statement_digest(figures: dict[str, Any], ledger_seq: int, ledger_hash: str) -> str:
    return hashlib.sha256(canonical_json({"figures": figures, "seq": ledger_seq, "hash": ledger_hash})).hexdigest()


@transaction.atomic
def publish_statement(*, community: Community, period: str, year: int, number: int, actor: User) -> Statement:
    """Compute the period's statement from the ledger as it stands and publish it to residents."""
    starts_on, ends_on = period_bounds(period, year, number)
    if starts_on > timezone.localdate():
        raise DomainError(_("This period has not started yet."), field="number")
    seq, head_hash = ledger_bridge.chain_head(community.pk)
    figures = compute_figures(community, starts_on, ends_on, seq)
    try:
        with transaction.atomic():
            statement = Statement.objects.create(
                community=community,
                period=period,
                starts_on=starts_on,
                ends_on=ends_on,
                figures=figures,
                ledger_seq=seq,
                ledger_hash=head_hash,
                digest=statement_digest(figures, seq, head_hash),
                published_by=actor,
            )
    except IntegrityError:
        raise Conflict(_("A statement for this period is already published."), field="period") from None
    audit.record(
        actor=actor,
        action="statement.publish",
        obj=statement,
        after={"period": period, "from": str(starts_on), "to": str(ends_on), "digest": statement.digest},
    )
    return statement


@dataclass(frozen=True)
class Verification:
    ok: bool
    digest_ok: bool
    chain_ok: bool
    figures_ok: bool
    differences: tuple[str, ...] = ()


def verify_statement(statement: Statement) -> Verification:
    """Check the statement against itself and the ledger (see the module docstring)."""
    digest_ok = statement_digest(statement.figures, statement.ledger_seq, statement.ledger_hash) == statement.digest
    chain_ok = ledger_bridge.chain_intact_to(statement.community_id, statement.ledger_seq, statement.ledger_hash)
    recomputed = compute_figures(statement.community, statement.starts_on, statement.ends_on, statement.ledger_seq)
    differences = tuple(
        sorted(
            key for key in set(recomputed) | set(statement.figures) if recomputed.get(key) != statement.figures.get(key)
        )
    )
    figures_ok = not differences
    return Verification(digest_ok and chain_ok and figures_ok, digest_ok, chain_ok, figures_ok, differences)
