"""Payments: a resident's online checkout, a clerk's counter payment, and settling either.

Settling a payment (:func:`settle_order`) is the one place money reaches bills. It claims the order
with ``UPDATE … SET status='paid' WHERE trade_no=… AND status='pending'`` and does everything else
only when that changed one row, all in one transaction: allocation to bills oldest first, the rest to
the prepaid balance, one ledger entry (idempotency key ``payment:<trade_no>``), the receipt and the
audit row. A second callback for the same trade number finds the order already paid and changes
nothing, however many arrive at once.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence

from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from anju.billing.models import Bill
from anju.billing.payments import ledger_bridge
from anju.billing.payments.models import (
    COUNTER_METHODS,
    ONLINE_METHODS,
    Allocation,
    Method,
    PaymentOrder,
)
from anju.billing.payments.providers import Checkout, CheckoutStarted, ProviderError, get_provider
from anju.billing.payments.services import allocation
from anju.billing.payments.services.receipts import issue_receipt
from anju.core import audit
from anju.core.errors import Conflict, DomainError, NotFound
from anju.core.models import User
from anju.core.notifications import notify
from anju.estates.models import Home

MAX_PAYMENT_FEN = 100_000_000_00  # one hundred million yuan: anything larger is a typing error


class ProviderUnavailable(DomainError):
    status = 409
    code = "provider_unavailable"
    default_message = gettext_lazy("This payment method is not available now; try another or pay at the office.")


def new_trade_no(now: dt.datetime | None = None) -> str:
    """``P`` + Beijing time to the second + 8 random hex digits: 23 characters, unique in practice and
    guarded by a unique constraint; inside WeChat's and Alipay's 32-character limits."""
    now = timezone.localtime(now or timezone.now())
    return f"P{now:%Y%m%d%H%M%S}{secrets.token_hex(4).upper()}"


def _amount(value: int, field: str = "amount_fen") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DomainError(_("The amount must be a whole number of fen."), field=field)
    if value <= 0:
        raise DomainError(_("The amount must be greater than zero."), field=field)
    if value > MAX_PAYMENT_FEN:
        raise DomainError(_("The amount is implausibly large."), field=field)
    return value


@transaction.atomic
def create_online_order(
    *, home: Home, bill_ids: Sequence[int], method: str, payer: User, payer_name: str = "", actor: User | None
) -> PaymentOrder:
    """A pending order for the chosen open bills of one home, for the amount they still owe."""
    if method not in ONLINE_METHODS:
        raise DomainError(_("Unknown payment method."), field="method")
    if get_provider(method) is None:
        raise ProviderUnavailable(field="method")
    wanted = {int(pk) for pk in bill_ids}
    if not wanted:
        raise DomainError(_("Choose at least one bill to pay."), field="bill_ids")
    bills = {b.pk: b for b in allocation.open_bills(home.pk) if b.pk in wanted}
    if set(bills) != wanted:
        raise Conflict(
            _("One of these bills is already paid or is not this home's; reload the page."), field="bill_ids"
        )
    amount = _amount(sum(b.total_fen - b.paid_fen for b in bills.values()))
    periods = sorted({ledger_bridge.bill_period_label(b) for b in bills.values()})
    order = PaymentOrder.objects.create(
        community_id=home.community_id,
        home=home,
        trade_no=new_trade_no(),
        method=method,
        amount_fen=amount,
        bill_ids=sorted(wanted),
        description=(_("Property fees %(periods)s") % {"periods": ", ".join(periods)})[:200],
        payer=payer,
        payer_name=payer_name[:100],
    )
    audit.record(actor=actor, action="payment.order", obj=order, after=audit.snapshot(order))
    return order


def start_checkout(order: PaymentOrder, *, notify_url: str, return_url: str = "") -> CheckoutStarted:
    """Ask the order's provider to open a checkout (outside any transaction: it may call out)."""
    provider = get_provider(order.method)
    if provider is None:
        raise ProviderUnavailable(field="method")
    try:
        return provider.start(
            Checkout(
                trade_no=order.trade_no,
                amount_fen=order.amount_fen,
                description=order.description or order.trade_no,
                notify_url=notify_url,
                return_url=return_url,
            )
        )
    except ProviderError:
        raise ProviderUnavailable() from None


@transaction.atomic
def take_counter_payment(
    *,
    home: Home,
    amount_fen: int,
    method: str,
    payer_name: str = "",
    reference: str = "",
    actor: User,
) -> PaymentOrder:
    """Cash, bank transfer or card terminal at the office: settled at once, oldest bills first, any
    excess to the home's prepaid balance, with a receipt."""
    if method not in COUNTER_METHODS:
        raise DomainError(_("Unknown payment method."), field="method")
    amount = _amount(amount_fen)
    if method != "cash" and not reference.strip():
        raise DomainError(_("Enter the transfer or terminal reference."), field="reference")
    order = PaymentOrder.objects.create(
        community_id=home.community_id,
        home=home,
        trade_no=new_trade_no(),
        method=method,
        amount_fen=amount,
        description=_("Counter payment"),
        payer_name=payer_name.strip()[:100],
        taken_by=actor,
        reference=reference.strip()[:100],
    )
    settle_order(order, paid_at=timezone.now(), provider_txn_id="", actor=actor)
    order.refresh_from_db()
    return order


@transaction.atomic
def settle_order(order: PaymentOrder, *, paid_at: dt.datetime, provider_txn_id: str, actor: User | None) -> bool:
    """Mark ``order`` paid and post it, exactly once. Returns False when it was already settled."""
    claimed = PaymentOrder.objects.filter(pk=order.pk, status=PaymentOrder.Status.PENDING).update(
        status=PaymentOrder.Status.PAID, paid_at=paid_at, provider_txn_id=provider_txn_id[:64]
    )
    if claimed != 1:
        return False
    applied = allocation.allocate_oldest_first(order.home_id, order.amount_fen, order.bill_ids)
    allocated = sum(a.amount_fen for a in applied)
    prepaid = order.amount_fen - allocated
    Allocation.objects.bulk_create(
        [
            Allocation(community_id=order.community_id, order=order, bill_id=a.bill_id, amount_fen=a.amount_fen)
            for a in applied
        ]
    )
    PaymentOrder.objects.filter(pk=order.pk).update(allocated_fen=allocated, prepaid_fen=prepaid)
    ledger_bridge.post_payment(order, allocated_fen=allocated, prepaid_fen=prepaid, actor=actor)
    order.refresh_from_db()
    receipt = issue_receipt(order, applied)
    if order.payer is not None:
        with translation.override("zh-hans"):
            notify(
                [order.payer],
                kind="payment",
                title=_("Payment received: ¥%(amount)s") % {"amount": ledger_bridge.yuan(order.amount_fen)},
                body=_("Receipt %(number)s for %(home)s.") % {"number": receipt.number, "home": order.home.label},
                url=reverse("portal:payments_order", args=[order.trade_no]),
                community_id=order.community_id,
            )
    audit.record(
        actor=actor,
        action="payment.settle",
        obj=order,
        after={
            "trade_no": order.trade_no,
            "amount_fen": order.amount_fen,
            "allocated": [[a.bill_id, a.amount_fen] for a in applied],
            "prepaid_fen": prepaid,
        },
    )
    return True


@transaction.atomic
def apply_prepaid(*, home: Home, actor: User | None) -> int:
    """Use the home's prepaid balance on its open bills, oldest first; returns the fen applied.

    The ledger is locked first, so the balance read cannot be spent twice by concurrent callers."""
    ledger_bridge.lock_ledger(home.community_id)
    balance = allocation.prepaid_of(home.pk)
    if balance <= 0:
        return 0
    applied = allocation.allocate_oldest_first(home.pk, balance)
    used = sum(a.amount_fen for a in applied)
    if used == 0:
        return 0
    order = PaymentOrder.objects.create(
        community_id=home.community_id,
        home=home,
        trade_no=new_trade_no(),
        method=Method.PREPAID,
        amount_fen=used,
        description=_("Prepaid balance applied"),
        status=PaymentOrder.Status.PAID,
        paid_at=timezone.now(),
        allocated_fen=used,
    )
    ledger_bridge.post_prepaid_use(home, applied, key=f"prepaid-use:{order.trade_no}", actor=actor)
    Allocation.objects.bulk_create(
        [
            Allocation(
                community_id=home.community_id,
                order=order,
                bill_id=a.bill_id,
                amount_fen=a.amount_fen,
                from_prepaid=True,
            )
            for a in applied
        ]
    )
    audit.record(actor=actor, action="payment.apply_prepaid", obj=order, after={"used_fen": used})
    return used


def bills_of_order(order: PaymentOrder) -> list[Bill]:
    return list(Bill.objects.filter(pk__in=order.bill_ids))


def get_order_for_payer(trade_no: str, user: User) -> PaymentOrder:
    order = PaymentOrder.objects.filter(trade_no=trade_no, payer=user).select_related("home").first()
    if order is None:
        raise NotFound()
    return order
