from django.urls import path

from anju.web import portal

app_name = "portal"
urlpatterns = [
    path("", portal.my_homes, name="home"),
    path("homes/<int:home_id>/", portal.home_detail, name="home_detail"),
    path("profile/", portal.profile, name="profile"),
]
