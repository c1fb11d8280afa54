"""URLs of community life: console pages (namespace ``console``), resident pages (namespace
``portal``, under ``/portal/community/``). Every name is prefixed ``community_``."""

from django.urls import URLPattern, path

from anju.community.views import console, console_activities, portal

C = "c/<int:community_id>/community/"

console_urlpatterns: list[URLPattern] = [
    path(C + "announcements/", console.announcements, name="community_announcements"),
    path(C + "announcements/<int:announcement_id>/", console.announcement_detail, name="community_announcement"),
    path(
        C + "announcements/<int:announcement_id>/print.pdf",
        console.announcement_pdf_view,
        name="community_announcement_pdf",
    ),
    path(C + "attachments/<int:attachment_id>/", console.attachment, name="community_attachment"),
    path(C + "board/", console.board, name="community_board"),
    path(C + "board/<int:post_id>/image/", console.post_image, name="community_post_image"),
    path(C + "activities/", console_activities.activities, name="community_activities"),
    path(C + "activities/<int:activity_id>/", console_activities.activity_detail, name="community_activity"),
    path(C + "activities/<int:activity_id>/door/", console_activities.activity_door, name="community_activity_door"),
    path(C + "activities/<int:activity_id>/scan/", console_activities.checkin_scanner, name="community_scanner"),
    path(C + "photos/<int:activity_photo_id>/", console_activities.activity_photo, name="community_photo"),
    path(C + "points/", console.points, name="community_points"),
    path(C + "surveys/", console.surveys, name="community_surveys"),
    path(C + "surveys/<int:survey_id>/", console.survey_detail, name="community_survey"),
]

portal_urlpatterns: list[URLPattern] = [
    path("notices/", portal.notices, name="community_notices"),
    path("notices/<int:announcement_id>/", portal.notice_detail, name="community_notice"),
    path("attachments/<int:attachment_id>/", portal.notice_attachment, name="community_attachment"),
    path("board/", portal.board, name="community_board"),
    path("board/<int:post_id>/", portal.post_detail, name="community_post"),
    path("board/<int:post_id>/image/", portal.post_image, name="community_post_image"),
    path("activities/", portal.activities, name="community_activities"),
    path("activities/new/", portal.new_activity, name="community_new_activity"),
    path("activities/mine.ics", portal.my_ics, name="community_my_ics"),
    path("activities/<int:activity_id>/", portal.activity_detail, name="community_activity"),
    path("activities/<int:activity_id>/calendar.ics", portal.activity_ics, name="community_activity_ics"),
    path("activities/<int:activity_id>/check-in/", portal.self_checkin, name="community_checkin"),
    path("photos/<int:activity_photo_id>/", portal.activity_photo, name="community_photo"),
    path("points/", portal.points, name="community_points"),
    path("surveys/", portal.surveys, name="community_surveys"),
    path("surveys/<int:survey_id>/", portal.survey_detail, name="community_survey"),
]

public_urlpatterns: list[URLPattern] = []
