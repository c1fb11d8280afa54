from django.contrib import admin
from django.urls import include, path, re_path

from anju.access.urls import public_urlpatterns as access_public
from anju.api.api import api, api_docs, unknown_endpoint
from anju.billing.payments.urls import public_urlpatterns as payments_public
from anju.billing.urls import public_urlpatterns as billing_public
from anju.community.urls import public_urlpatterns as community_public
from anju.core.views import health
from anju.devices.alarms.urls import public_urlpatterns as alarms_public
from anju.devices.urls import public_urlpatterns as devices_public
from anju.workorders.preventive.urls import public_urlpatterns as preventive_public
from anju.workorders.urls import public_urlpatterns as workorders_public

urlpatterns = [
    path("health", health, name="health"),
    path("api/v1/", api.urls),
    path("api/docs", api_docs, name="api_docs"),
    re_path(r"^api/(?P<rest>.*)$", unknown_endpoint),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("console/", include("anju.estates.console_urls")),
    # Endpoints for devices, controllers and payment providers: each authenticates its caller itself.
    *workorders_public,
    *preventive_public,
    *billing_public,
    *payments_public,
    *devices_public,
    *alarms_public,
    *access_public,
    *community_public,
    path("", include("anju.web.urls")),
]
