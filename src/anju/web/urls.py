from django.urls import include, path

from anju.web import notifications, password_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    # The SMS paths come before the e-mail link's <uidb64>/<token>/, which would otherwise match them.
    path("password-reset/sms/", password_views.sms_reset_request, name="sms_reset_request"),
    path("password-reset/sms/verify/", password_views.sms_reset_verify, name="sms_reset_verify"),
    path("password-reset/", password_views.email_reset_request, name="password_reset"),
    path("password-reset/sent/", password_views.email_reset_sent, name="password_reset_done"),
    path("password-reset/done/", password_views.email_reset_complete, name="password_reset_complete"),
    path("password-reset/<uidb64>/<token>/", password_views.email_reset_confirm, name="password_reset_confirm"),
    path("notifications/", notifications.inbox, name="notifications"),
    path("notifications/read-all/", notifications.mark_all_read, name="notifications_read_all"),
    path("portal/", include("anju.web.portal_urls")),
]
