"""URLs of alarms: console pages (namespace ``console``), portal pages (namespace ``portal``,
under ``/portal/alarms/``) and public endpoints that authenticate themselves (site root)."""

from django.urls import URLPattern, path

from anju.devices.alarms import views

C = "c/<int:community_id>/alarms/"

console_urlpatterns: list[URLPattern] = [
    path(C, views.alarm_list, name="alarms_list"),
    path(C + "<int:alarm_id>/", views.alarm_detail, name="alarms_detail"),
    path(C + "rules/", views.rule_templates, name="alarms_rules"),
    path(C + "rules/edit/", views.rule_template_edit, name="alarms_rule_edit"),
    path(C + "devices/<int:device_id>/rules/", views.device_rules, name="alarms_device_rules"),
    path(C + "precision/", views.camera_precision, name="alarms_precision"),
]
portal_urlpatterns: list[URLPattern] = [
    path("outages/", views.outages, name="alarms_outages"),
]
public_urlpatterns: list[URLPattern] = []
