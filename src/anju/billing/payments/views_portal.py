"""Resident portal: pay my bills, my payments and receipts, the published accounts, my home's statement.

Everything runs inside ``@resident_view``'s scope (the communities the user lives in now) and is
narrowed further to the homes the user currently occupies: another home's bill, order, receipt or
statement is a 404 like one that does not exist. Large type, one column, no JavaScript needed.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from anju.billing.models import Bill
from anju.billing.payments import ledger_bridge, pdf
from anju.billing.payments.charts import statement_charts
from anju.billing.payments.labels import resident_refund_status, yuan
from anju.billing.payments.models import PaymentOrder, Receipt, Refund, Statement
from anju.billing.payments.providers import enabled_codes, get_provider
from anju.billing.payments.providers.sandbox import SandboxProvider
from anju.billing.payments.services import accounts, payments
from anju.billing.payments.services.allocation import open_bills, prepaid_of
from anju.billing.payments.services.callbacks import receive_callback
from anju.billing.payments.services.receipts import receipt_intact
from anju.core.errors import DomainError
from anju.core.models import User
from anju.estates.models import Home
from anju.residents.models import Occupancy
from anju.web.decorators import resident_view


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _my_homes(request: HttpRequest) -> list[Home]:
    occupancies = (
        Occupancy.objects.current()
        .filter(person__user=request.user)
        .select_related("home__building", "home__unit", "community")
    )
    homes: dict[int, Home] = {}
    for occupancy in occupancies:
        homes.setdefault(occupancy.home_id, occupancy.home)
    return sorted(homes.values(), key=lambda h: (h.community_id, h.label))


def _my_home(request: HttpRequest, home_id: int) -> Home:
    for home in _my_homes(request):
        if home.pk == home_id:
            return home
    raise Http404


def _my_order(request: HttpRequest, trade_no: str) -> PaymentOrder:
    home_ids = [h.pk for h in _my_homes(request)]
    order = PaymentOrder.objects.filter(trade_no=trade_no[:32], home_id__in=home_ids).select_related("home").first()
    if order is None:
        raise Http404
    return order


def _payer_name(request: HttpRequest) -> str:
    user = _user(request)
    return (getattr(user, "display_name", "") or user.get_username())[:100]


@resident_view
@require_http_methods(["GET", "POST"])
def bills(request: HttpRequest) -> HttpResponse:
    """My homes' open bills, each with a checkbox, and the payment methods: choose, then pay."""
    homes = _my_homes(request)
    per_home = []
    for home in homes:
        rows = open_bills(home.pk)
        per_home.append(
            {
                "home": home,
                "bills": [
                    {
                        "bill": bill,
                        "period": ledger_bridge.bill_period_label(bill),
                        "outstanding": yuan(bill.total_fen - bill.paid_fen),
                        "total": yuan(bill.total_fen),
                    }
                    for bill in rows
                ],
                "owing": yuan(sum(b.total_fen - b.paid_fen for b in rows)),
                "prepaid": yuan(prepaid_of(home.pk)),
            }
        )
    methods = enabled_codes()
    error = ""
    if request.method == "POST":
        try:
            home_id = int(request.POST.get("home", ""))
            bill_ids = [int(v) for v in request.POST.getlist("bill")]
        except ValueError:
            home_id, bill_ids = 0, []
        method = request.POST.get("method", "")
        chosen = next((h for h in homes if h.pk == home_id), None)
        if chosen is None or not bill_ids:
            error = _("Choose at least one bill to pay.")
        elif method not in methods:
            error = _("Choose how to pay.")
        else:
            try:
                order = payments.create_online_order(
                    home=chosen,
                    bill_ids=bill_ids,
                    method=method,
                    payer=_user(request),
                    payer_name=_payer_name(request),
                    actor=_user(request),
                )
                started = payments.start_checkout(
                    order,
                    notify_url=request.build_absolute_uri(reverse("payments_hook", args=[method])),
                    return_url=request.build_absolute_uri(reverse("portal:payments_order", args=[order.trade_no])),
                )
            except DomainError as exc:
                error = str(exc.message)
            else:
                if started.redirect_url:
                    return redirect(started.redirect_url)
                request.session[f"payments_qr:{order.trade_no}"] = started.qr_url
                return redirect("portal:payments_order", order.trade_no)
    return render(
        request,
        "payments/portal/bills.html",
        {"homes": per_home, "methods": methods, "error": error, "method_labels": _method_labels()},
        status=400 if error else 200,
    )


def _method_labels() -> dict[str, str]:
    from anju.billing.payments.models import Method

    return {value: str(label) for value, label in Method.choices}


@resident_view
def order(request: HttpRequest, trade_no: str) -> HttpResponse:
    """One payment: waiting (with the WeChat QR code to scan) or paid (with the receipt)."""
    found = _my_order(request, trade_no)
    receipt = Receipt.objects.filter(order=found).first()
    qr_svg = ""
    qr_url = request.session.get(f"payments_qr:{found.trade_no}", "")
    if qr_url and found.status == PaymentOrder.Status.PENDING:
        import segno

        qr_svg = segno.make(qr_url, error="m").svg_inline(scale=6)
    refund_rows = [
        {"refund": r, "amount": yuan(r.amount_fen), "status": resident_refund_status(r.status)}
        for r in Refund.objects.filter(order=found).order_by("requested_at", "id")
    ]
    return render(
        request,
        "payments/portal/order.html",
        {
            "order": found,
            "receipt": receipt,
            "amount": yuan(found.amount_fen),
            "qr_svg": qr_svg,
            "refunds": refund_rows,
        },
    )


@resident_view
@require_http_methods(["GET", "POST"])
def sandbox(request: HttpRequest, trade_no: str) -> HttpResponse:
    """The sandbox cashier: plays the provider. Confirming sends a correctly signed notification
    through the same entry point as the HTTP hook."""
    found = _my_order(request, trade_no)
    provider = get_provider("sandbox")
    if found.method != "sandbox" or not isinstance(provider, SandboxProvider):
        raise Http404
    if request.method == "POST" and found.status == PaymentOrder.Status.PENDING:
        headers, body = provider.notification(
            trade_no=found.trade_no, amount_fen=found.amount_fen, succeeded=request.POST.get("decision") != "cancel"
        )
        receive_callback("sandbox", headers, body, remote_addr="sandbox")
        found.refresh_from_db()
        if found.status == PaymentOrder.Status.PAID:
            messages.success(request, _("Payment received. Thank you."))
        return redirect("portal:payments_order", found.trade_no)
    return render(request, "payments/portal/sandbox.html", {"order": found, "amount": yuan(found.amount_fen)})


@resident_view
def history(request: HttpRequest) -> HttpResponse:
    home_ids = [h.pk for h in _my_homes(request)]
    orders = (
        PaymentOrder.objects.filter(home_id__in=home_ids, status=PaymentOrder.Status.PAID)
        .select_related("home__building", "home__unit")
        .order_by("-paid_at", "-id")[:100]
    )
    receipts = {r.order_id: r for r in Receipt.objects.filter(order__in=list(orders))}
    with_refunds = set(Refund.objects.filter(order__in=list(orders)).values_list("order_id", flat=True))
    rows = [
        {"order": o, "amount": yuan(o.amount_fen), "receipt": receipts.get(o.pk), "has_refunds": o.pk in with_refunds}
        for o in orders
    ]
    return render(request, "payments/portal/history.html", {"rows": rows})


@resident_view
def receipt_pdf(request: HttpRequest, receipt_id: int) -> HttpResponse:
    home_ids = [h.pk for h in _my_homes(request)]
    receipt = Receipt.objects.filter(pk=receipt_id, order__home_id__in=home_ids).first()
    if receipt is None:
        raise Http404
    return receipt_response(request, receipt)


def receipt_response(request: HttpRequest, receipt: Receipt) -> HttpResponse:
    verify_url = request.build_absolute_uri(
        reverse("payments_verify_receipt") + f"?no={receipt.number}&code={receipt.code}"
    )
    content = pdf.receipt_pdf(receipt.content, verify_url=verify_url, intact=receipt_intact(receipt))
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{receipt.number}.pdf"'
    return response


# --- the published accounts -----------------------------------------------------------------------


@resident_view
def statements(request: HttpRequest) -> HttpResponse:
    community_ids = sorted({h.community_id for h in _my_homes(request)})
    rows = Statement.objects.filter(community_id__in=community_ids).select_related("community")
    return render(request, "payments/portal/statements.html", {"statements": rows, "homes": _my_homes(request)})


def _my_statement(request: HttpRequest, statement_id: int) -> Statement:
    community_ids = sorted({h.community_id for h in _my_homes(request)})
    statement = Statement.objects.filter(pk=statement_id, community_id__in=community_ids).select_related("community")
    found = statement.first()
    if found is None:
        raise Http404
    return found


@resident_view
@require_http_methods(["GET", "POST"])
def statement(request: HttpRequest, statement_id: int) -> HttpResponse:
    """The statement with its charts; POST (the Verify button) recomputes it from the ledger."""
    found = _my_statement(request, statement_id)
    verification = accounts.verify_statement(found) if request.method == "POST" else None
    return render(
        request,
        "payments/portal/statement.html",
        {
            "statement": found,
            "view": statement_view(found.figures),
            "charts": statement_charts(found.figures),
            "verification": verification,
        },
    )


@resident_view
def statement_pdf(request: HttpRequest, statement_id: int) -> HttpResponse:
    found = _my_statement(request, statement_id)
    return statement_response(request, found, reverse("portal:payments_statement", args=[found.pk]))


def statement_response(request: HttpRequest, found: Statement, page_path: str) -> HttpResponse:
    content = pdf.statement_pdf(
        found, found.figures, community_name=found.community.name, verify_url=request.build_absolute_uri(page_path)
    )
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="statement-{found.pk}.pdf"'
    return response


def statement_view(figures: dict) -> dict:
    """The figures with names and yuan strings for the template."""
    from anju.billing.payments.labels import category_label, fee_item_label, income_kind_label

    common = figures.get("common_income", {})
    return {
        "fee_income": [(fee_item_label(k), yuan(v)) for k, v in figures.get("fee_income", {}).items()],
        "fee_income_total": yuan(figures.get("fee_income_total", 0)),
        "collected": yuan(figures.get("collected_fen", 0)),
        "expenses": [(category_label(k), yuan(v)) for k, v in figures.get("expenses", {}).items()],
        "expenses_total": yuan(figures.get("expenses_total", 0)),
        "common_gross": yuan(common.get("gross", 0)),
        "common_cost": yuan(common.get("cost_kept", 0)),
        "common_owners": yuan(common.get("owners_share", 0)),
        "common_by_kind": [(income_kind_label(k), yuan(v)) for k, v in common.get("owners_share_by_kind", {}).items()],
        "cost_plus": figures.get("fee_model") == "cost_plus",
        "remuneration": yuan(figures.get("remuneration_fen", 0)),
        "result": yuan(figures.get("result_fen", 0)),
    }


@resident_view
def home_statement(request: HttpRequest, home_id: int) -> HttpResponse:
    """My home's own account: every bill and what was paid on it, payments, refunds, prepaid."""
    home = _my_home(request, home_id)
    bill_rows = Bill.objects.filter(home_id=home.pk).order_by(*ledger_bridge.BILL_AGE_ORDER)
    rows = [
        {
            "period": ledger_bridge.bill_period_label(b),
            "total": yuan(b.total_fen),
            "paid": yuan(b.paid_fen),
            "owing": yuan(b.total_fen - b.paid_fen),
        }
        for b in bill_rows
    ]
    orders = PaymentOrder.objects.filter(home_id=home.pk, status=PaymentOrder.Status.PAID).order_by("-paid_at")[:50]
    billed = sum(b.total_fen for b in bill_rows)
    paid = sum(b.paid_fen for b in bill_rows)
    return render(
        request,
        "payments/portal/home_statement.html",
        {
            "home": home,
            "rows": rows,
            "orders": [{"order": o, "amount": yuan(o.amount_fen), "refunded": yuan(o.refunded_fen)} for o in orders],
            "billed": yuan(billed),
            "paid": yuan(paid),
            "owing": yuan(billed - paid),
            "prepaid": yuan(prepaid_of(home.pk)),
        },
    )
