"""People pages of the console; paths are relative to ``/console/`` (see ``estates.console_urls``)."""

from django.urls import path

from anju.residents import views

C = "c/<int:community_id>/"

urlpatterns = [
    path(C + "homes/<int:home_id>/", views.home_detail, name="home"),
    path(C + "people/", views.people, name="people"),
    path(C + "people/<int:person_id>/", views.person_detail, name="person"),
    path(C + "people/<int:person_id>/reveal/", views.person_reveal, name="person_reveal"),
    path(C + "stewards/", views.stewards, name="stewards"),
]
