"""Console pages for activities: the list and a new activity, one activity's sign-ups, waitlist,
volunteer hours and photos, the door poster with its check-in QR code, and the check-in scanner."""

from __future__ import annotations

import segno
from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from anju.community import services
from anju.community.forms import ActivityForm, HoursForm, PhotoForm, ScanForm
from anju.community.models import Activity, ActivityPhoto, Signup
from anju.community.views.common import actor, image_response
from anju.core.errors import DomainError
from anju.core.permissions import Perm
from anju.web.console import current_community, render_console
from anju.web.decorators import community_view
from anju.web.forms import add_domain_error


@community_view(Perm.MANAGE_ACTIVITIES)
def activities(request: HttpRequest, community_id: int) -> HttpResponse:
    form = ActivityForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            activity = services.create_activity(community=current_community(request), actor=actor(request), **data)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            return redirect("console:community_activity", community_id=community_id, activity_id=activity.pk)
    now = timezone.now()
    rows = Activity.objects.annotate(
        confirmed=Count("signups", filter=Q(signups__status=Signup.Status.CONFIRMED)),
        waiting=Count("signups", filter=Q(signups__status=Signup.Status.WAITLISTED)),
        checked_in=Count("signups", filter=Q(signups__checked_in_at__isnull=False)),
    )
    return render_console(
        request,
        "community/console/activities.html",
        community_id,
        form=form,
        upcoming=list(rows.filter(ends_at__gte=now).order_by("starts_at")[:100]),
        past=list(rows.filter(ends_at__lt=now).order_by("-starts_at")[:50]),
    )


def door_url(request: HttpRequest, activity: Activity) -> str:
    """The address in the door poster's QR code: the resident's own check-in page with the token."""
    path = reverse("portal:community_checkin", args=[activity.pk])
    return request.build_absolute_uri(f"{path}?t={activity.checkin_token}")


@community_view(Perm.MANAGE_ACTIVITIES)
def activity_detail(request: HttpRequest, community_id: int, activity_id: int) -> HttpResponse:
    activity = get_object_or_404(Activity, pk=activity_id)
    photo_form = PhotoForm()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "cancel":
                services.cancel_activity(activity, actor=actor(request))
                messages.success(request, _("The activity has been cancelled and everyone signed up was told."))
                return redirect("console:community_activity", community_id=community_id, activity_id=activity.pk)
            if action == "hours":
                hours = HoursForm(request.POST)
                if hours.is_valid():
                    signup = get_object_or_404(Signup, pk=hours.cleaned_data["signup"], activity=activity)
                    services.record_volunteer_hours(signup, minutes=hours.cleaned_data["minutes"], actor=actor(request))
                    messages.success(request, _("The hours have been recorded."))
                    return redirect("console:community_activity", community_id=community_id, activity_id=activity.pk)
                messages.error(request, _("Give the minutes worked, from 0 to 1440."))
            elif action == "photo":
                photo_form = PhotoForm(request.POST, request.FILES)
                if photo_form.is_valid():
                    services.add_photo(
                        activity,
                        upload=photo_form.cleaned_data["image"],
                        caption=photo_form.cleaned_data["caption"],
                        actor=actor(request),
                    )
                    return redirect("console:community_activity", community_id=community_id, activity_id=activity.pk)
            else:
                messages.error(request, _("Unknown action."))
        except DomainError as exc:
            if action == "photo":
                add_domain_error(photo_form, exc)
            else:
                messages.error(request, str(exc.message))
    signups = list(Signup.objects.filter(activity=activity).select_related("person").order_by("queued_at", "pk"))
    return render_console(
        request,
        "community/console/activity.html",
        community_id,
        activity=activity,
        photo_form=photo_form,
        confirmed=[s for s in signups if s.status == Signup.Status.CONFIRMED],
        waitlist=[s for s in signups if s.status == Signup.Status.WAITLISTED],
        cancelled=[s for s in signups if s.status == Signup.Status.CANCELLED],
        photos=list(activity.photos.all()),
    )


@community_view(Perm.MANAGE_ACTIVITIES)
def activity_door(request: HttpRequest, community_id: int, activity_id: int) -> HttpResponse:
    """A printable poster for the door: residents scan it with their phone to check themselves in."""
    activity = get_object_or_404(Activity, pk=activity_id)
    url = door_url(request, activity)
    qr_svg = segno.make(url, error="m").svg_inline(scale=8, dark="#000")
    return render_console(
        request,
        "community/console/activity_door.html",
        community_id,
        activity=activity,
        qr_svg=mark_safe(qr_svg),
        door_url=url,
    )


@community_view(Perm.MANAGE_ACTIVITIES)
def checkin_scanner(request: HttpRequest, community_id: int, activity_id: int) -> HttpResponse:
    """The door scanner: a resident shows their personal QR code; a scanner (or a person) types it in."""
    activity = get_object_or_404(Activity, pk=activity_id)
    form = ScanForm(request.POST or None)
    result: Signup | None = None
    if request.method == "POST" and form.is_valid():
        try:
            signup = services.signup_from_code(activity, form.cleaned_data["code"])
            result = services.check_in(signup, actor=actor(request))
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            form = ScanForm()
    checked = Signup.objects.filter(activity=activity, checked_in_at__isnull=False).count()
    confirmed = Signup.objects.filter(activity=activity, status=Signup.Status.CONFIRMED).count()
    return render_console(
        request,
        "community/console/scanner.html",
        community_id,
        activity=activity,
        form=form,
        result=result,
        checked=checked,
        confirmed=confirmed,
    )


@community_view(Perm.MANAGE_ACTIVITIES)
def activity_photo(request: HttpRequest, community_id: int, activity_photo_id: int) -> HttpResponse:
    return image_response(get_object_or_404(ActivityPhoto, pk=activity_photo_id).image)
