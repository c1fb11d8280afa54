"""Console pages owned by core; paths are relative to ``/console/`` (see ``estates.console_urls``)."""

from django.urls import URLPattern, path

from anju.core import console_views

console_urlpatterns: list[URLPattern] = [
    path("", console_views.index, name="index"),
    path("c/<int:community_id>/audit/", console_views.audit_log, name="audit"),
]
