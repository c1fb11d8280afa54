"""The staff console under ``/console/``: every app contributes its pages to one ``console`` namespace."""

from anju.core.urls import console_urlpatterns as core_pages
from anju.estates.urls import urlpatterns as estates_pages
from anju.estates.urls_import import urlpatterns as import_pages
from anju.residents.urls import urlpatterns as residents_pages

app_name = "console"
urlpatterns = [*estates_pages, *residents_pages, *import_pages, *core_pages]
