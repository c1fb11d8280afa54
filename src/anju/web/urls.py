from django.urls import path

from anju.web import views

urlpatterns = [
    path("", views.home, name="home"),
]
