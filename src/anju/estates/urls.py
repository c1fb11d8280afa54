"""Register pages of the console; paths are relative to ``/console/`` (see ``console_urls``)."""

from django.urls import path

from anju.estates import views

C = "c/<int:community_id>/"

urlpatterns = [
    path(C, views.dashboard, name="dashboard"),
    path(C + "buildings/", views.buildings, name="buildings"),
    path(C + "buildings/new/", views.building_create, name="building_create"),
    path(C + "buildings/units/new/", views.unit_create, name="unit_create"),
    path(C + "buildings/<int:building_id>/map/", views.property_map_view, name="property_map"),
    path(C + "homes/", views.homes, name="homes"),
    path(C + "homes/new/", views.home_create, name="home_create"),
]
