"""A community's work-order configuration: the default categories, SLA policies and calendar it
starts with, and the writes that change them (effective-dated for SLAs)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from anju.core import audit
from anju.core.errors import DomainError, NotFound
from anju.core.models import User
from anju.core.tenancy import community_scope
from anju.estates.models import Community
from anju.workorders.models import (
    Category,
    DispatchMode,
    Priority,
    SlaPolicy,
    TechnicianProfile,
    WorkingCalendar,
    WorkOrderSettings,
)

#: Deadlines (minutes to be on site, minutes to resolve) for every category, by priority. Industry
#: practice, not law: an urgent job (lift entrapment: on site within 30 minutes, DOMAIN §5) within
#: half an hour, a leak within the hour; communities change them by adding policies.
DEFAULT_SLA: dict[str, tuple[int, int]] = {
    Priority.URGENT: (30, 4 * 60),
    Priority.HIGH: (60, 24 * 60),
    Priority.NORMAL: (4 * 60, 3 * 24 * 60),
    Priority.LOW: (24 * 60, 7 * 24 * 60),
}
#: Policies older than any order, so an order always finds one.
DEFAULTS_EFFECTIVE_FROM = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

# code, name, default priority, dispatch mode, skill, paid by default, office hours only
DEFAULT_CATEGORIES: list[tuple[str, Any, str, str, str, bool, bool]] = [
    ("water", _("Water and drains"), Priority.HIGH, DispatchMode.AUTO, "plumbing", True, False),
    ("electricity", _("Electricity"), Priority.HIGH, DispatchMode.AUTO, "electrical", True, False),
    ("doors_locks", _("Doors and locks"), Priority.NORMAL, DispatchMode.GRAB, "locks", True, False),
    ("lift", _("Lift"), Priority.URGENT, DispatchMode.ASSIGN, "lift", False, False),
    ("public_area", _("Public areas"), Priority.NORMAL, DispatchMode.ROUND_ROBIN, "", False, False),
    ("greenery", _("Greenery"), Priority.LOW, DispatchMode.ASSIGN, "greenery", False, True),
    ("noise", _("Noise"), Priority.NORMAL, DispatchMode.ASSIGN, "", False, False),
    ("fire", _("Fire safety"), Priority.URGENT, DispatchMode.ASSIGN, "fire", False, False),
    ("other", _("Other"), Priority.NORMAL, DispatchMode.ASSIGN, "", False, False),
]
DEFAULT_CATEGORY_CODES = [row[0] for row in DEFAULT_CATEGORIES]


def ensure_defaults(community: Community) -> None:
    """Give ``community`` the default categories, SLA policies, office-hours calendar and settings
    the first time it needs them. Idempotent and safe when two requests race (the unique
    constraints decide; the loser reads what the winner wrote)."""
    with community_scope(community.pk):
        if Category.objects.filter(community=community).exists():
            return
        try:
            with transaction.atomic():
                _create_defaults(community)
        except IntegrityError:
            pass


def _create_defaults(community: Community) -> None:
    with translation.override("zh-hans"):
        calendar = WorkingCalendar.objects.create(
            community=community, name=str(_("Office hours")), weekdays=[0, 1, 2, 3, 4]
        )
        for position, (code, name, priority, mode, skill, paid, office_hours) in enumerate(DEFAULT_CATEGORIES):
            Category.objects.create(
                community=community,
                code=code,
                name=str(name),
                default_priority=priority,
                dispatch_mode=mode,
                skill=skill,
                paid_by_default=paid,
                calendar=calendar if office_hours else None,
                sort_order=(position + 1) * 10,
            )
    SlaPolicy.objects.bulk_create(
        SlaPolicy(
            community=community,
            category=None,
            priority=priority,
            response_minutes=response,
            resolution_minutes=resolution,
            effective_from=DEFAULTS_EFFECTIVE_FROM,
        )
        for priority, (response, resolution) in DEFAULT_SLA.items()
    )
    WorkOrderSettings.objects.get_or_create(community=community)
    audit.record(actor=None, action="workorders.defaults_created", obj=community, community_id=community.pk)


def settings_for(community_id: int) -> WorkOrderSettings:
    """The community's settings row (defaults when it has none yet; not saved)."""
    row = WorkOrderSettings.objects.filter(community_id=community_id).first()
    return row or WorkOrderSettings(community_id=community_id)


@transaction.atomic
def update_settings(*, community: Community, actor: User | None, **values: Any) -> WorkOrderSettings:
    allowed = {"auto_confirm_days", "dispute_days", "low_rating_max", "follow_up_sample_percent"}
    unknown = set(values) - allowed
    if unknown:
        raise DomainError(_("Unknown setting."), field=sorted(unknown)[0])
    row, _created = WorkOrderSettings.objects.select_for_update().get_or_create(community=community)
    before = audit.snapshot(row)
    limits = {
        "auto_confirm_days": (1, 60),
        "dispute_days": (1, 90),
        "low_rating_max": (1, 5),
        "follow_up_sample_percent": (0, 100),
    }
    for name, value in values.items():
        low, high = limits[name]
        if not isinstance(value, int) or not low <= value <= high:
            raise DomainError(
                _("Enter a whole number from %(low)d to %(high)d.") % {"low": low, "high": high}, field=name
            )
        setattr(row, name, value)
    row.save()
    before, after = audit.changed(before, audit.snapshot(row))
    audit.record(
        actor=actor, action="workorders.update_settings", obj=row, community_id=community.pk, before=before, after=after
    )
    return row


@transaction.atomic
def update_category(
    *,
    category: Category,
    actor: User | None,
    name: str | None = None,
    dispatch_mode: str | None = None,
    skill: str | None = None,
    default_priority: str | None = None,
    paid_by_default: bool | None = None,
    calendar: WorkingCalendar | bool | None = False,
    active: bool | None = None,
) -> Category:
    """Change how a category is handled. ``calendar=None`` removes the office-hours rule;
    leaving it ``False`` keeps it."""
    before = audit.snapshot(category)
    if name is not None:
        name = name.strip()
        if not name or len(name) > 60:
            raise DomainError(_("A name of 1 to 60 characters, please."), field="name")
        category.name = name
    if dispatch_mode is not None:
        if dispatch_mode not in DispatchMode.values:
            raise DomainError(_("Unknown dispatch mode."), field="dispatch_mode")
        category.dispatch_mode = dispatch_mode
    if skill is not None:
        category.skill = skill.strip()[:40]
    if default_priority is not None:
        if default_priority not in Priority.values:
            raise DomainError(_("Unknown priority."), field="default_priority")
        category.default_priority = default_priority
    if paid_by_default is not None:
        category.paid_by_default = paid_by_default
    if calendar is not False:
        if calendar is not None and calendar.community_id != category.community_id:  # type: ignore[union-attr]
            raise NotFound(field="calendar")
        category.calendar = calendar  # type: ignore[assignment]
    if active is not None:
        category.active = active
    category.save()
    before, after = audit.changed(before, audit.snapshot(category))
    audit.record(actor=actor, action="workorders.update_category", obj=category, before=before, after=after)
    return category


@transaction.atomic
def add_sla_policy(
    *,
    community: Community,
    priority: str,
    response_minutes: int,
    resolution_minutes: int,
    category: Category | None = None,
    effective_from: dt.datetime | None = None,
    actor: User | None,
) -> SlaPolicy:
    """A new deadline rule from ``effective_from`` (default now) on; earlier orders keep theirs."""
    if priority not in Priority.values:
        raise DomainError(_("Unknown priority."), field="priority")
    if category is not None and category.community_id != community.pk:
        raise NotFound(field="category")
    if not 1 <= response_minutes <= 60 * 24 * 90:
        raise DomainError(_("Between 1 minute and 90 days, please."), field="response_minutes")
    if not response_minutes <= resolution_minutes <= 60 * 24 * 365:
        raise DomainError(
            _("The resolution deadline must not come before the response deadline."), field="resolution_minutes"
        )
    policy = SlaPolicy.objects.create(
        community=community,
        category=category,
        priority=priority,
        response_minutes=response_minutes,
        resolution_minutes=resolution_minutes,
        effective_from=effective_from or timezone.now(),
        created_by=actor,
    )
    audit.record(actor=actor, action="workorders.add_sla_policy", obj=policy, after=audit.snapshot(policy))
    return policy


@transaction.atomic
def set_technician_profile(
    *,
    community: Community,
    user: User,
    skills: list[str],
    building_ids: list[int],
    on_duty: bool = True,
    actor: User | None,
) -> TechnicianProfile:
    from anju.estates.models import Building

    known = set(Building.objects.filter(community=community, pk__in=building_ids).values_list("pk", flat=True))
    if set(building_ids) - known:
        raise NotFound(field="building_ids")
    profile, _created = TechnicianProfile.objects.update_or_create(
        community=community,
        user=user,
        defaults={
            "skills": sorted({s.strip() for s in skills if s.strip()}),
            "building_ids": sorted(known),
            "on_duty": on_duty,
        },
    )
    audit.record(actor=actor, action="workorders.set_technician_profile", obj=profile, after=audit.snapshot(profile))
    return profile


#: A calendar lists at most this many holidays and make-up working days (a few years' worth).
MAX_CALENDAR_DAYS = 400


def _calendar_days(days: Iterable[dt.date], field: str) -> list[str]:
    unique = sorted(set(days))
    if len(unique) > MAX_CALENDAR_DAYS:
        raise DomainError(_("At most %(count)d days, please.") % {"count": MAX_CALENDAR_DAYS}, field=field)
    return [day.isoformat() for day in unique]


@transaction.atomic
def save_working_calendar(
    *,
    community: Community,
    name: str,
    weekdays: Iterable[int],
    starts_at: dt.time,
    ends_at: dt.time,
    holidays: Iterable[dt.date] = (),
    extra_workdays: Iterable[dt.date] = (),
    calendar: WorkingCalendar | None = None,
    actor: User | None,
) -> WorkingCalendar:
    """Create a working calendar, or replace what ``calendar`` says. Deadlines already given to
    orders stay as they were (they are stored on each order); orders reported afterwards are timed
    by the new hours. Holidays (法定节假日) are days off; extra working days are the weekend days
    worked in exchange (调休), so a day cannot be both."""
    if calendar is not None and calendar.community_id != community.pk:
        raise NotFound(field="calendar")
    name = name.strip()
    if not name or len(name) > 60:
        raise DomainError(_("A name of 1 to 60 characters, please."), field="name")
    clash = WorkingCalendar.objects.filter(community=community, name=name)
    if calendar is not None:
        clash = clash.exclude(pk=calendar.pk)
    if clash.exists():
        raise DomainError(_("Another calendar already has this name."), field="name", code="duplicate_name")
    days = sorted(set(weekdays))
    if not days or not all(isinstance(d, int) and 0 <= d <= 6 for d in days):
        raise DomainError(_("Choose at least one working weekday."), field="weekdays")
    if ends_at <= starts_at:
        raise DomainError(_("The working day must end after it starts."), field="ends_at")
    holiday_list = _calendar_days(holidays, "holidays")
    extra_list = _calendar_days(extra_workdays, "extra_workdays")
    both = sorted(set(holiday_list) & set(extra_list))
    if both:
        raise DomainError(
            _("%(day)s cannot be both a holiday and a working day.") % {"day": both[0]}, field="extra_workdays"
        )
    row = calendar or WorkingCalendar(community=community)
    before = audit.snapshot(row) if calendar is not None else None
    row.name, row.weekdays, row.starts_at, row.ends_at = name, days, starts_at, ends_at
    row.holidays, row.extra_workdays = holiday_list, extra_list
    row.save()
    after = audit.snapshot(row)
    if before is not None:
        before, after = audit.changed(before, after)
    audit.record(actor=actor, action="workorders.save_calendar", obj=row, before=before, after=after)
    return row
