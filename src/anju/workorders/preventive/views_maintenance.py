"""Console pages for maintenance plans: the list with next due dates and overdue flags, one plan
with its interval versions and visits."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.core.errors import DomainError
from anju.core.permissions import Perm
from anju.web.console import current_community, render_console, require_permission
from anju.web.decorators import community_view
from anju.web.forms import add_domain_error
from anju.workorders.preventive import services
from anju.workorders.preventive.forms import IntervalChangeForm, MaintenancePlanForm
from anju.workorders.preventive.models import MaintenancePlan, MaintenanceVisit
from anju.workorders.preventive.views import _user


@community_view(Perm.VIEW_WORKORDERS)
def maintenance_plans(request: HttpRequest, community_id: int) -> HttpResponse:
    today = timezone.localdate()
    form = MaintenancePlanForm(request.POST or None, initial={"first_due_on": today})
    if request.method == "POST":
        require_permission(request, Perm.MANAGE_WORKORDERS, community_id)
        if form.is_valid():
            data = form.cleaned_data
            try:
                plan = services.create_maintenance_plan(
                    community=current_community(request),
                    name=data["name"],
                    kind=data["kind"],
                    common_part=data["common_part"],
                    device=data["device"],
                    first_due_on=data["first_due_on"],
                    every=data["every"],
                    unit=data["unit"] or None,
                    lead_days=data["lead_days"],
                    instructions=data["instructions"],
                    actor=_user(request),
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                services.generate_maintenance_orders(community_ids=[community_id])
                messages.success(request, _("Maintenance plan created: %(plan)s.") % {"plan": plan})
                return redirect(
                    "console:preventive_maintenance_plan", community_id=community_id, maintenance_plan_id=plan.pk
                )
    rows = services.maintenance_overview(today=today)
    overdue = sum(1 for row in rows if row.overdue)
    return render_console(
        request, "preventive/maintenance.html", community_id, rows=rows, overdue=overdue, form=form, today=today
    )


@community_view(Perm.VIEW_WORKORDERS)
def maintenance_plan(request: HttpRequest, community_id: int, maintenance_plan_id: int) -> HttpResponse:
    plan: MaintenancePlan = get_object_or_404(
        MaintenancePlan.objects.select_related("common_part", "device"), pk=maintenance_plan_id
    )
    form = IntervalChangeForm(request.POST or None)
    if request.method == "POST":
        require_permission(request, Perm.MANAGE_WORKORDERS, community_id)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.change_maintenance_interval(
                    plan=plan,
                    first_due_on=data["first_due_on"],
                    every=data["every"],
                    unit=data["unit"],
                    actor=_user(request),
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("The new interval is saved; visits already scheduled stand."))
                return redirect(
                    "console:preventive_maintenance_plan", community_id=community_id, maintenance_plan_id=plan.pk
                )
    visits = MaintenanceVisit.objects.filter(plan=plan).order_by("-due_on")[:40]
    return render_console(
        request,
        "preventive/maintenance_plan.html",
        community_id,
        plan=plan,
        versions=plan.schedules.select_related("created_by").order_by("-effective_from"),
        visits=visits,
        next_due=services.next_due(plan),
        preset=services.PRESETS.get(plan.kind),
        form=form,
    )
