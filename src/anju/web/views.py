"""The front door: where ``/`` sends each kind of user, log-in and log-out."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy

from anju.web.auth_forms import LoginForm
from anju.web.decorators import request_access


def home(request: HttpRequest) -> HttpResponse:
    """Send staff, regulators and committee members to the console and residents to the portal.

    Someone who is both (a steward who also lives in a community they serve) gets the console, which
    links to the portal. An account with neither gets a calm explanation rather than an error page:
    it is usually a resident whose occupancy has not been recorded yet.
    """
    if not request.user.is_authenticated:
        return redirect("login")
    access = request_access(request)
    if access.grants:
        return redirect("console:index")
    if access.is_resident:
        return redirect("portal:home")
    return render(request, "web/no_community.html")


login = auth_views.LoginView.as_view(
    template_name="web/login.html", authentication_form=LoginForm, redirect_authenticated_user=True
)
logout = auth_views.LogoutView.as_view(next_page=reverse_lazy("login"))
