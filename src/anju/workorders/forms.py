"""Forms of the work-order pages. They only shape and bound input; the services decide."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from django import forms
from django.utils.translation import gettext_lazy as _

from anju.workorders.models import DispatchMode, Kind, Priority, State
from anju.workorders.photos import MAX_PHOTOS


def _choices(form: forms.Form, name: str) -> forms.ChoiceField:
    """A choice field of ``form``, typed, for setting its choices per request."""
    return cast(forms.ChoiceField, form.fields[name])


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Up to six files from one ``<input type=file multiple>``; Pillow checks them in the service."""

    widget = MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp", "capture": "environment"})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        files = [f for f in files if f]
        if len(files) > MAX_PHOTOS:
            raise forms.ValidationError(_("At most %(count)d photos, please.") % {"count": MAX_PHOTOS})
        return [super(PhotosField, self).clean(f, initial) for f in files]


class ReportForm(forms.Form):
    """The resident's one-minute report: where, what kind, what, (photos), when convenient."""

    location = forms.ChoiceField(label=_("Where"))
    kind = forms.ChoiceField(label=_("What kind"), choices=Kind.choices, initial=Kind.REPAIR, widget=forms.RadioSelect)
    category = forms.ChoiceField(label=_("About"))
    description = forms.CharField(
        label=_("What is wrong"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": _("e.g. The kitchen tap leaks under the sink.")}),
    )
    location_note = forms.CharField(label=_("Where exactly (for common areas)"), max_length=200, required=False)
    preferred_time = forms.CharField(
        label=_("When may we come"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. weekdays after 18:00")}),
    )
    photos = PhotosField(label=_("Photos (up to 6)"))

    def __init__(
        self, *args: Any, locations: list[tuple[str, str]], categories: list[tuple[str, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "location").choices = locations
        _choices(self, "category").choices = categories


class StaffOrderForm(forms.Form):
    """Filing on a resident's behalf (phone call, walk-in) or for a common part."""

    kind = forms.ChoiceField(label=_("Kind"), choices=Kind.choices, initial=Kind.REPAIR)
    category = forms.ChoiceField(label=_("Category"))
    home = forms.CharField(label=_("Home (e.g. 1-1-101 or 1栋1单元101)"), max_length=40, required=False)
    common_part = forms.TypedChoiceField(label=_("Or a common part"), coerce=int, required=False, empty_value=None)
    location_note = forms.CharField(label=_("Where exactly"), max_length=200, required=False)
    description = forms.CharField(label=_("Description"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))
    contact_name = forms.CharField(label=_("Caller's name"), max_length=100, required=False)
    priority = forms.ChoiceField(
        label=_("Priority"), choices=[("", _("the category's default")), *Priority.choices], required=False
    )
    preferred_time = forms.CharField(label=_("Preferred time"), max_length=100, required=False)
    photos = PhotosField(label=_("Photos (up to 6)"))

    def __init__(
        self, *args: Any, categories: list[tuple[str, str]], common_parts: list[tuple[Any, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "category").choices = categories
        _choices(self, "common_part").choices = [("", "—"), *common_parts]


class FilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("any")), ("open", _("open")), *State.choices]
    )
    category = forms.ChoiceField(label=_("Category"), required=False)
    priority = forms.ChoiceField(label=_("Priority"), required=False, choices=[("", _("any")), *Priority.choices])
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("any")), *Kind.choices])
    assignee = forms.TypedChoiceField(label=_("Technician"), required=False, coerce=int, empty_value=None)
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    q = forms.CharField(label=_("Search"), required=False, max_length=100)

    def __init__(
        self, *args: Any, categories: list[tuple[str, str]], technicians: list[tuple[Any, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "category").choices = [("", _("any")), *categories]
        _choices(self, "assignee").choices = [("", _("anyone")), *technicians]


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class ResolveForm(forms.Form):
    note = forms.CharField(label=_("What was done"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    photos = PhotosField(label=_("Result photos"))


class PhotoForm(forms.Form):
    photos = PhotosField(label=_("Result photos"), required=True)


class AssignForm(forms.Form):
    assignee = forms.TypedChoiceField(label=_("Technician"), coerce=int)
    note = forms.CharField(label=_("Note for the technician"), max_length=500, required=False)

    def __init__(self, *args: Any, technicians: list[tuple[Any, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "assignee").choices = technicians


class TransferForm(AssignForm):
    reason = forms.CharField(label=_("Reason"), max_length=500)
    note = None  # type: ignore[assignment]


class QuoteForm(forms.Form):
    amount = forms.CharField(
        label=_("Price (yuan)"), max_length=12, widget=forms.TextInput(attrs={"inputmode": "decimal"})
    )
    note = forms.CharField(label=_("What it covers"), max_length=200, required=False)

    def clean_amount(self) -> int:
        """Yuan with at most two decimals, to integer fen exactly (no float on the way)."""
        raw = self.cleaned_data["amount"].strip().replace("¥", "").replace(",", "")
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise forms.ValidationError(_("Enter an amount such as 120 or 85.50.")) from None
        if not value.is_finite() or value <= 0 or value != value.quantize(Decimal("0.01")) or value > 100_000:
            raise forms.ValidationError(_("Enter an amount such as 120 or 85.50."))
        return int(value * 100)


class RateForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=_("How did we do?"), coerce=int, choices=[(n, "★" * n) for n in range(5, 0, -1)], widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=_("Comment"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class FollowUpForm(forms.Form):
    follow_up = forms.IntegerField(widget=forms.HiddenInput)
    outcome = forms.CharField(
        label=_("Outcome of the visit or call"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    resident_satisfied = forms.NullBooleanField(label=_("Resident satisfied now?"), required=False)


class CategoryForm(forms.Form):
    """One category's handling, on the settings page (prefixed by the category code)."""

    dispatch_mode = forms.ChoiceField(label=_("Dispatch"), choices=DispatchMode.choices)
    default_priority = forms.ChoiceField(label=_("Default priority"), choices=Priority.choices)
    skill = forms.SlugField(label=_("Skill"), max_length=40, required=False)
    calendar = forms.TypedChoiceField(label=_("Working hours"), coerce=int, required=False, empty_value=None)
    paid_by_default = forms.BooleanField(label=_("Paid repair"), required=False)
    active = forms.BooleanField(label=_("Offered"), required=False)

    def __init__(self, *args: Any, calendars: list[tuple[Any, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "calendar").choices = [("", _("around the clock")), *calendars]


class SlaPolicyForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), required=False)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)
    response_minutes = forms.IntegerField(label=_("On site within (minutes)"), min_value=1, max_value=60 * 24 * 90)
    resolution_minutes = forms.IntegerField(label=_("Resolved within (minutes)"), min_value=1, max_value=60 * 24 * 365)

    def __init__(self, *args: Any, categories: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "category").choices = [("", _("every category")), *categories]


class RulesForm(forms.Form):
    auto_confirm_days = forms.IntegerField(label=_("Confirm automatically after (days)"), min_value=1, max_value=60)
    dispute_days = forms.IntegerField(label=_("Disputes accepted for (days)"), min_value=1, max_value=90)
    low_rating_max = forms.IntegerField(label=_("Follow up ratings up to"), min_value=1, max_value=5)
    follow_up_sample_percent = forms.IntegerField(label=_("Also follow up a sample of (%)"), min_value=0, max_value=100)


class TechnicianForm(forms.Form):
    technician = forms.TypedChoiceField(label=_("Technician"), coerce=int)
    skills = forms.CharField(label=_("Skills (comma-separated)"), max_length=200, required=False)
    buildings = forms.CharField(label=_("Buildings (numbers, comma-separated)"), max_length=200, required=False)
    on_duty = forms.BooleanField(label=_("On duty"), required=False, initial=True)

    def __init__(self, *args: Any, technicians: list[tuple[Any, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "technician").choices = technicians


WEEKDAY_CHOICES = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]
#: Separators a person may put between the two ends of a run of days: 2027-02-10~2027-02-16.
_RANGE_MARKS = ("~", "～", "..", "至")
_MAX_RANGE_DAYS = 31


def parse_days(text: str) -> list[dt.date]:
    """Dates typed one per line or separated by commas or spaces, with runs written
    ``2027-02-10~2027-02-16`` (also ``..`` or ``至``): the Spring Festival is one line, not seven.
    Raises ``ValidationError`` naming the first entry it cannot read."""
    days: list[dt.date] = []
    for raw in re.split(r"[\s,，、;；]+", text.strip()):
        if not raw:
            continue
        mark = next((m for m in _RANGE_MARKS if m in raw), None)
        try:
            if mark is None:
                days.append(dt.date.fromisoformat(raw))
                continue
            first_text, _sep, last_text = raw.partition(mark)
            first, last = dt.date.fromisoformat(first_text), dt.date.fromisoformat(last_text)
        except ValueError:
            raise forms.ValidationError(
                _("Cannot read “%(entry)s”: write dates as 2027-02-10, or a run as 2027-02-10~2027-02-16.")
                % {"entry": raw[:30]}
            ) from None
        if not 0 <= (last - first).days < _MAX_RANGE_DAYS:
            raise forms.ValidationError(
                _("“%(entry)s”: a run must go forward and be at most %(days)d days.")
                % {"entry": raw[:30], "days": _MAX_RANGE_DAYS}
            )
        days.extend(first + dt.timedelta(days=n) for n in range((last - first).days + 1))
    return days


class CalendarForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=60)
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Working weekdays"), choices=WEEKDAY_CHOICES, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    starts_at = forms.TimeField(label=_("Day starts"), widget=forms.TimeInput(attrs={"type": "time"}))
    ends_at = forms.TimeField(label=_("Day ends"), widget=forms.TimeInput(attrs={"type": "time"}))
    holidays = forms.CharField(
        label=_("Holidays (days off)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "2027-02-10~2027-02-16"}),
        help_text=_("One date or run per line, e.g. 2027-10-01~2027-10-07."),
    )
    extra_workdays = forms.CharField(
        label=_("Make-up working days (调休)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "2027-02-07"}),
    )

    def clean_holidays(self) -> list[dt.date]:
        return parse_days(self.cleaned_data["holidays"])

    def clean_extra_workdays(self) -> list[dt.date]:
        return parse_days(self.cleaned_data["extra_workdays"])

    @staticmethod
    def initial_for(calendar: Any) -> dict[str, Any]:
        return {
            "name": calendar.name,
            "weekdays": list(calendar.weekdays or []),
            "starts_at": calendar.starts_at,
            "ends_at": calendar.ends_at,
            "holidays": "\n".join(calendar.holidays or []),
            "extra_workdays": "\n".join(calendar.extra_workdays or []),
        }
