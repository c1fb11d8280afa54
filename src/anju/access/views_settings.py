"""Console pages for what a manager sets once and revisits rarely: the community's access settings
(log retention, resident QR lifetime, the repeated-denial alarm) and the staff shifts (which kinds of
door each staff role opens, on which weekdays, between which local times).

Anyone with ``VIEW_ACCESS`` sees them; changing them needs ``MANAGE_ACCESS`` (as on the API). Every
write is a call into :mod:`anju.access.services`; a refusal is shown on the form that caused it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from anju.access import services, sync
from anju.access.models import AccessSettings, Door, StaffShift
from anju.access.shifts import ALL_WEEKDAYS
from anju.access.views_console import posted_id
from anju.core.errors import DomainError
from anju.core.models import Role, User
from anju.core.permissions import STAFF_ROLES, Perm
from anju.web.console import render_console, require_permission
from anju.web.decorators import community_view
from anju.web.forms import add_domain_error

TIME_INPUT = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
HISTORY_ROWS = 20


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def staff_role_choices() -> list[tuple[str, Any]]:
    staff = {str(role) for role in STAFF_ROLES}
    return [(value, label) for value, label in Role.choices if value in staff]


def weekday_mask(days: list[int]) -> int:
    """Monday is bit 0, as :class:`StaffShift` stores it."""
    return sum(1 << day for day in set(days))


def weekdays_of(mask: int) -> list[int]:
    return [day for day in range(7) if mask & (1 << day)]


def days_label(mask: int) -> str:
    if mask & ALL_WEEKDAYS == ALL_WEEKDAYS:
        return _("every day")
    return "、".join(str(WEEKDAYS[day]) for day in weekdays_of(mask))


def kinds_label(kinds: list[str]) -> str:
    labels = dict(Door.Kind.choices)
    return "、".join(str(labels.get(kind, kind)) for kind in kinds)


def shift_rows(rows: Any) -> list[tuple[StaffShift, str, str]]:
    """Each shift with its weekdays and kinds of door in words."""
    return [(shift, days_label(shift.weekdays), kinds_label(shift.door_kinds)) for shift in rows]


# --- Settings -----------------------------------------------------------------------------------------------


class AccessSettingsForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The service's bounds, so the form says first, on the field, what the service would refuse.
        for name, (low, high) in services.SETTINGS_LIMITS.items():
            self.fields[name] = forms.IntegerField(
                label=AccessSettings._meta.get_field(name).verbose_name,  # type: ignore[union-attr]
                min_value=low,
                max_value=high,
            )


@community_view(Perm.VIEW_ACCESS)
def access_settings(request: HttpRequest, community_id: int) -> HttpResponse:
    row = sync.access_settings(community_id)
    form = AccessSettingsForm(initial={name: getattr(row, name) for name in services.SETTINGS_LIMITS})
    if request.method == "POST":
        require_permission(request, Perm.MANAGE_ACCESS, community_id)
        form = AccessSettingsForm(request.POST)
        if form.is_valid():
            try:
                services.update_access_settings(
                    community=request.community,  # type: ignore[attr-defined]
                    actor=_actor(request),
                    **form.cleaned_data,
                )
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                messages.success(request, _("Access settings saved."))
                return redirect("console:access_settings", community_id)
    return render_console(request, "access/settings.html", community_id, form=form, settings=row)


# --- Staff shifts -------------------------------------------------------------------------------------------


class ShiftForm(forms.Form):
    role = forms.ChoiceField(label=gettext_lazy("Staff role"))
    door_kinds = forms.MultipleChoiceField(
        label=gettext_lazy("Kinds of door"), choices=Door.Kind.choices, widget=forms.CheckboxSelectMultiple
    )
    weekdays = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Weekdays"),
        coerce=int,
        choices=[(day, WEEKDAYS[day]) for day in range(7)],
        widget=forms.CheckboxSelectMultiple,
    )
    start_time = forms.TimeField(label=gettext_lazy("Shift starts at"), widget=TIME_INPUT)
    end_time = forms.TimeField(label=gettext_lazy("Shift ends at"), widget=TIME_INPUT)

    def __init__(self, *args: Any, role: str | None = None, **kwargs: Any) -> None:
        """``role``: editing that role's shift, so the role is not asked for."""
        super().__init__(*args, **kwargs)
        if role is None:
            self.fields["role"].choices = staff_role_choices()  # type: ignore[attr-defined]
        else:
            del self.fields["role"]
        self.fixed_role = role

    def save(self, community: Any, actor: User) -> StaffShift:
        data = self.cleaned_data
        return services.set_staff_shift(
            community=community,
            role=self.fixed_role or data["role"],
            door_kinds=list(data["door_kinds"]),
            weekdays=weekday_mask(data["weekdays"]),
            start_time=data["start_time"],
            end_time=data["end_time"],
            actor=actor,
        )


def _initial_of(shift: StaffShift) -> dict[str, Any]:
    return {
        "door_kinds": list(shift.door_kinds),
        "weekdays": weekdays_of(shift.weekdays),
        "start_time": shift.start_time,
        "end_time": shift.end_time,
    }


def _save_shift(request: HttpRequest, form: ShiftForm) -> bool:
    if not form.is_valid():
        return False
    try:
        form.save(request.community, _actor(request))  # type: ignore[attr-defined]
    except DomainError as exc:
        add_domain_error(form, exc)
        return False
    messages.success(request, _("Shift saved; controllers get it at their next sync."))
    return True


@community_view(Perm.VIEW_ACCESS)
def shifts(request: HttpRequest, community_id: int) -> HttpResponse:
    """The shifts in force by role, recent history, a form to set a role's shift, and ending one."""
    sync.access_settings(community_id)  # a new community gets its default shifts
    form = ShiftForm(initial={"weekdays": list(range(7))})
    if request.method == "POST":
        require_permission(request, Perm.MANAGE_ACCESS, community_id)
        if request.POST.get("action") == "end":
            shift = get_object_or_404(StaffShift, pk=posted_id(request, "staff_shift"))
            try:
                services.end_staff_shift(shift, actor=_actor(request))
            except DomainError as exc:
                messages.error(request, str(exc.message))
            else:
                messages.success(request, _("Shift ended; this role no longer opens those doors."))
            return redirect("console:access_shifts", community_id)
        form = ShiftForm(request.POST)
        if _save_shift(request, form):
            return redirect("console:access_shifts", community_id)
    return render_console(
        request,
        "access/shifts.html",
        community_id,
        form=form,
        current=shift_rows(StaffShift.objects.filter(ends_at__isnull=True)),
        history=shift_rows(StaffShift.objects.filter(ends_at__isnull=False).order_by("-ends_at", "-pk")[:HISTORY_ROWS]),
    )


@community_view(Perm.VIEW_ACCESS)
def shift_detail(request: HttpRequest, community_id: int, staff_shift_id: int) -> HttpResponse:
    """Change the door rights of one role, starting from its shift in force."""
    shift = get_object_or_404(StaffShift, pk=staff_shift_id, ends_at__isnull=True)
    form = ShiftForm(role=shift.role, initial=_initial_of(shift))
    if request.method == "POST":
        require_permission(request, Perm.MANAGE_ACCESS, community_id)
        form = ShiftForm(request.POST, role=shift.role)
        if _save_shift(request, form):
            return redirect("console:access_shifts", community_id)
    return render_console(
        request,
        "access/shift.html",
        community_id,
        form=form,
        shift=shift,
        days=days_label(shift.weekdays),
        kinds=kinds_label(shift.door_kinds),
    )
