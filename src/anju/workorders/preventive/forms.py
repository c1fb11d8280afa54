"""Forms of the preventive pages: they clean input; the services decide and refuse."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from anju.core.models import Role, User
from anju.devices.models import Device
from anju.estates.models import Building, CommonPart, Unit
from anju.workorders.preventive.models import (
    WEEKDAY_NAMES,
    CheckIn,
    Frequency,
    IntervalUnit,
    MaintenanceKind,
    Route,
)

WEEKDAY_CHOICES = WEEKDAY_NAMES
ROLE_CHOICES = [
    (Role.GUARD.value, Role.GUARD.label),
    (Role.TECHNICIAN.value, Role.TECHNICIAN.label),
    (Role.STEWARD.value, Role.STEWARD.label),
    (Role.MANAGER.value, Role.MANAGER.label),
]
DATE_INPUT = forms.DateInput(attrs={"type": "date"})
TIME_INPUT = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class RouteForm(forms.Form):
    name = forms.CharField(label=_("Route name"), max_length=100)
    description = forms.CharField(
        label=_("Description"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )


class PointForm(forms.Form):
    name = forms.CharField(label=_("Point name"), max_length=100)
    building: forms.ModelChoiceField[Building] = forms.ModelChoiceField(
        label=_("Building"), queryset=Building.objects.none(), required=False
    )
    unit: forms.ModelChoiceField[Unit] = forms.ModelChoiceField(
        label=_("Unit"), queryset=Unit.objects.none(), required=False
    )
    common_part: forms.ModelChoiceField[CommonPart] = forms.ModelChoiceField(
        label=_("Common part"), queryset=CommonPart.objects.none(), required=False
    )
    checklist = forms.CharField(
        label=_("What to check"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["building"].queryset = Building.objects.order_by("sort_key", "number")  # type: ignore[attr-defined]
        self.fields["unit"].queryset = Unit.objects.select_related("building").order_by(  # type: ignore[attr-defined]
            "building__sort_key", "number"
        )
        self.fields["unit"].label_from_instance = lambda unit: f"{unit.building} · {unit}"  # type: ignore[attr-defined]
        self.fields["common_part"].queryset = CommonPart.objects.order_by("kind", "name")  # type: ignore[attr-defined]


class ScheduleForm(forms.Form):
    frequency = forms.ChoiceField(label=_("How often"), choices=Frequency.choices, initial=Frequency.DAILY)
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Weekdays (weekly plans)"),
        choices=WEEKDAY_CHOICES,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    month_days = forms.CharField(
        label=_("Days of the month (monthly plans)"),
        required=False,
        max_length=100,
        help_text=_("e.g. 1, 15; a day the month lacks means its last day"),
    )
    window_start = forms.TimeField(label=_("Window opens"), widget=TIME_INPUT)
    window_end = forms.TimeField(
        label=_("Window closes"),
        widget=TIME_INPUT,
        help_text=_("Earlier than the opening time: it closes the next day"),
    )
    assignee_role = forms.ChoiceField(label=_("Assigned role"), choices=ROLE_CHOICES, initial=Role.GUARD)
    assignee: forms.ModelChoiceField[User] = forms.ModelChoiceField(
        label=_("Assigned person (optional)"), queryset=User.objects.none(), required=False
    )

    def __init__(self, *args: Any, staff: list[User] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ids = [user.pk for user in staff or []]
        self.fields["assignee"].queryset = User.objects.filter(pk__in=ids).order_by("username")  # type: ignore[attr-defined]

    def clean_month_days(self) -> list[int]:
        raw = self.cleaned_data.get("month_days") or ""
        parts = [part for part in raw.replace("，", ",").replace(" ", ",").split(",") if part]
        try:
            days = sorted({int(part) for part in parts})
        except ValueError:
            raise forms.ValidationError(_("List days as numbers, e.g. 1, 15.")) from None
        if any(day < 1 or day > 31 for day in days):
            raise forms.ValidationError(_("Days of the month are 1 to 31."))
        return days


class InspectionPlanForm(ScheduleForm):
    name = forms.CharField(label=_("Plan name"), max_length=100)
    route: forms.ModelChoiceField[Route] = forms.ModelChoiceField(label=_("Route"), queryset=Route.objects.none())
    starts_on = forms.DateField(label=_("Starts on"), widget=DATE_INPUT)
    field_order = ["name", "route", "starts_on"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["route"].queryset = Route.objects.filter(active=True).order_by("name")  # type: ignore[attr-defined]


class ScheduleChangeForm(ScheduleForm):
    effective_from = forms.DateField(label=_("New schedule from"), widget=DATE_INPUT)
    field_order = ["effective_from"]


class CheckInForm(forms.Form):
    token = forms.CharField(
        label=_("Code on the sticker"),
        max_length=40,
        help_text=_("Scan the QR code with the phone's camera, or type the code printed under it."),
    )
    result = forms.ChoiceField(
        label=_("Finding"), choices=CheckIn.Result.choices, widget=forms.RadioSelect, initial="ok"
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    photo = forms.FileField(label=_("Photo (optional)"), required=False)


class ScanCheckInForm(CheckInForm):
    """The same, reached by scanning: the token came in the URL."""

    token = forms.CharField(widget=forms.HiddenInput, max_length=40)
    round_id = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**63 - 1)


class MaintenancePlanForm(forms.Form):
    name = forms.CharField(label=_("Plan name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=MaintenanceKind.choices)
    common_part: forms.ModelChoiceField[CommonPart] = forms.ModelChoiceField(
        label=_("Equipment (common part)"), queryset=CommonPart.objects.none(), required=False
    )
    device: forms.ModelChoiceField[Device] = forms.ModelChoiceField(
        label=_("Equipment (registered device)"), queryset=Device.objects.none(), required=False
    )
    first_due_on = forms.DateField(label=_("First due date"), widget=DATE_INPUT)
    every = forms.IntegerField(
        label=_("Every"),
        min_value=1,
        max_value=3650,
        required=False,
        help_text=_("Empty: the kind's statutory default"),
    )
    unit = forms.ChoiceField(label=_("Unit"), choices=[("", "—"), *IntervalUnit.choices], required=False)
    lead_days = forms.IntegerField(
        label=_("Open the work order this many days ahead"), min_value=0, max_value=90, required=False
    )
    instructions = forms.CharField(
        label=_("Instructions"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["common_part"].queryset = CommonPart.objects.order_by("kind", "name")  # type: ignore[attr-defined]
        self.fields["device"].queryset = Device.objects.active().order_by("kind", "code")  # type: ignore[attr-defined]


class IntervalChangeForm(forms.Form):
    first_due_on = forms.DateField(label=_("First due date of the new interval"), widget=DATE_INPUT)
    every = forms.IntegerField(label=_("Every"), min_value=1, max_value=3650)
    unit = forms.ChoiceField(label=_("Unit"), choices=IntervalUnit.choices)
