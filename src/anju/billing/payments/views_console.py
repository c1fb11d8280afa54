"""Console pages: payments and counter payments, refunds and their approval, held callbacks,
expenses and common-area income, and publishing the accounts.

``@community_view`` has refused other tenants (404) and roles without the page's permission (403)
and opened the community's scope; actions needing more than the page re-check their permission.
Every write is a service call; a refusal is shown next to the field it concerns.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from anju.billing.payments.charts import statement_charts
from anju.billing.payments.labels import parse_yuan, yuan
from anju.billing.payments.models import (
    COUNTER_METHODS,
    CommonIncome,
    CommonIncomeKind,
    Expense,
    ExpenseCategory,
    Method,
    PaymentOrder,
    RawCallback,
    Receipt,
    Refund,
    Statement,
)
from anju.billing.payments.services import accounts, callbacks, payments, refund_payouts, refunds
from anju.billing.payments.views_portal import receipt_response, statement_response, statement_view
from anju.core.errors import DomainError
from anju.core.models import User
from anju.core.permissions import Perm
from anju.estates.models import Home
from anju.web.console import current_community, render_console, require_permission
from anju.web.decorators import community_view
from anju.web.forms import add_domain_error

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
PAGE_SIZE = 100


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


class YuanField(forms.CharField):
    """An amount typed in yuan (``1234.50``), cleaned to integer fen."""

    def clean(self, value: object) -> int:
        text = super().clean(value)
        fen = parse_yuan(text)
        if fen is None:
            raise forms.ValidationError(_("Enter an amount in yuan with at most two decimals, e.g. 265.50."))
        return fen


class HomeField(forms.CharField):
    """A home of this community by its label (``1栋1单元101``), or by its id."""

    def clean(self, value: object) -> Home:
        text = str(super().clean(value)).strip().replace(" ", "")
        number = text.rsplit("元", 1)[-1].rsplit("栋", 1)[-1]
        matches = [h for h in Home.objects.with_location().filter(number=number) if h.label == text]
        if not matches and text.isdigit():
            matches = list(Home.objects.filter(pk=int(text)))
        if len(matches) != 1:
            raise forms.ValidationError(_("No such home in this community."))
        return matches[0]


class CounterPaymentForm(forms.Form):
    home = HomeField(label=gettext_lazy("Home (e.g. 1栋1单元101)"), max_length=40)
    amount = YuanField(label=gettext_lazy("Amount (yuan)"), max_length=20)
    method = forms.ChoiceField(label=gettext_lazy("Method"), choices=[(m.value, m.label) for m in COUNTER_METHODS])
    reference = forms.CharField(label=gettext_lazy("Transfer or terminal reference"), required=False, max_length=100)
    payer_name = forms.CharField(label=gettext_lazy("Paid by"), required=False, max_length=100)


class RefundRequestForm(forms.Form):
    amount = YuanField(label=gettext_lazy("Amount to refund (yuan)"), max_length=20)
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=200)


class RefundPayoutForm(forms.Form):
    method = forms.ChoiceField(label=gettext_lazy("Paid out by"), choices=[(m.value, m.label) for m in COUNTER_METHODS])
    reference = forms.CharField(label=gettext_lazy("Transfer or terminal reference"), required=False, max_length=100)


class ExpenseForm(forms.Form):
    category = forms.ChoiceField(label=gettext_lazy("Category"), choices=ExpenseCategory.choices)
    amount = YuanField(label=gettext_lazy("Amount (yuan)"), max_length=20)
    spent_on = forms.DateField(label=gettext_lazy("Date"), widget=DATE_INPUT)
    description = forms.CharField(label=gettext_lazy("Description"), max_length=200)
    vendor = forms.CharField(label=gettext_lazy("Paid to"), required=False, max_length=100)


class CommonIncomeForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=CommonIncomeKind.choices)
    amount = YuanField(label=gettext_lazy("Amount received (yuan)"), max_length=20)
    cost = YuanField(label=gettext_lazy("Reasonable cost kept by the company (yuan)"), max_length=20, initial="0")
    received_on = forms.DateField(label=gettext_lazy("Date"), widget=DATE_INPUT)
    description = forms.CharField(label=gettext_lazy("Description"), max_length=200)


class PublishStatementForm(forms.Form):
    period = forms.ChoiceField(label=gettext_lazy("Period"), choices=Statement.Period.choices)
    year = forms.IntegerField(label=gettext_lazy("Year"), min_value=2000, max_value=2200)
    number = forms.IntegerField(label=gettext_lazy("Month or quarter number"), min_value=1, max_value=12)


# --- payments --------------------------------------------------------------------------------------


@community_view(Perm.VIEW_BILLING)
def index(request: HttpRequest, community_id: int) -> HttpResponse:
    orders = PaymentOrder.objects.filter(status=PaymentOrder.Status.PAID).select_related(
        "home__building", "home__unit"
    )[:PAGE_SIZE]
    held = RawCallback.objects.filter(community_id=community_id, outcome=RawCallback.Outcome.HELD).count()
    rows = [{"order": o, "amount": yuan(o.amount_fen), "refunded": yuan(o.refunded_fen)} for o in orders]
    pending_refunds = Refund.objects.filter(status=Refund.Status.REQUESTED).count()
    return render_console(
        request,
        "payments/console/index.html",
        community_id,
        rows=rows,
        held=held,
        pending_refunds=pending_refunds,
    )


@community_view(Perm.TAKE_PAYMENTS)
@require_http_methods(["GET", "POST"])
def counter(request: HttpRequest, community_id: int) -> HttpResponse:
    form = CounterPaymentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            order = payments.take_counter_payment(
                home=form.cleaned_data["home"],
                amount_fen=form.cleaned_data["amount"],
                method=form.cleaned_data["method"],
                reference=form.cleaned_data["reference"],
                payer_name=form.cleaned_data["payer_name"],
                actor=_actor(request),
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Payment recorded; the receipt is ready."))
            return redirect("console:payments_order", community_id, order.pk)
    response = render_console(request, "payments/console/counter.html", community_id, form=form)
    if form.errors:
        response.status_code = 400
    return response


@community_view(Perm.VIEW_BILLING)
@require_http_methods(["GET", "POST"])
def order_detail(request: HttpRequest, community_id: int, payment_order_id: int) -> HttpResponse:
    order = PaymentOrder.objects.filter(pk=payment_order_id).select_related("home__building", "home__unit").first()
    if order is None:
        raise Http404
    form = RefundRequestForm(request.POST or None)
    if request.method == "POST":
        require_permission(request, Perm.TAKE_PAYMENTS, community_id)
        if form.is_valid():
            try:
                refunds.request_refund(
                    order=order,
                    amount_fen=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    actor=_actor(request),
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Refund requested; it needs a second person's approval."))
                return redirect("console:payments_refunds", community_id)
    receipt = Receipt.objects.filter(order=order).first()
    return render_console(
        request,
        "payments/console/order.html",
        community_id,
        order=order,
        amount=yuan(order.amount_fen),
        allocated=yuan(order.allocated_fen),
        prepaid=yuan(order.prepaid_fen),
        refunded=yuan(order.refunded_fen),
        allocations=[(a, yuan(a.amount_fen), yuan(a.reversed_fen)) for a in order.allocations.all()],
        refund_list=[(r, yuan(r.amount_fen)) for r in order.refunds.all()],
        receipt=receipt,
        form=form,
    )


@community_view(Perm.VIEW_BILLING)
def receipt_pdf(request: HttpRequest, community_id: int, receipt_id: int) -> HttpResponse:
    receipt = Receipt.objects.filter(pk=receipt_id).first()
    if receipt is None:
        raise Http404
    return receipt_response(request, receipt)


# --- refunds ---------------------------------------------------------------------------------------


REFUND_DECISIONS = {"approve": Perm.APPROVE_REFUNDS, "reject": Perm.APPROVE_REFUNDS, "retry": Perm.TAKE_PAYMENTS}


def _decide_refund(request: HttpRequest, refund: Refund, decision: str) -> None:
    if decision == "approve":
        refunds.approve_refund(refund, actor=_actor(request))
        messages.success(request, _("Refund approved and posted."))
    elif decision == "reject":
        refunds.reject_refund(refund, reason=request.POST.get("note", ""), actor=_actor(request))
        messages.success(request, _("Refund rejected."))
    elif decision == "retry":
        refund = refund_payouts.submit_refund(refund, actor=_actor(request))
        if refund.status == Refund.Status.SUCCEEDED:
            messages.success(request, _("The payment service has paid the refund back."))
        elif refund.status == Refund.Status.FAILED:
            messages.error(
                request, _("The payment service refused the refund: %(reason)s") % {"reason": refund.failure_reason}
            )
        else:
            messages.success(request, _("Sent to the payment service; the result will follow."))


@community_view(Perm.VIEW_BILLING)
@require_http_methods(["GET", "POST"])
def refund_list(request: HttpRequest, community_id: int) -> HttpResponse:
    """Refunds: approval by a second person; then their pay-out state, retrying a provider
    submission and (from the pay-out page) recording a counter pay-out."""
    if request.method == "POST":
        decision = request.POST.get("decision", "")
        if decision not in REFUND_DECISIONS:
            raise Http404
        require_permission(request, REFUND_DECISIONS[decision], community_id)
        try:
            refund_id = int(request.POST.get("refund", ""))
        except ValueError:
            refund_id = 0
        refund = Refund.objects.filter(pk=refund_id).select_related("order").first()
        if refund is None:
            raise Http404
        try:
            _decide_refund(request, refund, decision)
        except DomainError as exc:
            messages.error(request, str(exc.message))
        return redirect("console:payments_refunds", community_id)
    rows = Refund.objects.select_related("order__home__building", "order__home__unit", "requested_by", "decided_by")
    return render_console(
        request,
        "payments/console/refunds.html",
        community_id,
        rows=[(r, yuan(r.amount_fen)) for r in rows[:PAGE_SIZE]],
        me=_actor(request),
        retryable=refund_payouts.SUBMITTABLE,
    )


@community_view(Perm.TAKE_PAYMENTS)
@require_http_methods(["GET", "POST"])
def refund_payout(request: HttpRequest, community_id: int, refund_id: int) -> HttpResponse:
    """Record that a refund was paid out at the counter (cash, transfer, card terminal)."""
    refund = Refund.objects.filter(pk=refund_id).select_related("order__home__building", "order__home__unit").first()
    if refund is None:
        raise Http404
    form = RefundPayoutForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            refund_payouts.record_counter_payout(
                refund,
                method=form.cleaned_data["method"],
                reference=form.cleaned_data["reference"],
                actor=_actor(request),
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("Pay-out recorded."))
            return redirect("console:payments_refunds", community_id)
    response = render_console(
        request,
        "payments/console/refund_payout.html",
        community_id,
        form=form,
        refund=refund,
        amount=yuan(refund.amount_fen),
    )
    if form.errors:
        response.status_code = 400
    return response


# --- held callbacks --------------------------------------------------------------------------------


@community_view(Perm.APPROVE_REFUNDS)
@require_http_methods(["GET", "POST"])
def callback_list(request: HttpRequest, community_id: int) -> HttpResponse:
    held = RawCallback.objects.filter(community_id=community_id).exclude(
        outcome__in=[RawCallback.Outcome.APPLIED, RawCallback.Outcome.DUPLICATE]
    )
    if request.method == "POST":
        try:
            raw_id = int(request.POST.get("callback", ""))
        except ValueError:
            raw_id = 0
        raw = held.filter(pk=raw_id).first()
        if raw is None:
            raise Http404
        try:
            callbacks.resolve_callback(raw, note=request.POST.get("note", ""), actor=_actor(request))
            messages.success(request, _("Marked as reviewed."))
        except DomainError as exc:
            messages.error(request, str(exc.message))
        return redirect("console:payments_callbacks", community_id)
    rows = [(raw, yuan(raw.amount_fen or 0)) for raw in held[:PAGE_SIZE]]
    return render_console(request, "payments/console/callbacks.html", community_id, rows=rows)


# --- expenses and common-area income --------------------------------------------------------------


@community_view(Perm.VIEW_BILLING)
@require_http_methods(["GET", "POST"])
def expenses(request: HttpRequest, community_id: int) -> HttpResponse:
    today = timezone.localdate()
    action = request.POST.get("action")
    expense_form = ExpenseForm(request.POST if action == "expense" else None, initial={"spent_on": today})
    income_form = CommonIncomeForm(
        request.POST if action == "income" else None, initial={"received_on": today, "cost": "0"}
    )
    if request.method == "POST":
        require_permission(request, Perm.PUBLISH_ACCOUNTS, community_id)
        community = current_community(request)
        try:
            if request.POST.get("action") == "expense" and expense_form.is_valid():
                data = expense_form.cleaned_data
                accounts.record_expense(
                    community=community,
                    category=data["category"],
                    amount_fen=data["amount"],
                    spent_on=data["spent_on"],
                    description=data["description"],
                    vendor=data["vendor"],
                    actor=_actor(request),
                )
                messages.success(request, _("Expense recorded."))
                return redirect("console:payments_expenses", community_id)
            if request.POST.get("action") == "income" and income_form.is_valid():
                data = income_form.cleaned_data
                accounts.record_common_income(
                    community=community,
                    kind=data["kind"],
                    amount_fen=data["amount"],
                    cost_fen=data["cost"],
                    received_on=data["received_on"],
                    description=data["description"],
                    actor=_actor(request),
                )
                messages.success(request, _("Common-area income recorded."))
                return redirect("console:payments_expenses", community_id)
        except DomainError as exc:
            add_domain_error(income_form if request.POST.get("action") == "income" else expense_form, exc)
    return render_console(
        request,
        "payments/console/expenses.html",
        community_id,
        expense_form=expense_form,
        income_form=income_form,
        expense_rows=[(e, yuan(e.amount_fen)) for e in Expense.objects.all()[:PAGE_SIZE]],
        income_rows=[(i, yuan(i.amount_fen), yuan(i.cost_fen)) for i in CommonIncome.objects.all()[:PAGE_SIZE]],
    )


# --- statements ------------------------------------------------------------------------------------


def _last_quarter(today: dt.date) -> tuple[int, int]:
    quarter = (today.month - 1) // 3
    return (today.year, quarter) if quarter else (today.year - 1, 4)


@community_view(Perm.VIEW_BILLING)
@require_http_methods(["GET", "POST"])
def statements(request: HttpRequest, community_id: int) -> HttpResponse:
    year, quarter = _last_quarter(timezone.localdate())
    form = PublishStatementForm(request.POST or None, initial={"period": "quarter", "year": year, "number": quarter})
    if request.method == "POST":
        require_permission(request, Perm.PUBLISH_ACCOUNTS, community_id)
        if form.is_valid():
            try:
                statement = accounts.publish_statement(
                    community=current_community(request),
                    period=form.cleaned_data["period"],
                    year=form.cleaned_data["year"],
                    number=form.cleaned_data["number"],
                    actor=_actor(request),
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Statement published to residents."))
                return redirect("console:payments_statement", community_id, statement.pk)
    return render_console(
        request, "payments/console/statements.html", community_id, form=form, statements=Statement.objects.all()
    )


@community_view(Perm.VIEW_BILLING)
@require_http_methods(["GET", "POST"])
def statement_detail(request: HttpRequest, community_id: int, statement_id: int) -> HttpResponse:
    statement = Statement.objects.filter(pk=statement_id).select_related("community").first()
    if statement is None:
        raise Http404
    if request.GET.get("format") == "pdf":
        return statement_response(request, statement, reverse("portal:payments_statement", args=[statement.pk]))
    verification = accounts.verify_statement(statement) if request.method == "POST" else None
    return render_console(
        request,
        "payments/console/statement.html",
        community_id,
        statement=statement,
        view=statement_view(statement.figures),
        charts=statement_charts(statement.figures),
        verification=verification,
    )


METHOD_LABELS = dict(Method.choices)
