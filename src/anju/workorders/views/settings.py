"""The manager's settings page: how each category is dispatched and timed, the SLA policies
(effective-dated: a change adds a policy from now on), working calendars (office hours, holidays
and make-up working days), the loop's rules and technicians' skills."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from anju.core.errors import DomainError
from anju.core.models import User
from anju.core.permissions import Perm
from anju.estates.models import Building
from anju.web.console import current_community, render_console
from anju.web.decorators import community_view
from anju.web.forms import add_domain_error
from anju.workorders import services
from anju.workorders.forms import CalendarForm, CategoryForm, RulesForm, SlaPolicyForm, TechnicianForm
from anju.workorders.models import Category, SlaPolicy, TechnicianProfile, WorkingCalendar
from anju.workorders.services.dispatch import technicians
from anju.workorders.services.setup import settings_for


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


@community_view(Perm.MANAGE_WORKORDERS)
@require_http_methods(["GET", "POST"])
def settings_page(request: HttpRequest, community_id: int) -> HttpResponse:
    community = current_community(request)
    services.ensure_defaults(community)
    categories = list(Category.objects.select_related("calendar"))
    calendar_rows = list(WorkingCalendar.objects.all())
    calendars = [(c.pk, c.name) for c in calendar_rows]
    calendar_forms = {
        str(c.pk): CalendarForm(prefix=f"cal{c.pk}", initial=CalendarForm.initial_for(c)) for c in calendar_rows
    }
    calendar_forms["new"] = CalendarForm(
        prefix="calnew", initial={"weekdays": [0, 1, 2, 3, 4], "starts_at": "08:30", "ends_at": "17:30"}
    )
    techs = technicians(community_id)
    rules = settings_for(community_id)
    category_forms = {
        c.code: CategoryForm(
            prefix=c.code,
            calendars=calendars,
            initial={
                "dispatch_mode": c.dispatch_mode,
                "default_priority": c.default_priority,
                "skill": c.skill,
                "calendar": c.calendar_id,
                "paid_by_default": c.paid_by_default,
                "active": c.active,
            },
        )
        for c in categories
    }
    policy_form = SlaPolicyForm(prefix="sla", categories=[(c.code, c.name) for c in categories])
    rules_form = RulesForm(
        prefix="rules",
        initial={
            "auto_confirm_days": rules.auto_confirm_days,
            "dispute_days": rules.dispute_days,
            "low_rating_max": rules.low_rating_max,
            "follow_up_sample_percent": rules.follow_up_sample_percent,
        },
    )
    tech_form = TechnicianForm(prefix="tech", technicians=[(u.pk, str(u)) for u in techs])
    if request.method == "POST":
        action = request.POST.get("action", "")
        actor = _actor(request)
        try:
            if action.startswith("category:"):
                category = next((c for c in categories if c.code == action.partition(":")[2]), None)
                if category is None:
                    raise DomainError(_("Unknown category."))
                form: Any = CategoryForm(request.POST, prefix=category.code, calendars=calendars)
                category_forms[category.code] = form
                if form.is_valid():
                    data = form.cleaned_data
                    calendar = WorkingCalendar.objects.filter(pk=data["calendar"]).first() if data["calendar"] else None
                    services.update_category(
                        category=category,
                        dispatch_mode=data["dispatch_mode"],
                        default_priority=data["default_priority"],
                        skill=data["skill"],
                        calendar=calendar,
                        paid_by_default=data["paid_by_default"],
                        active=data["active"],
                        actor=actor,
                    )
                    return _saved(request, community_id)
            elif action.startswith("calendar:"):
                key = action.partition(":")[2]
                calendar = next((c for c in calendar_rows if str(c.pk) == key), None)
                if key not in calendar_forms:
                    raise DomainError(_("Unknown calendar."))
                form = calendar_forms[key] = CalendarForm(request.POST, prefix=f"cal{key}")
                if form.is_valid():
                    services.save_working_calendar(
                        community=community, calendar=calendar, actor=actor, **form.cleaned_data
                    )
                    return _saved(request, community_id)
            elif action == "sla":
                form = policy_form = SlaPolicyForm(
                    request.POST, prefix="sla", categories=[(c.code, c.name) for c in categories]
                )
                if form.is_valid():
                    data = form.cleaned_data
                    category = next((c for c in categories if c.code == data["category"]), None)
                    services.add_sla_policy(
                        community=community,
                        category=category,
                        priority=data["priority"],
                        response_minutes=data["response_minutes"],
                        resolution_minutes=data["resolution_minutes"],
                        actor=actor,
                    )
                    return _saved(request, community_id)
            elif action == "rules":
                form = rules_form = RulesForm(request.POST, prefix="rules")
                if form.is_valid():
                    services.update_settings(community=community, actor=actor, **form.cleaned_data)
                    return _saved(request, community_id)
            elif action == "technician":
                form = tech_form = TechnicianForm(
                    request.POST, prefix="tech", technicians=[(u.pk, str(u)) for u in techs]
                )
                if form.is_valid():
                    data = form.cleaned_data
                    user = next(u for u in techs if u.pk == data["technician"])
                    numbers = [n.strip() for n in data["buildings"].replace("，", ",").split(",") if n.strip()]
                    buildings = list(Building.objects.filter(number__in=numbers).values_list("pk", flat=True))
                    if len(buildings) != len(set(numbers)):
                        raise DomainError(_("One of these buildings does not exist here."), field="buildings")
                    services.set_technician_profile(
                        community=community,
                        user=user,
                        skills=[s.strip() for s in data["skills"].replace("，", ",").split(",")],
                        building_ids=buildings,
                        on_duty=data["on_duty"],
                        actor=actor,
                    )
                    return _saved(request, community_id)
            else:
                messages.error(request, _("Unknown action."))
                return redirect("console:workorders_settings", community_id=community_id)
            messages.error(request, _("Please correct the form below."))
        except DomainError as exc:
            if "form" in locals() and hasattr(form, "add_error"):
                add_domain_error(form, exc)
            messages.error(request, str(exc.message))
    policies = list(
        SlaPolicy.objects.select_related("category").order_by("category__sort_order", "priority", "-effective_from")
    )
    profiles = {p.user_id: p for p in TechnicianProfile.objects.all()}
    building_numbers = dict(Building.objects.values_list("pk", "number"))
    return render_console(
        request,
        "workorders/settings.html",
        community_id,
        category_rows=[(c, category_forms[c.code]) for c in categories],
        calendar_rows=[(c, calendar_forms[str(c.pk)]) for c in calendar_rows],
        new_calendar_form=calendar_forms["new"],
        policies=policies,
        policy_form=policy_form,
        rules_form=rules_form,
        tech_form=tech_form,
        tech_rows=[
            (
                u,
                profiles.get(u.pk),
                [building_numbers.get(b, "?") for b in (profiles[u.pk].building_ids if u.pk in profiles else [])],
            )
            for u in techs
        ],
    )


def _saved(request: HttpRequest, community_id: int) -> HttpResponse:
    messages.success(request, _("Saved."))
    return redirect("console:workorders_settings", community_id=community_id)
