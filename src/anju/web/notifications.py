"""Everyone's inbox at ``/notifications/``: residents inside the portal's frame, staff the console's."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from anju.core import notifications
from anju.core.models import Notification
from anju.web.decorators import request_access

PAGE_SIZE = 50


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    rows = list(Notification.objects.filter(recipient_id=request.user.pk).order_by("-created_at", "-id")[:PAGE_SIZE])
    staff = request_access(request).is_staff_user
    template = "web/notifications_console.html" if staff else "web/notifications_portal.html"
    return render(request, template, {"rows": rows})


@login_required
@require_POST
def mark_all_read(request: HttpRequest) -> HttpResponse:
    notifications.mark_read(request.user)  # type: ignore[arg-type]
    return redirect("notifications")
