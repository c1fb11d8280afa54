"""URLs of devices: console pages (namespace ``console``), portal pages (namespace ``portal``,
under ``/portal/devices/``) and public endpoints that authenticate themselves (site root)."""

from django.urls import URLPattern, path

from anju.devices import hooks, views

C = "c/<int:community_id>/devices/"

console_urlpatterns: list[URLPattern] = [
    path(C, views.device_list, name="devices_list"),
    path(C + "map/", views.device_map, name="devices_map"),
    path(C + "new/", views.device_create, name="devices_create"),
    path(C + "refused/", views.dead_letters, name="devices_dead_letters"),
    path(C + "<int:device_id>/", views.device_detail, name="devices_detail"),
    path(C + "<int:device_id>/credentials/", views.device_rotate_credentials, name="devices_rotate"),
    path(C + "<int:device_id>/mode/", views.device_set_mode, name="devices_mode"),
]
portal_urlpatterns: list[URLPattern] = []
public_urlpatterns: list[URLPattern] = [
    path("hooks/devices/telemetry/", hooks.device_messages, {"channel": "telemetry"}, name="devices_http_telemetry"),
    path("hooks/devices/event/", hooks.device_messages, {"channel": "event"}, name="devices_http_event"),
    path("hooks/devices/status/", hooks.device_messages, {"channel": "status"}, name="devices_http_status"),
    path("hooks/cameras/hikvision/", hooks.hikvision_push, name="devices_camera_hikvision"),
    path("hooks/cameras/dahua/", hooks.dahua_push, name="devices_camera_dahua"),
]
