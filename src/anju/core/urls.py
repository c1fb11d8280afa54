from django.urls import URLPattern

console_urlpatterns: list[URLPattern] = []
