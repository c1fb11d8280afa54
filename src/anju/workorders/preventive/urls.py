"""URLs of preventive work. Console pages only (namespace ``console``): patrols are staff work."""

from django.urls import URLPattern, path

from anju.workorders.preventive import views, views_maintenance

C = "c/<int:community_id>/preventive/"

console_urlpatterns: list[URLPattern] = [
    path(C, views.rounds, name="preventive_rounds"),
    path(C + "rounds/<int:patrol_round_id>/", views.round_detail, name="preventive_round"),
    path(C + "scan/<str:patrol_token>/", views.scan, name="preventive_scan"),
    path(C + "routes/", views.routes, name="preventive_routes"),
    path(C + "routes/<int:patrol_route_id>/", views.route_detail, name="preventive_route"),
    path(C + "routes/<int:patrol_route_id>/sheet/", views.route_sheet, name="preventive_route_sheet"),
    path(C + "points/<int:patrol_point_id>/qr.png", views.point_qr, name="preventive_point_qr"),
    path(C + "plans/", views.plans, name="preventive_plans"),
    path(C + "plans/<int:inspection_plan_id>/", views.plan_detail, name="preventive_plan"),
    path(C + "maintenance/", views_maintenance.maintenance_plans, name="preventive_maintenance"),
    path(
        C + "maintenance/<int:maintenance_plan_id>/",
        views_maintenance.maintenance_plan,
        name="preventive_maintenance_plan",
    ),
]
portal_urlpatterns: list[URLPattern] = []
public_urlpatterns: list[URLPattern] = []
