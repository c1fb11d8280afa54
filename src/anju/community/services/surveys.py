"""Surveys: creating questionnaires, answering them once, results, and satisfaction for the KPIs.

One response per household or per person is enforced by a unique ``respondent_key``: an HMAC (keyed
with the site secret) of the survey id and the home or person id. The key reveals neither, so an
anonymous survey stores no home and no person and still refuses a second response.

Satisfaction: a rating question's answers 4 and 5 of 5 count as satisfied. The satisfaction rate is
satisfied answers / rating answers over the satisfaction surveys of a period (each rating answer
weighs the same), as a percentage with one decimal, rounded half up.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.community.models import Answer, Question, Response, Survey
from anju.community.services.common import require_text
from anju.core import audit
from anju.core.errors import Conflict, DomainError
from anju.core.models import User
from anju.core.tenancy import community_scope
from anju.estates.models import Community, Home
from anju.residents.models import Occupancy, Person

SATISFIED_FROM = 4


@dataclass(frozen=True)
class QuestionSpec:
    text: str
    kind: str = Question.Kind.RATING
    choices: tuple[str, ...] = ()
    required: bool = True


@transaction.atomic
def create_survey(
    *,
    community: Community,
    title: str,
    questions: list[QuestionSpec],
    closes_at: dt.datetime,
    opens_at: dt.datetime | None = None,
    description: str = "",
    kind: str = Survey.Kind.SATISFACTION,
    per: str = Survey.Per.HOUSEHOLD,
    anonymous: bool = False,
    actor: User | None,
) -> Survey:
    title = require_text(title, "title", max_length=120, message=_("A title is required."))
    if kind not in Survey.Kind.values:
        raise DomainError(_("Unknown kind of survey."), field="kind")
    if per not in Survey.Per.values:
        raise DomainError(_("Say who answers: each household or each person."), field="per")
    opens_at = opens_at or timezone.now()
    if closes_at <= opens_at:
        raise DomainError(_("The survey must close after it opens."), code="closes_before_open", field="closes_at")
    if not questions:
        raise DomainError(_("Add at least one question."), code="no_questions", field="questions")
    if len(questions) > 50:
        raise DomainError(_("A survey has at most 50 questions."), field="questions")
    with community_scope(community.pk):
        survey = Survey.objects.create(
            community=community,
            title=title,
            description=(description or "").strip()[:5000],
            kind=kind,
            per=per,
            anonymous=anonymous,
            opens_at=opens_at,
            closes_at=closes_at,
            created_by=actor,
        )
        rows = []
        for position, spec in enumerate(questions, start=1):
            text = require_text(spec.text, "questions", max_length=200, message=_("A question cannot be empty."))
            if spec.kind not in Question.Kind.values:
                raise DomainError(_("Unknown kind of question."), field="questions")
            choices = [c.strip()[:100] for c in spec.choices if c.strip()]
            if spec.kind == Question.Kind.CHOICE and len(choices) < 2:
                raise DomainError(_("A choice question needs at least two choices."), field="questions")
            rows.append(
                Question(
                    community=community,
                    survey=survey,
                    position=position,
                    text=text,
                    kind=spec.kind,
                    choices=choices if spec.kind == Question.Kind.CHOICE else [],
                    required=spec.required,
                )
            )
        Question.objects.bulk_create(rows)
        audit.record(
            actor=actor, action="survey.create", obj=survey, after={**audit.snapshot(survey), "questions": len(rows)}
        )
    return survey


def respondent_key(survey: Survey, *, home: Home | None, person: Person) -> str:
    subject = f"home:{home.pk}" if survey.per == Survey.Per.HOUSEHOLD and home is not None else f"person:{person.pk}"
    message = f"survey:{survey.pk}:{subject}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def has_responded(survey: Survey, *, home: Home | None, person: Person) -> bool:
    with community_scope(survey.community_id):
        return Response.objects.filter(
            survey=survey, respondent_key=respondent_key(survey, home=home, person=person)
        ).exists()


def _clean_answer(question: Question, raw: Any) -> dict[str, Any] | None:
    value = "" if raw is None else str(raw).strip()
    if not value:
        if question.required:
            raise DomainError(
                _("Please answer: %(q)s") % {"q": question.text}, code="missing_answer", field=f"q{question.pk}"
            )
        return None
    if question.kind == Question.Kind.RATING:
        if value not in {"1", "2", "3", "4", "5"}:
            raise DomainError(_("Give a rating from 1 to 5."), field=f"q{question.pk}")
        return {"rating": int(value)}
    if question.kind == Question.Kind.CHOICE:
        if value not in question.choices:
            raise DomainError(_("Choose one of the options."), field=f"q{question.pk}")
        return {"choice": value}
    return {"text": value[:1000]}


@transaction.atomic
def submit_response(
    *, survey: Survey, person: Person, home: Home | None, answers: dict[int, Any], actor: User | None
) -> Response:
    """Answer a survey: once per household (``home``, which ``person`` must live in now) or per
    person. Anonymous surveys keep neither the home nor the person with the answers."""
    if person.community_id != survey.community_id:
        raise DomainError(_("This survey is for another community."), code="foreign_survey")
    now = timezone.now()
    if not survey.opens_at <= now < survey.closes_at:
        raise Conflict(_("This survey is not open."), code="survey_closed")
    with community_scope(survey.community_id):
        lives_there = home is not None and Occupancy.objects.current().filter(person=person, home=home).exists()
        if survey.per == Survey.Per.HOUSEHOLD and not lives_there:
            raise DomainError(_("Choose the home you answer for."), code="home_required", field="home")
        if not lives_there:
            home = None
        cleaned = []
        for question in survey.questions.order_by("position"):
            values = _clean_answer(question, answers.get(question.pk))
            if values is not None:
                cleaned.append(Answer(community_id=survey.community_id, question=question, **values))
        key = respondent_key(survey, home=home, person=person)
        try:
            with transaction.atomic():
                response = Response.objects.create(
                    community_id=survey.community_id,
                    survey=survey,
                    respondent_key=key,
                    home=None if survey.anonymous else home,
                    person=None if survey.anonymous else person,
                )
        except IntegrityError:
            message = (
                _("Your household has already answered this survey.")
                if survey.per == Survey.Per.HOUSEHOLD
                else _("You have already answered this survey.")
            )
            raise Conflict(message, code="already_answered") from None
        for answer in cleaned:
            answer.response = response
        Answer.objects.bulk_create(cleaned)
        # The audit row names the survey, not the respondent (nor their address), when the survey
        # is anonymous.
        audit.record(
            actor=None if survey.anonymous else actor,
            action="survey.respond",
            obj=response,
            after={"survey": survey.pk, "answers": len(cleaned)},
            keep_ip=not survey.anonymous,
        )
    return response


@dataclass
class QuestionResult:
    question: Question
    answered: int = 0
    counts: list[tuple[str, int]] = field(default_factory=list)
    average: Decimal | None = None
    satisfied_percent: Decimal | None = None
    texts: list[str] = field(default_factory=list)


@dataclass
class SurveyResults:
    survey: Survey
    responses: int
    questions: list[QuestionResult]


def _percent(part: int, whole: int) -> Decimal | None:
    if whole == 0:
        return None
    return (Decimal(part * 100) / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def survey_results(survey: Survey) -> SurveyResults:
    with community_scope(survey.community_id):
        questions = list(survey.questions.order_by("position"))
        answers = list(Answer.objects.filter(response__survey=survey).values("question_id", "rating", "choice", "text"))
        responses = Response.objects.filter(survey=survey).count()
    results = []
    for question in questions:
        mine = [a for a in answers if a["question_id"] == question.pk]
        result = QuestionResult(question, answered=len(mine))
        if question.kind == Question.Kind.RATING:
            tally: Counter[int] = Counter(int(a["rating"]) for a in mine if a["rating"])
            result.counts = [(str(score), tally.get(score, 0)) for score in range(1, 6)]
            if mine:
                total = sum(score * n for score, n in tally.items())
                result.average = (Decimal(total) / Decimal(len(mine))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
                result.satisfied_percent = _percent(sum(n for s, n in tally.items() if s >= SATISFIED_FROM), len(mine))
        elif question.kind == Question.Kind.CHOICE:
            chosen: Counter[str] = Counter(str(a["choice"]) for a in mine)
            result.counts = [(choice, chosen.get(choice, 0)) for choice in question.choices]
        else:
            result.texts = [a["text"] for a in mine if a["text"]]
        results.append(result)
    return SurveyResults(survey, responses, results)


@dataclass(frozen=True)
class SatisfactionResult:
    """Satisfaction of one community over a period, for the KPI issue (level-1 service expects >= 80%)."""

    community_id: int
    surveys: int
    responses: int
    rating_answers: int
    satisfied_answers: int
    satisfied_percent: Decimal | None
    average_rating: Decimal | None


def satisfaction(
    community_id: int, *, since: dt.datetime | None = None, until: dt.datetime | None = None
) -> SatisfactionResult:
    """Satisfaction results of the community's satisfaction surveys that opened in [since, until):
    the share of rating answers of 4 or 5 (percent, one decimal, half up) and the mean rating."""
    with community_scope(community_id):
        surveys = Survey.objects.filter(kind=Survey.Kind.SATISFACTION)
        if since is not None:
            surveys = surveys.filter(opens_at__gte=since)
        if until is not None:
            surveys = surveys.filter(opens_at__lt=until)
        survey_ids = list(surveys.values_list("pk", flat=True))
        ratings = [
            int(r)
            for r in Answer.objects.filter(response__survey_id__in=survey_ids, rating__isnull=False).values_list(
                "rating", flat=True
            )
            if r is not None
        ]
        responses = Response.objects.filter(survey_id__in=survey_ids).count()
    satisfied = len([r for r in ratings if r >= SATISFIED_FROM])
    average = (
        (Decimal(sum(ratings)) / Decimal(len(ratings))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if ratings
        else None
    )
    return SatisfactionResult(
        community_id=community_id,
        surveys=len(survey_ids),
        responses=responses,
        rating_answers=len(ratings),
        satisfied_answers=satisfied,
        satisfied_percent=_percent(satisfied, len(ratings)),
        average_rating=average,
    )
