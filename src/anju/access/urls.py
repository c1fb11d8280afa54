"""URLs of access: console pages (namespace ``console``), portal pages (namespace ``portal``,
under ``/portal/access/``) and the endpoints controllers and visitors use (site root)."""

from django.urls import URLPattern, path

from anju.access import controller_views, views_console, views_portal, views_settings

C = "c/<int:community_id>/access/"

console_urlpatterns: list[URLPattern] = [
    path(C, views_console.doors, name="access_doors"),
    path(C + "people/", views_console.people, name="access_people"),
    path(C + "people/<int:person_id>/", views_console.person_credentials, name="access_person"),
    path(C + "deny/", views_console.deny_list, name="access_deny_list"),
    path(C + "passes/", views_console.passes, name="access_passes"),
    path(C + "log/", views_console.log, name="access_log"),
    path(C + "guard/", views_console.guard_desk, name="access_guard"),
    path(C + "settings/", views_settings.access_settings, name="access_settings"),
    path(C + "shifts/", views_settings.shifts, name="access_shifts"),
    path(C + "shifts/<int:staff_shift_id>/", views_settings.shift_detail, name="access_shift"),
]
portal_urlpatterns: list[URLPattern] = [
    path("", views_portal.my_qr, name="access_qr"),
    path("visitors/", views_portal.visitors, name="access_visitors"),
    path("visitors/<int:visitor_pass_id>/", views_portal.pass_detail, name="access_pass"),
    path("log/", views_portal.household_log, name="access_household_log"),
]
public_urlpatterns: list[URLPattern] = [
    path("access/controller/sync/", controller_views.controller_sync, name="access_controller_sync"),
    path("access/controller/events/", controller_views.controller_events, name="access_controller_events"),
    path("access/controller/decide/", controller_views.controller_decide, name="access_controller_decide"),
    path("access/v/", controller_views.shared_pass, name="access_shared_pass"),
]
