from django.contrib import admin
from django.urls import include, path, re_path

from anju.api.api import api, api_docs, unknown_endpoint
from anju.core.views import health

urlpatterns = [
    path("health", health, name="health"),
    path("api/v1/", api.urls),
    path("api/docs", api_docs, name="api_docs"),
    re_path(r"^api/(?P<rest>.*)$", unknown_endpoint),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("console/", include("anju.estates.console_urls")),
    path("", include("anju.web.urls")),
]
