from django.urls import include, path

from anju.access.urls import portal_urlpatterns as access_pages
from anju.billing.payments.urls import portal_urlpatterns as payments_pages
from anju.billing.urls import portal_urlpatterns as billing_pages
from anju.community.urls import portal_urlpatterns as community_pages
from anju.devices.alarms.urls import portal_urlpatterns as alarms_pages
from anju.devices.urls import portal_urlpatterns as devices_pages
from anju.web import portal
from anju.workorders.preventive.urls import portal_urlpatterns as preventive_pages
from anju.workorders.urls import portal_urlpatterns as workorders_pages

app_name = "portal"
urlpatterns = [
    path("", portal.my_homes, name="home"),
    path("homes/<int:home_id>/", portal.home_detail, name="home_detail"),
    path("profile/", portal.profile, name="profile"),
    # Each app's resident pages under /portal/<app label>/, names prefixed with the label.
    path("workorders/", include(workorders_pages)),
    path("preventive/", include(preventive_pages)),
    path("billing/", include(billing_pages)),
    path("payments/", include(payments_pages)),
    path("devices/", include(devices_pages)),
    path("alarms/", include(alarms_pages)),
    path("access/", include(access_pages)),
    path("community/", include(community_pages)),
]
