"""Console pages for inspections: today's rounds, a round on the phone, the QR scan page, routes
with their printable QR sheet, and inspection plans. Maintenance pages are in ``views_maintenance``.

Every view runs inside ``@community_view`` (other tenants: 404; missing permission: 403; the scope
open). Pages read; writes go through :mod:`anju.workorders.preventive.services`, whose refusals are
shown on the form.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.core.errors import DomainError
from anju.core.models import Role, User
from anju.core.permissions import Perm, staff_with_role
from anju.web.console import current_community, render_console, require_permission
from anju.web.decorators import community_view, request_access
from anju.web.forms import add_domain_error
from anju.workorders.preventive import qr, services
from anju.workorders.preventive.forms import (
    CheckInForm,
    InspectionPlanForm,
    PointForm,
    RouteForm,
    ScanCheckInForm,
    ScheduleChangeForm,
)
from anju.workorders.preventive.models import CheckIn, InspectionPlan, Point, Round, Route

MISSED_SHOWN = 20


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _assignable_staff(community_id: int) -> list[User]:
    return staff_with_role(community_id, Role.GUARD, Role.TECHNICIAN, Role.STEWARD, Role.MANAGER)


# --- Rounds --------------------------------------------------------------------------------------


@community_view(Perm.VIEW_WORKORDERS)
def rounds(request: HttpRequest, community_id: int) -> HttpResponse:
    """Today's rounds (the patroller's start page on the phone) and the latest missed ones;
    ``?day=YYYY-MM-DD`` shows another day's rounds (anything unreadable means today)."""
    now = timezone.now()
    today = timezone.localdate(now)
    day = _parse_day(request.GET.get("day", "")) or today
    todays: list[Round] = list(
        Round.objects.of_day(day, now).select_related("plan", "route", "assignee").order_by("window_starts_at", "pk")
    )
    user = _user(request)
    access = request_access(request)
    for round_ in todays:
        round_.mine = services.may_walk(user, round_, access)  # type: ignore[attr-defined]
        round_.open_now = round_.is_open_at(now) and round_.state in (  # type: ignore[attr-defined]
            Round.State.SCHEDULED,
            Round.State.IN_PROGRESS,
        )
    missed = list(
        Round.objects.filter(state=Round.State.MISSED)
        .select_related("plan", "route")
        .order_by("-window_ends_at")[:MISSED_SHOWN]
    )
    return render_console(
        request,
        "preventive/rounds.html",
        community_id,
        today=day,
        previous_day=day - dt.timedelta(days=1),
        next_day=day + dt.timedelta(days=1),
        is_today=day == today,
        rounds=todays,
        missed=missed,
    )


def _parse_day(raw: str) -> dt.date | None:
    try:
        day = dt.date.fromisoformat(raw.strip()[:10])
    except ValueError:
        return None
    return day if dt.date(2000, 1, 1) <= day <= dt.date(2100, 12, 31) else None


def _round_points(round_: Round) -> list[tuple[Point, CheckIn | None]]:
    checkins = {c.point_id: c for c in CheckIn.objects.filter(round=round_).select_related("checked_by")}
    points = Point.objects.filter(route_id=round_.route_id).select_related("building", "unit__building", "common_part")
    return [(point, checkins.get(point.pk)) for point in points if point.active or point.pk in checkins]


def _store_check_in(request: HttpRequest, form: CheckInForm, round_: Round, *, method: str) -> CheckIn | None:
    """Call the service with a valid form; on refusal put the reason on the form and return None."""
    try:
        return services.check_in(
            round_=round_,
            token=form.cleaned_data["token"],
            result=form.cleaned_data["result"],
            note=form.cleaned_data["note"],
            photo=form.cleaned_data.get("photo"),
            method=method,
            actor=_user(request),
        )
    except DomainError as exc:
        add_domain_error(form, exc)
        return None


def _checked_message(request: HttpRequest, checkin: CheckIn) -> None:
    if checkin.result == CheckIn.Result.PROBLEM:
        messages.warning(request, _("Checked in at %(point)s; a work order was opened.") % {"point": checkin.point})
    else:
        messages.success(request, _("Checked in at %(point)s.") % {"point": checkin.point})


@community_view(Perm.VIEW_WORKORDERS)
def round_detail(request: HttpRequest, community_id: int, patrol_round_id: int) -> HttpResponse:
    """One round on the phone: each point, done or not; tap a point's form to check in by typing
    the code under its QR sticker (scanning the sticker goes to :func:`scan` instead)."""
    round_: Round = get_object_or_404(Round.objects.select_related("plan", "route", "assignee"), pk=patrol_round_id)
    active_point = (request.POST.get("point") if request.method == "POST" else request.GET.get("point")) or ""
    form = CheckInForm(request.POST or None, request.FILES or None, auto_id=f"p{active_point}_%s")
    if request.method == "POST" and form.is_valid():
        checkin = _store_check_in(request, form, round_, method=CheckIn.Method.TYPED)
        if checkin is not None:
            _checked_message(request, checkin)
            return redirect("console:preventive_round", community_id=community_id, patrol_round_id=round_.pk)
    now = timezone.now()
    rows = []
    for point, checkin in _round_points(round_):
        # Each point gets its own form (own element ids); the one just refused keeps its errors.
        point_form = form if str(point.pk) == active_point else CheckInForm(auto_id=f"p{point.pk}_%s")
        rows.append((point, checkin, point_form))
    return render_console(
        request,
        "preventive/round.html",
        community_id,
        round=round_,
        points=rows,
        active_point=active_point or "",
        may_walk=services.may_walk(_user(request), round_, request_access(request)),
        open_now=round_.is_open_at(now) and round_.state in (Round.State.SCHEDULED, Round.State.IN_PROGRESS),
    )


@community_view(Perm.VIEW_WORKORDERS)
def scan(request: HttpRequest, community_id: int, patrol_token: str) -> HttpResponse:
    """Where a point's QR code leads. The token finds the point (only in this community: a foreign
    or made-up token is a 404), and the page offers the finding form for the round of that route
    open now that the scanner may walk. Saving proves presence with the same token."""
    point: Point = get_object_or_404(
        Point.objects.select_related("route", "common_part", "building"),
        token=services.normalize_token(patrol_token),
    )
    now = timezone.now()
    access = request_access(request)
    candidates = [
        r
        for r in Round.objects.open()
        .filter(route_id=point.route_id, window_starts_at__lte=now, window_ends_at__gt=now)
        .select_related("plan")
        .order_by("window_starts_at", "pk")
        if services.may_walk(_user(request), r, access)
    ]
    done = set(CheckIn.objects.filter(round__in=candidates, point=point).values_list("round_id", flat=True))
    open_rounds = [r for r in candidates if r.pk not in done]
    initial = {"token": point.token, "round_id": open_rounds[0].pk if open_rounds else None}
    form = ScanCheckInForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        round_ = next((r for r in candidates if r.pk == form.cleaned_data["round_id"]), None)
        if round_ is None:
            form.add_error(None, _("No round of this route is open for you now."))
        else:
            checkin = _store_check_in(request, form, round_, method=CheckIn.Method.SCAN)
            if checkin is not None:
                _checked_message(request, checkin)
                return redirect("console:preventive_round", community_id=community_id, patrol_round_id=round_.pk)
    return render_console(
        request,
        "preventive/scan.html",
        community_id,
        point=point,
        open_rounds=open_rounds,
        already=bool(done),
        form=form,
    )


# --- Routes and points ---------------------------------------------------------------------------


@community_view(Perm.VIEW_WORKORDERS)
def routes(request: HttpRequest, community_id: int) -> HttpResponse:
    form = RouteForm(request.POST or None)
    if request.method == "POST":
        require_permission(request, Perm.MANAGE_WORKORDERS, community_id)
        if form.is_valid():
            try:
                route = services.create_route(
                    community=current_community(request),
                    name=form.cleaned_data["name"],
                    description=form.cleaned_data["description"],
                    actor=_user(request),
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Route created: %(route)s. Now add its points.") % {"route": route})
                return redirect("console:preventive_route", community_id=community_id, patrol_route_id=route.pk)
    rows = Route.objects.annotate(
        point_count=Count("points", filter=Q(points__active=True), distinct=True),
        plan_count=Count("plans", filter=Q(plans__active=True), distinct=True),
    ).order_by("-active", "name")
    return render_console(request, "preventive/routes.html", community_id, routes=rows, form=form)


@community_view(Perm.VIEW_WORKORDERS)
def route_detail(request: HttpRequest, community_id: int, patrol_route_id: int) -> HttpResponse:
    route = get_object_or_404(Route, pk=patrol_route_id)
    form = PointForm(request.POST if request.POST.get("action") == "add_point" else None)
    if request.method == "POST":
        require_permission(request, Perm.MANAGE_WORKORDERS, community_id)
        action = request.POST.get("action")
        if action == "add_point" and form.is_valid():
            try:
                point = services.add_point(route=route, actor=_user(request), **form.cleaned_data)
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Point added: %(point)s.") % {"point": point})
                return redirect("console:preventive_route", community_id=community_id, patrol_route_id=route.pk)
        elif action in ("retire", "reinstate"):
            services.set_route_active(route=route, active=action == "reinstate", actor=_user(request))
            messages.success(request, _("Saved: %(object)s") % {"object": route})
            return redirect("console:preventive_route", community_id=community_id, patrol_route_id=route.pk)
        elif action in ("reissue", "deactivate", "activate"):
            point_id = request.POST.get("point", "")
            target = Point.objects.filter(route=route, pk=int(point_id)).first() if point_id.isdigit() else None
            if target is not None:
                if action == "reissue":
                    services.reissue_point_token(point=target, actor=_user(request))
                    messages.success(
                        request, _("New code issued for %(point)s: print its sticker again.") % {"point": target}
                    )
                else:
                    services.set_point_active(point=target, active=action == "activate", actor=_user(request))
                    messages.success(request, _("Saved: %(object)s") % {"object": target})
                return redirect("console:preventive_route", community_id=community_id, patrol_route_id=route.pk)
    points = Point.objects.filter(route=route).select_related("building", "unit__building", "common_part")
    return render_console(request, "preventive/route.html", community_id, route=route, points=points, form=form)


@community_view(Perm.MANAGE_WORKORDERS)
def route_sheet(request: HttpRequest, community_id: int, patrol_route_id: int) -> HttpResponse:
    """The printable sheet: one QR sticker per active point, with its name, place and typed code.
    Only managers see codes: whoever holds a code can check in without walking there."""
    route = get_object_or_404(Route, pk=patrol_route_id)
    points = Point.objects.filter(route=route, active=True).select_related("building", "unit__building", "common_part")
    stickers = [(point, qr.qr_svg(qr.scan_url(request, point))) for point in points]
    return render_console(request, "preventive/route_sheet.html", community_id, route=route, stickers=stickers)


@community_view(Perm.MANAGE_WORKORDERS)
def point_qr(request: HttpRequest, community_id: int, patrol_point_id: int) -> HttpResponse:
    """One point's QR code as a PNG, for a label printer."""
    point = get_object_or_404(Point, pk=patrol_point_id)
    response = HttpResponse(qr.qr_png(qr.scan_url(request, point)), content_type="image/png")
    response["Content-Disposition"] = f'inline; filename="point-{point.pk}.png"'
    response["Cache-Control"] = "private, no-store"
    return response


# --- Inspection plans ----------------------------------------------------------------------------


def _schedule_args(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "frequency": data["frequency"],
        "weekdays": data.get("weekdays") or [],
        "month_days": data.get("month_days") or [],
        "window_start": data["window_start"],
        "window_end": data["window_end"],
        "assignee_role": data["assignee_role"],
        "assignee": data.get("assignee"),
    }


@community_view(Perm.VIEW_WORKORDERS)
def plans(request: HttpRequest, community_id: int) -> HttpResponse:
    today = timezone.localdate()
    form = InspectionPlanForm(
        request.POST or None,
        staff=_assignable_staff(community_id),
        initial={"starts_on": today, "window_start": dt.time(9), "window_end": dt.time(11)},
    )
    if request.method == "POST":
        require_permission(request, Perm.MANAGE_WORKORDERS, community_id)
        if form.is_valid():
            data = form.cleaned_data
            try:
                plan = services.create_inspection_plan(
                    route=data["route"],
                    name=data["name"],
                    starts_on=data["starts_on"],
                    actor=_user(request),
                    **_schedule_args(data),
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                services.generate_rounds(community_ids=[community_id])
                messages.success(request, _("Plan created: %(plan)s.") % {"plan": plan})
                return redirect("console:preventive_plan", community_id=community_id, inspection_plan_id=plan.pk)
    rows = InspectionPlan.objects.select_related("route").prefetch_related("schedules").order_by("-active", "name")
    plan_rows = [(plan, services.schedule_in_force(list(plan.schedules.all()), today)) for plan in rows]
    return render_console(request, "preventive/plans.html", community_id, plans=plan_rows, form=form)


@community_view(Perm.VIEW_WORKORDERS)
def plan_detail(request: HttpRequest, community_id: int, inspection_plan_id: int) -> HttpResponse:
    plan: InspectionPlan = get_object_or_404(InspectionPlan.objects.select_related("route"), pk=inspection_plan_id)
    today = timezone.localdate()
    form = ScheduleChangeForm(
        request.POST if request.POST.get("action") == "change" else None,
        staff=_assignable_staff(community_id),
        initial={"effective_from": today + dt.timedelta(days=1)},
    )
    if request.method == "POST":
        require_permission(request, Perm.MANAGE_WORKORDERS, community_id)
        action = request.POST.get("action")
        if action == "change" and form.is_valid():
            data = form.cleaned_data
            try:
                services.change_inspection_schedule(
                    plan=plan, effective_from=data["effective_from"], actor=_user(request), **_schedule_args(data)
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                services.generate_rounds(community_ids=[community_id])
                messages.success(request, _("The new schedule is saved; past rounds keep the old one."))
                return redirect("console:preventive_plan", community_id=community_id, inspection_plan_id=plan.pk)
        elif action in ("pause", "resume"):
            services.set_plan_active(plan=plan, active=action == "resume", actor=_user(request))
            return redirect("console:preventive_plan", community_id=community_id, inspection_plan_id=plan.pk)
    versions = list(plan.schedules.select_related("assignee").order_by("-effective_from"))
    recent = plan.rounds.select_related("assignee").order_by("-day", "-pk")[:30]
    return render_console(
        request,
        "preventive/plan.html",
        community_id,
        plan=plan,
        versions=versions,
        current=services.schedule_in_force(versions, today),
        recent=recent,
        form=form,
    )
