"""The staff console under ``/console/``: every app contributes its pages to one ``console`` namespace
(URL names carry the app's label as a prefix, e.g. ``console:workorders_board``)."""

from anju.access.urls import console_urlpatterns as access_pages
from anju.billing.payments.urls import console_urlpatterns as payments_pages
from anju.billing.urls import console_urlpatterns as billing_pages
from anju.community.urls import console_urlpatterns as community_pages
from anju.core.urls import console_urlpatterns as core_pages
from anju.devices.alarms.urls import console_urlpatterns as alarms_pages
from anju.devices.urls import console_urlpatterns as devices_pages
from anju.estates.urls import urlpatterns as estates_pages
from anju.estates.urls_import import urlpatterns as import_pages
from anju.residents.urls import urlpatterns as residents_pages
from anju.workorders.preventive.urls import console_urlpatterns as preventive_pages
from anju.workorders.urls import console_urlpatterns as workorders_pages

app_name = "console"
urlpatterns = [
    *estates_pages,
    *residents_pages,
    *import_pages,
    *core_pages,
    *workorders_pages,
    *preventive_pages,
    *billing_pages,
    *payments_pages,
    *devices_pages,
    *alarms_pages,
    *access_pages,
    *community_pages,
]
