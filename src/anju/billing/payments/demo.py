"""Demo data for payments (step 40, after billing's bills): online and counter payments, a refund,
expenses and common-area income, and the published accounts of the last quarter and this month."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from anju.billing.payments.models import Statement
from anju.billing.payments.providers import override_provider
from anju.billing.payments.providers.sandbox import SandboxProvider
from anju.billing.payments.services import accounts, callbacks, payments, refund_payouts, refunds
from anju.billing.payments.services.allocation import open_bills
from anju.core.demo.hooks import DemoContext, demo_step
from anju.estates.models import Home
from anju.residents.models import Occupancy

PAYERS = {"small": 8, "medium": 60, "large": 300}
EXPENSES = [
    ("staff", 1_860_000, "秩序维护与保洁人员工资"),
    ("cleaning", 126_000, "保洁耗材"),
    ("greenery", 88_000, "绿化养护"),
    ("repairs", 215_500, "水泵检修"),
    ("utilities", 342_080, "公共区域电费"),
    ("insurance", 60_000, "公众责任险"),
]


def _noon(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(12)))


def _last_quarter(today: dt.date) -> tuple[int, int]:
    quarter = (today.month - 1) // 3
    return (today.year, quarter) if quarter else (today.year - 1, 4)


@demo_step(order=40)
def seed_payments(ctx: DemoContext) -> None:
    finance, manager = ctx.staff["finance"], ctx.staff["manager"]
    sandbox = SandboxProvider(b"demo")  # the demo posts through the same callback path as the cashier page
    today = timezone.localdate()
    year, quarter = _last_quarter(today)
    quarter_start, _quarter_end = accounts.period_bounds(Statement.Period.QUARTER, year, quarter)
    paid = refunded = 0
    for community in ctx.communities.values():
        homes = list(Home.objects.filter(community=community).order_by("id")[: PAYERS.get(ctx.size, 8) * 3])
        counter_paid = []
        online_paid = []
        for index, home in enumerate(homes[: PAYERS.get(ctx.size, 8)]):
            bills = open_bills(home.pk)
            if index % 3 == 0 and bills:
                occupant = Occupancy.objects.current().filter(home=home, person__user__isnull=False).first()
                payer = occupant.person.user if occupant is not None else None
                if payer is None:
                    continue
                order = payments.create_online_order(
                    home=home, bill_ids=[bills[0].pk], method="sandbox", payer=payer, actor=payer
                )
                headers, body = sandbox.notification(trade_no=order.trade_no, amount_fen=order.amount_fen)
                with override_provider(sandbox):
                    callbacks.receive_callback("sandbox", headers, body, remote_addr="demo")
                order.refresh_from_db()
                online_paid.append(order)
                paid += 1
            else:
                owing = sum(b.total_fen - b.paid_fen for b in bills)
                amount = owing + (5_000 if index % 4 == 1 else 0) if owing else 30_000
                counter_paid.append(
                    payments.take_counter_payment(
                        home=home,
                        amount_fen=amount,
                        method="cash" if index % 2 else "transfer",
                        reference="" if index % 2 else f"DEMO{index:04d}",
                        payer_name="业主",
                        actor=finance,
                    )
                )
                paid += 1
        overpaid = [order for order in counter_paid if order.prepaid_fen]
        if overpaid:
            refund = refunds.request_refund(
                order=overpaid[0], amount_fen=overpaid[0].prepaid_fen, reason="多缴退回", actor=finance
            )
            refunds.approve_refund(refund, actor=manager)
            # The office hands the money back the way it came in, and records it.
            refund_payouts.record_counter_payout(
                refund, method=overpaid[0].method, reference=overpaid[0].reference, actor=finance
            )
            refunded += 1
        if online_paid:
            # An online payment's refund goes back through the (sandbox) provider at once.
            refund = refunds.request_refund(
                order=online_paid[0], amount_fen=1_000, reason="重复收费退回", actor=finance
            )
            refunds.approve_refund(refund, actor=manager)
            with override_provider(sandbox):
                refund_payouts.submit_refund(refund, actor=manager)
            refunded += 1
        # Last quarter's history (back-dated postings) and this month's, so both statements have
        # expenses and common-area income; this month's also has billing's fees and the payments.
        for offset, (category, amount, description) in enumerate(EXPENSES):
            for spent_on, posted_at in (
                (quarter_start + dt.timedelta(days=10 + offset * 11), True),
                (today, False),
            ):
                accounts.record_expense(
                    community=community,
                    category=category,
                    amount_fen=amount,
                    spent_on=spent_on,
                    description=description,
                    actor=finance,
                    posted_at=_noon(spent_on) if posted_at else None,
                )
        for received_on, posted_at in ((quarter_start + dt.timedelta(days=40), True), (today, False)):
            accounts.record_common_income(
                community=community,
                kind="advertising",
                amount_fen=480_000,
                cost_fen=48_000,
                received_on=received_on,
                description="电梯轿厢广告",
                actor=finance,
                posted_at=_noon(received_on) if posted_at else None,
            )
        accounts.publish_statement(
            community=community, period=Statement.Period.QUARTER, year=year, number=quarter, actor=finance
        )
        accounts.publish_statement(
            community=community, period=Statement.Period.MONTH, year=today.year, number=today.month, actor=finance
        )
    ctx.counts["payments"] = paid
    ctx.counts["refunds"] = refunded
    ctx.out(f"payments: {paid} payments, {refunded} refunds, statements for {year} Q{quarter} and this month")
