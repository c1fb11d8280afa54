"""Surveys (问卷): satisfaction questionnaires and others, one response per household or person."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.core.tenancy import scoped_manager


class Survey(models.Model):
    class Kind(models.TextChoices):
        SATISFACTION = "satisfaction", _("satisfaction")
        OTHER = "other", _("other")

    class Per(models.TextChoices):
        HOUSEHOLD = "household", _("one response per household")
        PERSON = "person", _("one response per person")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.SATISFACTION)
    per = models.CharField(_("who answers"), max_length=10, choices=Per.choices, default=Per.HOUSEHOLD)
    anonymous = models.BooleanField(
        _("anonymous"), default=False, help_text=_("Responses are stored without the home or the person.")
    )
    opens_at = models.DateTimeField(_("opens at"), default=timezone.now)
    closes_at = models.DateTimeField(_("closes at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager()

    class Meta:
        ordering = ["-opens_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closes_at__gt=models.F("opens_at")), name="survey_closes_after_open"
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.opens_at <= timezone.now() < self.closes_at


class Question(models.Model):
    class Kind(models.TextChoices):
        RATING = "rating", _("rating from 1 to 5")
        CHOICE = "choice", _("one choice")
        TEXT = "text", _("free text")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField()
    text = models.CharField(_("question"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.RATING)
    choices = models.JSONField(default=list, blank=True)
    required = models.BooleanField(default=True)

    objects = scoped_manager()

    class Meta:
        ordering = ["survey", "position"]
        constraints = [models.UniqueConstraint(fields=["survey", "position"], name="question_position_unique")]

    def __str__(self) -> str:
        return self.text


class Response(models.Model):
    """One completed questionnaire. ``respondent_key`` (an HMAC of the survey and the household or
    person) enforces one response each even when the survey is anonymous and ``home``/``person``
    are left empty."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses")
    respondent_key = models.CharField(max_length=64)
    home = models.ForeignKey("estates.Home", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey("residents.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["survey", "respondent_key"], name="survey_one_response_per_respondent")
        ]

    def __str__(self) -> str:
        return f"{self.survey_id}:{self.pk}"


class Answer(models.Model):
    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.PROTECT, related_name="answers")
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    choice = models.CharField(max_length=100, blank=True)
    text = models.TextField(blank=True, max_length=1000)

    objects = scoped_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["response", "question"], name="answer_once_per_question"),
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | (models.Q(rating__gte=1) & models.Q(rating__lte=5)),
                name="answer_rating_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.question_id}"
