"""The work-order settings over the API, mirroring the console's settings page
(:mod:`anju.workorders.views.settings`): how each category is dispatched and timed, the SLA policies
(effective-dated: a change adds a policy from now on), working calendars, the loop's rules and
technicians' skills.

Reading and changing both need ``MANAGE_WORKORDERS``, as the page does. Handlers are thin: they
resolve ids inside the community's scope and call the same services as the page; the services'
refusals come back as 4xx ``{"code", "message"}``.

The operations are added to the work-order router by :func:`add_settings_routes` before the
router's ``/workorders/{order_id}`` operations, which would otherwise take ``settings`` for an
order id (ninja's path parameters match any segment).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router
from ninja.responses import Status

from anju.api.auth import community_auth, current_user
from anju.api.errors import COMMUNITY_WRITE, responses
from anju.api.tenancy import get_or_404, scoped
from anju.core.errors import NotFound
from anju.core.models import User
from anju.core.permissions import Perm
from anju.workorders import services
from anju.workorders.models import Category, SlaPolicy, TechnicianProfile, WorkingCalendar, WorkOrderSettings
from anju.workorders.schemas import (
    CalendarIn,
    CalendarOut,
    CategoryPatch,
    CategorySettingsOut,
    RulesOut,
    RulesPatch,
    SlaPolicyIn,
    SlaPolicyOut,
    TechnicianIn,
    TechnicianSettingsOut,
    WorkOrderSettingsOut,
)
from anju.workorders.services.dispatch import technicians
from anju.workorders.services.setup import settings_for

SETTINGS = "/communities/{community_id}/workorders/settings"
AUTH = community_auth(Perm.MANAGE_WORKORDERS)


def _rules_out(row: WorkOrderSettings) -> RulesOut:
    return RulesOut(
        auto_confirm_days=row.auto_confirm_days,
        dispute_days=row.dispute_days,
        low_rating_max=row.low_rating_max,
        follow_up_sample_percent=row.follow_up_sample_percent,
    )


def _policies_out() -> list[SlaPolicyOut]:
    """Every policy, newest first per category and priority; ``in_force`` marks the one a new order
    of that category and priority would get now."""
    now = timezone.now()
    rows = SlaPolicy.objects.select_related("category").order_by(
        "category__sort_order", "category_id", "priority", "-effective_from", "-pk"
    )
    seen: set[tuple[int | None, str]] = set()
    out = []
    for policy in rows:
        key = (policy.category_id, policy.priority)
        in_force = policy.effective_from <= now and key not in seen
        if in_force:
            seen.add(key)
        out.append(SlaPolicyOut.of(policy, in_force=in_force))
    return out


def _technicians_out(community_id: int) -> list[TechnicianSettingsOut]:
    profiles = {p.user_id: p for p in TechnicianProfile.objects.all()}
    return [TechnicianSettingsOut.of(user, profiles.get(user.pk)) for user in technicians(community_id)]


def get_workorder_settings(request: HttpRequest, community_id: int) -> WorkOrderSettingsOut:
    """Everything the console's settings page shows: rules, categories, SLA policies, working
    calendars (to choose from) and technicians with their profiles."""
    with scoped(request, community_id, Perm.MANAGE_WORKORDERS) as community:
        services.ensure_defaults(community)
        return WorkOrderSettingsOut(
            rules=_rules_out(settings_for(community_id)),
            categories=[CategorySettingsOut.of(c) for c in Category.objects.all()],
            sla_policies=_policies_out(),
            calendars=[CalendarOut.of(c) for c in WorkingCalendar.objects.all()],
            technicians=_technicians_out(community_id),
        )


def update_workorder_rules(request: HttpRequest, community_id: int, payload: RulesPatch) -> RulesOut:
    """Auto-confirm and dispute windows, which ratings are followed up and the follow-up sample."""
    with scoped(request, community_id, Perm.MANAGE_WORKORDERS) as community:
        row = services.update_settings(community=community, actor=current_user(request), **payload.changes())
        return _rules_out(row)


def update_workorder_category(
    request: HttpRequest, community_id: int, workorder_category_id: int, payload: CategoryPatch
) -> CategorySettingsOut:
    """How one category is dispatched and timed. ``calendar_id: null`` makes its deadlines run
    around the clock; omit a field to keep it."""
    with scoped(request, community_id, Perm.MANAGE_WORKORDERS):
        category = get_or_404(Category, workorder_category_id)
        changes: dict[str, Any] = payload.changes()
        if "calendar_id" in changes:
            calendar_id = changes.pop("calendar_id")
            changes["calendar"] = (
                get_or_404(WorkingCalendar, calendar_id, field="calendar_id") if calendar_id is not None else None
            )
        updated = services.update_category(category=category, actor=current_user(request), **changes)
        return CategorySettingsOut.of(updated)


def add_workorder_sla_policy(request: HttpRequest, community_id: int, payload: SlaPolicyIn) -> Status[SlaPolicyOut]:
    """Deadlines for a category (or every category, ``category_id`` omitted) and a priority, from
    now on; orders already reported keep theirs."""
    with scoped(request, community_id, Perm.MANAGE_WORKORDERS) as community:
        services.ensure_defaults(community)
        category = get_or_404(Category, payload.category_id, field="category_id") if payload.category_id else None
        policy = services.add_sla_policy(
            community=community,
            category=category,
            priority=payload.priority,
            response_minutes=payload.response_minutes,
            resolution_minutes=payload.resolution_minutes,
            actor=current_user(request),
        )
        return Status(201, SlaPolicyOut.of(policy, in_force=True))


def _save_calendar(
    request: HttpRequest, community_id: int, payload: CalendarIn, calendar_id: int | None
) -> CalendarOut:
    with scoped(request, community_id, Perm.MANAGE_WORKORDERS) as community:
        calendar = get_or_404(WorkingCalendar, calendar_id) if calendar_id is not None else None
        saved = services.save_working_calendar(
            community=community, calendar=calendar, actor=current_user(request), **payload.model_dump()
        )
        return CalendarOut.of(saved)


def add_workorder_calendar(request: HttpRequest, community_id: int, payload: CalendarIn) -> Status[CalendarOut]:
    """A new working calendar (office hours, holidays, make-up working days) for categories to use."""
    return Status(201, _save_calendar(request, community_id, payload, None))


def replace_workorder_calendar(
    request: HttpRequest, community_id: int, workorder_calendar_id: int, payload: CalendarIn
) -> CalendarOut:
    """Replace what a working calendar says; orders already reported keep their deadlines."""
    return _save_calendar(request, community_id, payload, workorder_calendar_id)


def _technician(community_id: int, user_id: int) -> User:
    for user in technicians(community_id):
        if user.pk == user_id:
            return user
    raise NotFound(field="user_id")


def set_workorder_technician(request: HttpRequest, community_id: int, payload: TechnicianIn) -> TechnicianSettingsOut:
    """A technician's skills, usual buildings and whether they are on duty (for automatic dispatch)."""
    with scoped(request, community_id, Perm.MANAGE_WORKORDERS) as community:
        user = _technician(community_id, payload.user_id)
        profile = services.set_technician_profile(
            community=community,
            user=user,
            skills=payload.skills,
            building_ids=payload.building_ids,
            on_duty=payload.on_duty,
            actor=current_user(request),
        )
        return TechnicianSettingsOut.of(user, profile)


def add_settings_routes(router: Router) -> None:
    router.get(SETTINGS, response=responses(WorkOrderSettingsOut), auth=AUTH)(get_workorder_settings)
    router.patch(SETTINGS, response=responses(RulesOut, errors=COMMUNITY_WRITE), auth=AUTH)(update_workorder_rules)
    router.patch(
        SETTINGS + "/categories/{workorder_category_id}",
        response=responses(CategorySettingsOut, errors=COMMUNITY_WRITE),
        auth=AUTH,
    )(update_workorder_category)
    router.post(
        SETTINGS + "/sla-policies", response=responses(SlaPolicyOut, status=201, errors=COMMUNITY_WRITE), auth=AUTH
    )(add_workorder_sla_policy)
    router.put(SETTINGS + "/technicians", response=responses(TechnicianSettingsOut, errors=COMMUNITY_WRITE), auth=AUTH)(
        set_workorder_technician
    )
    router.post(
        SETTINGS + "/calendars", response=responses(CalendarOut, status=201, errors=COMMUNITY_WRITE), auth=AUTH
    )(add_workorder_calendar)
    router.put(
        SETTINGS + "/calendars/{workorder_calendar_id}",
        response=responses(CalendarOut, errors=COMMUNITY_WRITE),
        auth=AUTH,
    )(replace_workorder_calendar)
