"""Bill runs: preview a period, then issue it in chunks, posting each chunk to the ledger.

Idempotency. A home has at most one monthly bill per period (a unique constraint), and every chunk
bills only homes that have none yet, so issuing a period twice — or resuming after a crash — creates
nothing new for homes already billed. Each chunk is one transaction: its bills, their lines and one
ledger entry (receivable debited per home, income credited per account) commit together or not at
all, and the run's progress counter advances with them.

Speed. Reads are a handful of set-based queries (:mod:`anju.billing.calculation`); writes reserve
ids from the sequences and stream bills, lines and ledger lines with COPY on PostgreSQL
(:mod:`anju.billing.bulk`). One audit row records each chunk (homes, bills, total), not one per bill:
the bills themselves are the immutable record, tied to the run and its ledger entry.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.billing import ledger, pricing
from anju.billing.bulk import collector_paused, insert_rows, reserve_ids
from anju.billing.calculation import PeriodBills, compute_period
from anju.billing.models import Account, Bill, BillingSettings, BillLine, BillRun
from anju.core import audit
from anju.core.errors import Conflict, DomainError, NotFound
from anju.core.models import User
from anju.core.periodic import after_commit, background
from anju.core.tenancy import community_scope
from anju.estates.models import Community, ServiceContract

CHUNK_HOMES = 25_000
STALE_ISSUING = dt.timedelta(minutes=15)


def settings_for(community_id: int) -> BillingSettings:
    """The community's billing settings (defaults until someone saves them). Inside its scope."""
    found = BillingSettings.objects.filter(community_id=community_id).first()
    return found or BillingSettings(community_id=community_id)


def parse_period(value: Any) -> dt.date:
    """``2026-03`` or a date → the first day of that month."""
    if isinstance(value, dt.date):
        return value.replace(day=1)
    try:
        year, month = str(value).strip()[:7].split("-")
        return dt.date(int(year), int(month), 1)
    except (ValueError, TypeError):
        raise DomainError(_("Give the period as year and month, e.g. 2026-03."), field="period") from None


def _fee_model(community_id: int, day: dt.date) -> str:
    contract = (
        ServiceContract.objects.filter(community_id=community_id, starts_on__lte=day)
        .order_by("-starts_on")
        .values_list("fee_model", flat=True)
        .first()
    )
    return contract or ""


def _summary(bills: PeriodBills, limit: int = 12) -> dict[str, Any]:
    by_item: dict[str, dict[str, Any]] = {}
    totals = bills.totals()
    for lines in bills.lines.values():
        for code, _account, description, _q, _p, amount in lines:
            row = by_item.setdefault(code, {"item": code, "name": description.split(" ")[0], "lines": 0, "fen": 0})
            row["lines"] += 1
            row["fen"] += amount
    sample = sorted(totals.items())[:limit]
    return {
        "homes": bills.homes_considered,
        "bills": len(totals),
        "total_fen": sum(totals.values()),
        "by_item": sorted(by_item.values(), key=lambda row: row["item"]),
        "held_readings": bills.held_readings,
        "sample": [{"home_id": home_id, "total_fen": total} for home_id, total in sample],
    }


@transaction.atomic
def preview_bill_run(*, community: Community, period: dt.date, actor: User | None) -> BillRun:
    """Compute the period without issuing anything and keep the summary on the run (created on
    first preview; an issued run is shown as it is)."""
    period = parse_period(period)
    with community_scope(community.pk):
        run = BillRun.objects.select_for_update().filter(community=community, period=period).first()
        if run is not None and run.status in (BillRun.Status.ISSUING, BillRun.Status.ISSUED):
            return run
        already = set(Bill.objects.filter(period=period, kind=Bill.Kind.PERIODIC).values_list("home_id", flat=True))
        with collector_paused():
            bills = compute_period(community.pk, period, exclude_home_ids=already)
            summary = _summary(bills)
        first, _last, _days = pricing.month_bounds(period)
        # Due a fixed number of days after the month starts, whenever the run happens to be issued.
        due_on = first + dt.timedelta(days=settings_for(community.pk).due_days)
        if run is None:
            run = BillRun(community=community, period=first, created_by=actor)
        run.status = BillRun.Status.PREVIEW
        run.fee_model = _fee_model(community.pk, first)
        run.due_on = due_on
        run.home_count = summary["bills"]
        run.total_fen = summary["total_fen"]
        run.preview = summary
        try:
            with transaction.atomic():
                run.save()
        except IntegrityError:  # another preview of the same period created the run first
            raise Conflict(_("This period is being prepared right now."), code="bill_run_busy") from None
        audit.record(
            actor=actor,
            action="billrun.preview",
            obj=run,
            after={"period": f"{first:%Y-%m}", "bills": summary["bills"], "total_fen": summary["total_fen"]},
        )
    return run


@transaction.atomic
def issue_bill_run(*, community: Community, period: dt.date, actor: User | None, inline: bool = False) -> BillRun:
    """Mark the period's run as issuing and issue it after commit (in the request without Celery, on
    a worker with it), or at once inside this transaction with ``inline`` (the demo, scripts). A run
    already issuing (and not stale) is refused; an issued run is issued again only for homes still
    without a bill, which normally means nothing happens."""
    period = parse_period(period)
    with community_scope(community.pk):
        run = BillRun.objects.filter(community=community, period=period).first()
        if run is None:
            run = preview_bill_run(community=community, period=period, actor=actor)
        if run.status == BillRun.Status.ISSUING and run.started_at and timezone.now() - run.started_at < STALE_ISSUING:
            raise Conflict(_("This period is being issued right now."), code="bill_run_busy")
        claimed = BillRun.objects.filter(pk=run.pk, status=run.status).update(
            status=BillRun.Status.ISSUING, started_at=timezone.now(), error=""
        )
        if claimed != 1:
            raise Conflict(_("This period is being issued right now."), code="bill_run_busy")
        audit.record(actor=actor, action="billrun.issue", obj=run, after={"period": f"{run.period:%Y-%m}"})
    if inline:
        with community_scope(community.pk):
            issue_chunks(run, actor=actor)
            BillRun.objects.filter(pk=run.pk).update(status=BillRun.Status.ISSUED, finished_at=timezone.now())
            run.refresh_from_db()
        return run
    after_commit(process_bill_run, run.pk, actor.pk if actor is not None else None)
    run.status = BillRun.Status.ISSUING
    return run


@background
def process_bill_run(run_id: int, actor_id: int | None = None) -> int:
    """Issue the bills of a run that is ``issuing``, chunk by chunk. Returns the bills created."""
    from django_scopes import scopes_disabled

    with scopes_disabled():
        run = BillRun.objects.filter(pk=run_id).first()
    if run is None:
        raise NotFound()
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    created = 0
    try:
        with community_scope(run.community_id):
            created = issue_chunks(run, actor=actor)
            BillRun.objects.filter(pk=run.pk).update(status=BillRun.Status.ISSUED, finished_at=timezone.now())
    except Exception as error:  # recorded on the run for the finance page; the chunks done stay done
        with community_scope(run.community_id):
            BillRun.objects.filter(pk=run.pk).update(status=BillRun.Status.FAILED, error=repr(error)[:300])
        raise
    return created


def issue_chunks(run: BillRun, *, actor: User | None, chunk_homes: int = CHUNK_HOMES) -> int:
    """Bill every home of the run's community that has no bill for the period yet, ``chunk_homes``
    homes per transaction. Inside the community's scope. Returns the bills created."""
    with collector_paused():
        already = set(Bill.objects.filter(period=run.period, kind=Bill.Kind.PERIODIC).values_list("home_id", flat=True))
        bills = compute_period(run.community_id, run.period, exclude_home_ids=already)
        totals = bills.totals()
        home_ids = sorted(home_id for home_id, total in totals.items() if total > 0)
        BillRun.objects.filter(pk=run.pk).update(home_count=len(already) + len(home_ids), homes_done=len(already))
        created = 0
        for start in range(0, len(home_ids), chunk_homes):
            chunk = home_ids[start : start + chunk_homes]
            created += _issue_chunk(run, chunk, bills, totals, actor=actor)
    return created


@transaction.atomic
def _issue_chunk(
    run: BillRun, home_ids: list[int], bills: PeriodBills, totals: dict[int, int], *, actor: User | None
) -> int:
    community_id = run.community_id
    lines_of = bills.lines
    income: dict[str, int] = defaultdict(int)
    receivable: list[ledger.LedgerLine] = []
    receivable_account = Account.RECEIVABLE.value
    for home_id in home_ids:
        for line in lines_of[home_id]:
            income[line[1]] += line[5]
        receivable.append(ledger.LedgerLine(receivable_account, debit_fen=totals[home_id], home_id=home_id))
    lines = receivable + [ledger.LedgerLine(account, credit_fen=fen) for account, fen in sorted(income.items())]
    entry = ledger.post_entries(
        community_id=community_id,
        drafts=[
            ledger.EntryDraft(
                key=f"billrun:{run.pk}:{home_ids[0]}",
                lines=lines,
                memo=f"{run.period:%Y-%m} bills ({len(home_ids)})",
                source_type="billrun",
                source_id=str(run.pk),
            )
        ],
        actor=actor,
    )[0]
    bill_ids = reserve_ids(Bill, len(home_ids))
    # The same for every bill of the chunk: looked up once, not once per row.
    period, kind, run_id, unpaid = run.period, Bill.Kind.PERIODIC.value, run.pk, Bill.Status.UNPAID.value
    now, due_on, entry_id = timezone.now(), run.due_on, entry.pk
    insert_rows(
        Bill,
        (
            "id",
            "community_id",
            "home_id",
            "period",
            "kind",
            "run_id",
            "status",
            "total_fen",
            "paid_fen",
            "issued_at",
            "due_on",
            "source_ref",
            "ledger_entry_id",
        ),
        (
            (
                bill_id,
                community_id,
                home_id,
                period,
                kind,
                run_id,
                unpaid,
                totals[home_id],
                0,
                now,
                due_on,
                "",
                entry_id,
            )
            for bill_id, home_id in zip(bill_ids, home_ids, strict=True)
        ),
    )
    insert_rows(
        BillLine,
        ("community_id", "bill_id", "item", "account", "description", "quantity", "unit_price", "amount_fen"),
        (
            (community_id, bill_id, code, account, description[:200], quantity[:40], price[:40], amount)
            for bill_id, home_id in zip(bill_ids, home_ids, strict=True)
            for code, account, description, quantity, price, amount in lines_of[home_id]
        ),
    )
    total = sum(line.debit_fen for line in receivable)
    BillRun.objects.filter(pk=run.pk).update(
        homes_done=F("homes_done") + len(home_ids),
        bill_count=F("bill_count") + len(home_ids),
    )
    audit.record(
        actor=actor,
        action="billrun.chunk",
        obj=run,
        after={"bills": len(home_ids), "total_fen": total, "ledger_entry": entry.pk, "first_home": home_ids[0]},
    )
    return len(home_ids)
