"""Payments over the API: staff (payments, counter payments, refunds, expenses, statements) and
residents (``/me/payments``: pay chosen bills online; ``/me/statements``).

Amounts are integer fen. Handlers are thin: each calls a service inside ``scoped``/``resident_scope``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from django.http import HttpRequest
from django.urls import reverse
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from anju.api.auth import community_auth, current_user, signed_in
from anju.api.errors import COMMUNITY_WRITE, OWN_WRITE, RESIDENT_READ, responses
from anju.api.pagination import Page, PageQuery, paginate
from anju.api.schemas import Input, ObjectId, local, text
from anju.api.tenancy import get_or_404, resident_scope, scoped
from anju.billing.payments.models import (
    CommonIncomeKind,
    ExpenseCategory,
    PaymentOrder,
    Refund,
    Statement,
)
from anju.billing.payments.services import accounts, payments, refund_payouts, refunds
from anju.core.errors import NotFound
from anju.core.permissions import Perm
from anju.estates.models import Home
from anju.residents.models import Occupancy

router = Router(tags=["payments"])

Fen = Annotated[int, Field(ge=1, le=100_000_000_00)]


class PaymentRefundOut(Schema):
    """A refund as the payer sees it on their payment."""

    id: int
    amount_fen: int
    status: str
    paid_out_at: dt.datetime | None


class PaymentOut(Schema):
    id: int
    trade_no: str
    home_id: int
    home_label: str
    method: str
    status: str
    amount_fen: int
    allocated_fen: int
    prepaid_fen: int
    refunded_fen: int
    paid_at: dt.datetime | None
    receipt_number: str | None
    refunds: list[PaymentRefundOut]

    @classmethod
    def of(cls, order: PaymentOrder) -> PaymentOut:
        receipt = getattr(order, "receipt", None) if order.status == PaymentOrder.Status.PAID else None
        return cls(
            id=order.pk,
            trade_no=order.trade_no,
            home_id=order.home_id,
            home_label=order.home.label,
            method=order.method,
            status=order.status,
            amount_fen=order.amount_fen,
            allocated_fen=order.allocated_fen,
            prepaid_fen=order.prepaid_fen,
            refunded_fen=order.refunded_fen,
            paid_at=local(order.paid_at),
            receipt_number=receipt.number if receipt else None,
            refunds=[
                PaymentRefundOut(id=r.pk, amount_fen=r.amount_fen, status=r.status, paid_out_at=local(r.paid_out_at))
                for r in order.refunds.all()
            ],
        )


class CounterPaymentIn(Input):
    home_id: ObjectId
    amount_fen: Fen
    method: Literal["cash", "transfer", "pos"]
    reference: Annotated[str, text(100)] = ""
    payer_name: Annotated[str, text(100)] = ""


class RefundIn(Input):
    payment_id: ObjectId
    amount_fen: Fen
    reason: Annotated[str, text(200, min_length=1)]


class RefundOut(Schema):
    id: int
    payment_id: int
    amount_fen: int
    status: str
    reason: str
    lines: list[dict]
    out_refund_no: str | None
    attempts: int
    failure_reason: str
    payout_method: str
    payout_reference: str
    paid_out_at: dt.datetime | None

    @classmethod
    def of(cls, refund: Refund) -> RefundOut:
        return cls(
            id=refund.pk,
            payment_id=refund.order_id,
            amount_fen=refund.amount_fen,
            status=refund.status,
            reason=refund.reason,
            lines=refund.lines,
            out_refund_no=refund.out_refund_no,
            attempts=refund.attempts,
            failure_reason=refund.failure_reason,
            payout_method=refund.payout_method,
            payout_reference=refund.payout_reference,
            paid_out_at=local(refund.paid_out_at),
        )


class RefundPayoutIn(Input):
    method: Literal["cash", "transfer", "pos"]
    reference: Annotated[str, text(100)] = ""


class ExpenseIn(Input):
    category: ExpenseCategory
    amount_fen: Fen
    spent_on: dt.date
    description: Annotated[str, text(200, min_length=1)]
    vendor: Annotated[str, text(100)] = ""


class CommonIncomeIn(Input):
    kind: CommonIncomeKind
    amount_fen: Fen
    cost_fen: Annotated[int, Field(ge=0, le=100_000_000_00)] = 0
    received_on: dt.date
    description: Annotated[str, text(200, min_length=1)]


class CreatedOut(Schema):
    id: int


class StatementIn(Input):
    period: Literal["month", "quarter"]
    year: Annotated[int, Field(ge=2000, le=2200)]
    number: Annotated[int, Field(ge=1, le=12)]


class StatementOut(Schema):
    id: int
    community_id: int
    period: str
    starts_on: dt.date
    ends_on: dt.date
    figures: dict
    ledger_seq: int
    ledger_hash: str
    digest: str
    published_at: dt.datetime

    @classmethod
    def of(cls, statement: Statement) -> StatementOut:
        return cls(
            id=statement.pk,
            community_id=statement.community_id,
            period=statement.period,
            starts_on=statement.starts_on,
            ends_on=statement.ends_on,
            figures=statement.figures,
            ledger_seq=statement.ledger_seq,
            ledger_hash=statement.ledger_hash,
            digest=statement.digest,
            published_at=local(statement.published_at) or statement.published_at,
        )


class VerificationOut(Schema):
    ok: bool
    digest_ok: bool
    chain_ok: bool
    figures_ok: bool
    differences: list[str]


class OnlinePaymentIn(Input):
    home_id: ObjectId
    bill_ids: list[ObjectId] = Field(min_length=1, max_length=120)
    method: Literal["wechat", "alipay", "sandbox"]


class CheckoutOut(Schema):
    payment: PaymentOut
    redirect_url: str
    qr_url: str


# --- staff -----------------------------------------------------------------------------------------


@router.get(
    "/communities/{community_id}/payments",
    response=responses(Page[PaymentOut]),
    auth=community_auth(Perm.VIEW_BILLING),
)
def list_payments(request: HttpRequest, community_id: int, page: Query[PageQuery]) -> Page[PaymentOut]:
    with scoped(request, community_id, Perm.VIEW_BILLING):
        orders = (
            PaymentOrder.objects.select_related("home__building", "home__unit", "receipt")
            .prefetch_related("refunds")
            .order_by("-id")
        )
        return paginate(orders, page, PaymentOut.of)


@router.post(
    "/communities/{community_id}/payments/counter",
    response=responses(PaymentOut, status=201, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.TAKE_PAYMENTS),
)
def take_counter_payment(request: HttpRequest, community_id: int, payload: CounterPaymentIn) -> Status[PaymentOut]:
    with scoped(request, community_id, Perm.TAKE_PAYMENTS):
        home = get_or_404(Home, payload.home_id, field="home_id")
        order = payments.take_counter_payment(
            home=home,
            amount_fen=payload.amount_fen,
            method=payload.method,
            reference=payload.reference,
            payer_name=payload.payer_name,
            actor=current_user(request),
        )
        return Status(201, PaymentOut.of(order))


@router.post(
    "/communities/{community_id}/refunds",
    response=responses(RefundOut, status=201, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.TAKE_PAYMENTS),
)
def request_refund(request: HttpRequest, community_id: int, payload: RefundIn) -> Status[RefundOut]:
    with scoped(request, community_id, Perm.TAKE_PAYMENTS):
        order = get_or_404(PaymentOrder, payload.payment_id, field="payment_id")
        refund = refunds.request_refund(
            order=order, amount_fen=payload.amount_fen, reason=payload.reason, actor=current_user(request)
        )
        return Status(201, RefundOut.of(refund))


@router.post(
    "/communities/{community_id}/refunds/{refund_id}/approve",
    response=responses(RefundOut, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.APPROVE_REFUNDS),
)
def approve_refund(request: HttpRequest, community_id: int, refund_id: int) -> RefundOut:
    with scoped(request, community_id, Perm.APPROVE_REFUNDS):
        refund = get_or_404(Refund, refund_id)
        return RefundOut.of(refunds.approve_refund(refund, actor=current_user(request)))


@router.get(
    "/communities/{community_id}/refunds",
    response=responses(Page[RefundOut]),
    auth=community_auth(Perm.VIEW_BILLING),
)
def list_refunds(
    request: HttpRequest,
    community_id: int,
    page: Query[PageQuery],
    status: Literal["requested", "approved", "submitted", "succeeded", "failed", "rejected"] | None = None,
) -> Page[RefundOut]:
    """Refunds, newest first; ``status=failed`` lists those the payment service refused."""
    with scoped(request, community_id, Perm.VIEW_BILLING):
        rows = Refund.objects.order_by("-id")
        if status:
            rows = rows.filter(status=status)
        return paginate(rows, page, RefundOut.of)


@router.post(
    "/communities/{community_id}/refunds/{refund_id}/retry",
    response=responses(RefundOut, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.TAKE_PAYMENTS),
)
def retry_refund(request: HttpRequest, community_id: int, refund_id: int) -> RefundOut:
    """Send an approved online refund to its payment service again (same refund number: never
    refunded twice). Answers the refund as it stands after the service's answer."""
    with scoped(request, community_id, Perm.TAKE_PAYMENTS):
        refund = get_or_404(Refund, refund_id)
        return RefundOut.of(refund_payouts.submit_refund(refund, actor=current_user(request)))


@router.post(
    "/communities/{community_id}/refunds/{refund_id}/payout",
    response=responses(RefundOut, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.TAKE_PAYMENTS),
)
def record_refund_payout(request: HttpRequest, community_id: int, refund_id: int, payload: RefundPayoutIn) -> RefundOut:
    """Record a refund paid out at the counter: a counter payment's, or one the payment service refused."""
    with scoped(request, community_id, Perm.TAKE_PAYMENTS):
        refund = get_or_404(Refund, refund_id)
        return RefundOut.of(
            refund_payouts.record_counter_payout(
                refund, method=payload.method, reference=payload.reference, actor=current_user(request)
            )
        )


@router.post(
    "/communities/{community_id}/expenses",
    response=responses(CreatedOut, status=201, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.PUBLISH_ACCOUNTS),
)
def record_expense(request: HttpRequest, community_id: int, payload: ExpenseIn) -> Status[CreatedOut]:
    with scoped(request, community_id, Perm.PUBLISH_ACCOUNTS) as community:
        expense = accounts.record_expense(community=community, **payload.model_dump(), actor=current_user(request))
        return Status(201, CreatedOut(id=expense.pk))


@router.post(
    "/communities/{community_id}/common-income",
    response=responses(CreatedOut, status=201, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.PUBLISH_ACCOUNTS),
)
def record_common_income(request: HttpRequest, community_id: int, payload: CommonIncomeIn) -> Status[CreatedOut]:
    with scoped(request, community_id, Perm.PUBLISH_ACCOUNTS) as community:
        income = accounts.record_common_income(community=community, **payload.model_dump(), actor=current_user(request))
        return Status(201, CreatedOut(id=income.pk))


@router.get(
    "/communities/{community_id}/statements",
    response=responses(list[StatementOut]),
    auth=community_auth(Perm.VIEW_BILLING),
)
def list_statements(request: HttpRequest, community_id: int) -> list[StatementOut]:
    with scoped(request, community_id, Perm.VIEW_BILLING):
        return [StatementOut.of(s) for s in Statement.objects.all()[:200]]


@router.post(
    "/communities/{community_id}/statements",
    response=responses(StatementOut, status=201, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.PUBLISH_ACCOUNTS),
)
def publish_statement(request: HttpRequest, community_id: int, payload: StatementIn) -> Status[StatementOut]:
    with scoped(request, community_id, Perm.PUBLISH_ACCOUNTS) as community:
        statement = accounts.publish_statement(
            community=community,
            period=payload.period,
            year=payload.year,
            number=payload.number,
            actor=current_user(request),
        )
        return Status(201, StatementOut.of(statement))


@router.get(
    "/communities/{community_id}/statements/{statement_id}/verify",
    response=responses(VerificationOut),
    auth=community_auth(Perm.VIEW_BILLING),
)
def verify_statement(request: HttpRequest, community_id: int, statement_id: int) -> VerificationOut:
    with scoped(request, community_id, Perm.VIEW_BILLING):
        result = accounts.verify_statement(get_or_404(Statement, statement_id))
        return VerificationOut(
            ok=result.ok,
            digest_ok=result.digest_ok,
            chain_ok=result.chain_ok,
            figures_ok=result.figures_ok,
            differences=list(result.differences),
        )


# --- residents -------------------------------------------------------------------------------------


def _my_home_ids(request: HttpRequest) -> list[int]:
    return list(
        Occupancy.objects.current().filter(person__user=current_user(request)).values_list("home_id", flat=True)
    )


@router.get("/me/payments", response=responses(Page[PaymentOut], errors=RESIDENT_READ), auth=signed_in())
def my_payments(request: HttpRequest, page: Query[PageQuery]) -> Page[PaymentOut]:
    with resident_scope(request):
        orders = (
            PaymentOrder.objects.filter(home_id__in=_my_home_ids(request))
            .select_related("home__building", "home__unit", "receipt")
            .prefetch_related("refunds")
            .order_by("-id")
        )
        return paginate(orders, page, PaymentOut.of)


@router.post("/me/payments", response=responses(CheckoutOut, status=201, errors=OWN_WRITE), auth=signed_in())
def pay_online(request: HttpRequest, payload: OnlinePaymentIn) -> Status[CheckoutOut]:
    """Open a checkout for some of my home's open bills; follow ``redirect_url`` or show ``qr_url``."""
    with resident_scope(request):
        if payload.home_id not in _my_home_ids(request):
            raise NotFound(field="home_id")
        home = get_or_404(Home, payload.home_id, field="home_id")
        user = current_user(request)
        order = payments.create_online_order(
            home=home,
            bill_ids=payload.bill_ids,
            method=payload.method,
            payer=user,
            payer_name=(getattr(user, "display_name", "") or user.get_username())[:100],
            actor=user,
        )
    started = payments.start_checkout(
        order,
        notify_url=request.build_absolute_uri(reverse("payments_hook", args=[order.method])),
        return_url=request.build_absolute_uri(reverse("portal:payments_order", args=[order.trade_no])),
    )
    with resident_scope(request):
        order = PaymentOrder.objects.select_related("home__building", "home__unit").get(pk=order.pk)
        return Status(
            201, CheckoutOut(payment=PaymentOut.of(order), redirect_url=started.redirect_url, qr_url=started.qr_url)
        )


@router.get("/me/statements", response=responses(list[StatementOut], errors=RESIDENT_READ), auth=signed_in())
def my_statements(request: HttpRequest) -> list[StatementOut]:
    with resident_scope(request) as community_ids:
        return [StatementOut.of(s) for s in Statement.objects.filter(community_id__in=community_ids)[:200]]
