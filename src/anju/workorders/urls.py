"""URLs of workorders: console pages (namespace ``console``), portal pages (namespace ``portal``,
under ``/portal/workorders/``). Every name starts with ``workorders_``."""

from django.urls import URLPattern, path

from anju.workorders.views import console, portal, settings

console_urlpatterns: list[URLPattern] = [
    path("c/<int:community_id>/workorders/", console.board, name="workorders_board"),
    path("c/<int:community_id>/workorders/list/", console.order_list, name="workorders_list"),
    path("c/<int:community_id>/workorders/new/", console.new_order, name="workorders_new"),
    path("c/<int:community_id>/workorders/mine/", console.my_jobs, name="workorders_mine"),
    path("c/<int:community_id>/workorders/follow-ups/", console.follow_ups, name="workorders_follow_ups"),
    path("c/<int:community_id>/workorders/quality/", console.quality, name="workorders_quality"),
    path("c/<int:community_id>/workorders/settings/", settings.settings_page, name="workorders_settings"),
    path("c/<int:community_id>/workorders/<int:order_id>/", console.order_detail, name="workorders_detail"),
    path("c/<int:community_id>/workorders/photos/<int:photo_id>/", console.photo, name="workorders_photo"),
]
portal_urlpatterns: list[URLPattern] = [
    path("requests/", portal.requests_list, name="workorders_requests"),
    path("requests/new/", portal.report, name="workorders_report"),
    path("requests/<int:order_id>/", portal.request_detail, name="workorders_detail"),
    path("photos/<int:photo_id>/", portal.photo, name="workorders_photo"),
]
public_urlpatterns: list[URLPattern] = []
