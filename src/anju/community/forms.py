"""Forms of the community-life pages. They parse input; the services decide what is allowed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.community.models import Activity, Announcement, PointsRule, Post, Survey

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
ROLE_CHOICES = [
    ("owners", _("owners and co-owners")),
    ("tenants", _("tenants")),
    ("family", _("family members")),
    ("staff", _("staff")),
]


def _local_datetime(**kwargs: Any) -> forms.DateTimeField:
    return forms.DateTimeField(widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS, **kwargs)


class AnnouncementForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=120)
    body = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 6}), max_length=20000)
    category = forms.ChoiceField(label=_("Category"), choices=Announcement.Category.choices)
    buildings = forms.TypedMultipleChoiceField(
        label=_("Only these buildings"), required=False, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    units = forms.TypedMultipleChoiceField(label=_("Only these units"), required=False, coerce=int)
    roles = forms.MultipleChoiceField(
        label=_("Only these people"),
        required=False,
        choices=ROLE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Leave empty for every resident."),
    )
    urgent = forms.BooleanField(label=_("Urgent (also sent by SMS)"), required=False)
    pinned = forms.BooleanField(label=_("Pin to the top"), required=False)
    publish_at = _local_datetime(label=_("Publish at (empty: now)"), required=False)
    expires_at = _local_datetime(label=_("Expires at"), required=False)

    def __init__(self, *args: Any, buildings: list[tuple[int, str]], units: list[tuple[int, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["buildings"].choices = buildings  # type: ignore[attr-defined]
        self.fields["units"].choices = units  # type: ignore[attr-defined]


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("Attach a file (PDF, picture, Word, Excel; at most 10 MB)"))


class ActivityForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=120)
    description = forms.CharField(
        label=_("Description"), widget=forms.Textarea(attrs={"rows": 4}), required=False, max_length=5000
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=Activity.Kind.choices)
    volunteer_work = forms.ChoiceField(
        label=_("Volunteer work"), choices=Activity.VolunteerWork.choices, required=False
    )
    place = forms.CharField(label=_("Place"), max_length=120)
    starts_at = _local_datetime(label=_("Starts at"))
    ends_at = _local_datetime(label=_("Ends at"))
    capacity = forms.IntegerField(label=_("Places"), min_value=1, max_value=10000)


class PhotoForm(forms.Form):
    image = forms.ImageField(label=_("Photo"))
    caption = forms.CharField(label=_("Caption"), max_length=120, required=False)


class HoursForm(forms.Form):
    signup = forms.IntegerField(widget=forms.HiddenInput)
    minutes = forms.IntegerField(label=_("Minutes worked"), min_value=0, max_value=1440)


class ScanForm(forms.Form):
    code = forms.CharField(
        label=_("Check-in code"),
        max_length=200,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off", "inputmode": "text"}),
        help_text=_("Scan the resident's QR code (a scanner types it here) or type the code under it."),
    )


class PostForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), choices=Post.Category.choices)
    title = forms.CharField(label=_("Title"), max_length=80)
    body = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 5}), max_length=2000)
    image = forms.ImageField(label=_("Picture (optional)"), required=False)


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Your reply"), widget=forms.Textarea(attrs={"rows": 3}), max_length=1000)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200, required=False)


class BanForm(forms.Form):
    person = forms.IntegerField(widget=forms.HiddenInput)
    days = forms.IntegerField(label=_("Days"), min_value=1, max_value=365, initial=7)
    reason = forms.CharField(label=_("Reason"), max_length=200)


class LifeSettingsForm(forms.Form):
    sensitive_words = forms.CharField(
        label=_("Sensitive words (one per line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=20000,
    )
    posts_per_hour = forms.IntegerField(label=_("Posts per person per hour"), min_value=1, max_value=10000)
    replies_per_hour = forms.IntegerField(label=_("Replies per person per hour"), min_value=1, max_value=10000)
    reports_to_hide = forms.IntegerField(
        label=_("Reports that hide an item until reviewed"), min_value=1, max_value=10000
    )
    fen_per_point = forms.IntegerField(label=_("Fee discount per point (fen)"), min_value=1, max_value=10000)


class RuleForm(forms.Form):
    action = forms.ChoiceField(label=_("For"), choices=PointsRule.Action.choices)
    points = forms.IntegerField(label=_("Points"), min_value=0, max_value=100000)
    effective_from = _local_datetime(label=_("Effective from (empty: now)"), required=False)


class RewardForm(forms.Form):
    name = forms.CharField(label=_("Reward"), max_length=80)
    description = forms.CharField(label=_("Description"), max_length=300, required=False)
    cost = forms.IntegerField(label=_("Points needed"), min_value=1, max_value=1000000)
    stock = forms.IntegerField(label=_("In stock"), min_value=0, max_value=100000)


class AwardForm(forms.Form):
    phone = forms.CharField(label=_("Resident's mobile number"), max_length=20)
    amount = forms.IntegerField(label=_("Points"), min_value=1, max_value=100000)
    reason = forms.CharField(label=_("Reason"), max_length=200)


class HazardForm(forms.Form):
    place = forms.CharField(label=_("Where"), max_length=120)
    description = forms.CharField(label=_("What is wrong"), widget=forms.Textarea(attrs={"rows": 3}), max_length=1000)


class SurveyForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=120)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=5000
    )
    kind = forms.ChoiceField(label=_("Kind"), choices=Survey.Kind.choices)
    per = forms.ChoiceField(label=_("Who answers"), choices=Survey.Per.choices)
    anonymous = forms.BooleanField(label=_("Anonymous"), required=False)
    closes_at = _local_datetime(label=_("Closes at"))
    questions = forms.CharField(
        label=_("Questions, one per line"),
        widget=forms.Textarea(attrs={"rows": 6}),
        max_length=10000,
        help_text=_(
            "A plain line is a rating from 1 to 5. Start a line with ? for free text, or write "
            "'question | option | option' for a choice."
        ),
    )

    def clean_closes_at(self) -> dt.datetime:
        value: dt.datetime = self.cleaned_data["closes_at"]
        if value <= timezone.now():
            raise forms.ValidationError(_("The closing time must be in the future."))
        return value
