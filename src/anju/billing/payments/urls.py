"""URLs of payments: console pages (namespace ``console``), portal pages (namespace ``portal``,
under ``/portal/payments/``) and public endpoints that authenticate themselves (site root)."""

from django.urls import URLPattern, path

from anju.billing.payments import views_console as console
from anju.billing.payments import views_portal as portal
from anju.billing.payments import views_public as public

P = "c/<int:community_id>/payments"

console_urlpatterns: list[URLPattern] = [
    path(f"{P}/", console.index, name="payments_index"),
    path(f"{P}/counter/", console.counter, name="payments_counter"),
    path(f"{P}/orders/<int:payment_order_id>/", console.order_detail, name="payments_order"),
    path(f"{P}/receipts/<int:receipt_id>/pdf/", console.receipt_pdf, name="payments_receipt_pdf"),
    path(f"{P}/refunds/", console.refund_list, name="payments_refunds"),
    path(f"{P}/refunds/<int:refund_id>/payout/", console.refund_payout, name="payments_refund_payout"),
    path(f"{P}/callbacks/", console.callback_list, name="payments_callbacks"),
    path(f"{P}/expenses/", console.expenses, name="payments_expenses"),
    path(f"{P}/statements/", console.statements, name="payments_statements"),
    path(f"{P}/statements/<int:statement_id>/", console.statement_detail, name="payments_statement"),
]
portal_urlpatterns: list[URLPattern] = [
    path("bills/", portal.bills, name="payments_bills"),
    path("orders/<str:trade_no>/", portal.order, name="payments_order"),
    path("sandbox/<str:trade_no>/", portal.sandbox, name="payments_sandbox"),
    path("history/", portal.history, name="payments_history"),
    path("receipts/<int:receipt_id>/pdf/", portal.receipt_pdf, name="payments_receipt_pdf"),
    path("statements/", portal.statements, name="payments_statements"),
    path("statements/<int:statement_id>/", portal.statement, name="payments_statement"),
    path("statements/<int:statement_id>/pdf/", portal.statement_pdf, name="payments_statement_pdf"),
    path("homes/<int:home_id>/statement/", portal.home_statement, name="payments_home_statement"),
]
public_urlpatterns: list[URLPattern] = [
    path("hooks/payments/<str:provider>/", public.hook, name="payments_hook"),
    path("hooks/payments/<str:provider>/refunds/", public.refund_hook, name="payments_refund_hook"),
    path("receipts/verify/", public.verify_receipt, name="payments_verify_receipt"),
]
