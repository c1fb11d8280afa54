"""URLs of billing: console pages (namespace ``console``), portal pages (namespace ``portal``,
under ``/portal/billing/``) and public endpoints that authenticate themselves (site root)."""

from django.urls import URLPattern, path

from anju.billing import portal, views

console_urlpatterns: list[URLPattern] = [
    path("c/<int:community_id>/billing/", views.overview, name="billing_overview"),
    path("c/<int:community_id>/billing/tariffs/", views.tariffs, name="billing_tariffs"),
    path("c/<int:community_id>/billing/readings/", views.readings, name="billing_readings"),
    path("c/<int:community_id>/billing/readings/review/", views.review, name="billing_review"),
    path("c/<int:community_id>/billing/readings/import/", views.import_view, name="billing_import"),
    path("c/<int:community_id>/billing/runs/", views.runs, name="billing_runs"),
    path("c/<int:community_id>/billing/runs/<int:run_id>/", views.run_detail, name="billing_run"),
    path("c/<int:community_id>/billing/arrears/", views.arrears_view, name="billing_arrears"),
    path("c/<int:community_id>/billing/arrears/remind/", views.send_reminders_view, name="billing_remind"),
    path("c/<int:community_id>/billing/homes/<int:home_id>/", views.statement_view, name="billing_statement"),
    path("c/<int:community_id>/billing/homes/<int:home_id>/letter/", views.letter_view, name="billing_letter"),
    path("c/<int:community_id>/billing/discounts/", views.discounts, name="billing_discounts"),
]
portal_urlpatterns: list[URLPattern] = [
    path("", portal.my_bills, name="billing_bills"),
    path("bills/<int:bill_id>/", portal.bill_detail, name="billing_bill"),
]
public_urlpatterns: list[URLPattern] = []
