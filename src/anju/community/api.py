"""Community life over the API: the resident's main actions under ``/me/…`` (notices, activities,
points and rewards, surveys) and publishing announcements for staff.

Resident operations take the object's id in the body rather than the path, so that every path is
either the caller's own (``/me``) or a community's (``/communities/{community_id}``); an id of
another community, or one the caller is not addressed by, is a 404 like a missing one.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.db.models import Count, Q
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema
from ninja.responses import Status

from anju.api.auth import community_auth, current_user
from anju.api.errors import COMMUNITY_READ, COMMUNITY_WRITE, OWN_WRITE, SIGNED_IN, responses
from anju.api.schemas import Input, ObjectId, local, text
from anju.api.tenancy import resident_scope, scoped
from anju.community import services
from anju.community.models import (
    Activity,
    Announcement,
    AnnouncementRead,
    PointsAccount,
    PointsEntry,
    Reward,
    Signup,
    Survey,
)
from anju.community.services.common import current_occupancies, resident_person
from anju.core.errors import NotFound
from anju.core.permissions import Perm
from anju.estates.models import Home

router = Router(tags=["community"])


def at(value: dt.datetime) -> dt.datetime:
    """A stored (UTC) time as it goes out: Asia/Shanghai, with its offset."""
    return timezone.localtime(value)


# --- Announcements ---------------------------------------------------------------------------------


class AnnouncementOut(Schema):
    id: int
    community_id: int
    title: str
    body: str
    category: str
    urgent: bool
    pinned: bool
    publish_at: dt.datetime
    expires_at: dt.datetime | None
    read: bool

    @classmethod
    def of(cls, a: Announcement, read: bool) -> AnnouncementOut:
        return cls(
            id=a.pk,
            community_id=a.community_id,
            title=a.title,
            body=a.body,
            category=a.category,
            urgent=a.urgent,
            pinned=a.pinned,
            publish_at=at(a.publish_at),
            expires_at=local(a.expires_at),
            read=read,
        )


class ReadIn(Input):
    announcement_id: ObjectId


class ReadOut(Schema):
    announcement_id: int
    first_read: bool


@router.get("/me/announcements", response=responses(list[AnnouncementOut], errors=SIGNED_IN))
def my_announcements(request: HttpRequest) -> list[AnnouncementOut]:
    """The notices addressed to the caller now, pinned and urgent first, with their read state."""
    user = current_user(request)
    with resident_scope(request) as community_ids:
        rows = list(services.visible_to(current_occupancies(user, community_ids)).board_order()[:200])
        read = set(
            AnnouncementRead.objects.filter(user=user, announcement__in=[a.pk for a in rows]).values_list(
                "announcement_id", flat=True
            )
        )
        return [AnnouncementOut.of(a, a.pk in read) for a in rows]


@router.post("/me/announcements/read", response=responses(ReadOut, errors=OWN_WRITE))
def read_announcement(request: HttpRequest, payload: ReadIn) -> ReadOut:
    """Record that the caller has read a notice addressed to them (a read receipt; idempotent)."""
    user = current_user(request)
    with resident_scope(request) as community_ids:
        announcement = (
            services.visible_to(current_occupancies(user, community_ids)).filter(pk=payload.announcement_id).first()
        )
        if announcement is None:
            raise NotFound(field="announcement_id")
        person = resident_person(user, announcement.community_id)
        first = services.mark_read(announcement, user=user, person=person)
    return ReadOut(announcement_id=announcement.pk, first_read=first)


class PublishIn(Input):
    title: Annotated[str, text(120, min_length=1)]
    body: Annotated[str, text(20000, min_length=1)]
    category: Announcement.Category = Announcement.Category.NOTICE
    building_ids: list[ObjectId] = Field(default_factory=list, max_length=500)
    unit_ids: list[ObjectId] = Field(default_factory=list, max_length=2000)
    roles: list[Annotated[str, text(10)]] = Field(default_factory=list, max_length=4)
    urgent: bool = False
    pinned: bool = False
    source_ref: Annotated[str, text(100)] = ""
    publish_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None


class StaffAnnouncementOut(Schema):
    id: int
    title: str
    category: str
    urgent: bool
    pinned: bool
    publish_at: dt.datetime
    expires_at: dt.datetime | None
    withdrawn_at: dt.datetime | None
    source_ref: str
    read_count: int


def _staff_out(a: Announcement, read_count: int) -> StaffAnnouncementOut:
    return StaffAnnouncementOut(
        id=a.pk,
        title=a.title,
        category=a.category,
        urgent=a.urgent,
        pinned=a.pinned,
        publish_at=at(a.publish_at),
        expires_at=local(a.expires_at),
        withdrawn_at=local(a.withdrawn_at),
        source_ref=a.source_ref,
        read_count=read_count,
    )


@router.get(
    "/communities/{community_id}/announcements",
    response=responses(list[StaffAnnouncementOut], errors=COMMUNITY_READ),
    auth=community_auth(Perm.PUBLISH_ANNOUNCEMENTS),
)
def list_announcements(request: HttpRequest, community_id: int) -> list[StaffAnnouncementOut]:
    with scoped(request, community_id, Perm.PUBLISH_ANNOUNCEMENTS):
        rows = Announcement.objects.annotate(read_count=Count("reads")).order_by("-publish_at", "-pk")[:200]
        return [_staff_out(a, a.read_count) for a in rows]


@router.post(
    "/communities/{community_id}/announcements",
    response=responses(StaffAnnouncementOut, status=201, errors=COMMUNITY_WRITE),
    auth=community_auth(Perm.PUBLISH_ANNOUNCEMENTS),
)
def publish(request: HttpRequest, community_id: int, payload: PublishIn) -> Status[StaffAnnouncementOut]:
    """Publish (or schedule) an announcement; idempotent by ``source_ref``."""
    with scoped(request, community_id, Perm.PUBLISH_ANNOUNCEMENTS) as community:
        announcement = services.publish_announcement(
            community=community, actor=current_user(request), **payload.model_dump()
        )
        return Status(201, _staff_out(announcement, 0))


# --- Activities ------------------------------------------------------------------------------------


class ActivityOut(Schema):
    id: int
    community_id: int
    title: str
    place: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    confirmed: int
    volunteer: bool
    my_status: str | None


class ActivityRef(Input):
    activity_id: ObjectId


class SignupOut(Schema):
    activity_id: int
    status: str
    promoted_activity_place: bool = False


@router.get("/me/activities", response=responses(list[ActivityOut], errors=SIGNED_IN))
def my_activities(request: HttpRequest) -> list[ActivityOut]:
    """Upcoming activities of the caller's communities, with the caller's place at each."""
    user = current_user(request)
    with resident_scope(request) as community_ids:
        persons = [o.person_id for o in current_occupancies(user, community_ids)]
        mine = {s.activity_id: s.status for s in Signup.objects.active().filter(person_id__in=persons)}
        rows = (
            Activity.objects.filter(community_id__in=community_ids, cancelled_at__isnull=True)
            .filter(ends_at__gte=dt.datetime.now(dt.UTC))
            .annotate(confirmed=Count("signups", filter=Q(signups__status=Signup.Status.CONFIRMED)))
            .order_by("starts_at")[:100]
        )
        return [
            ActivityOut(
                id=a.pk,
                community_id=a.community_id,
                title=a.title,
                place=a.place,
                starts_at=at(a.starts_at),
                ends_at=at(a.ends_at),
                capacity=a.capacity,
                confirmed=a.confirmed,
                volunteer=a.is_volunteer,
                my_status=mine.get(a.pk),
            )
            for a in rows
        ]


def _my_activity(request: HttpRequest, activity_id: int, community_ids: set[int]) -> Activity:
    activity = Activity.objects.filter(pk=activity_id, community_id__in=community_ids).first()
    if activity is None:
        raise NotFound(field="activity_id")
    return activity


@router.post("/me/activities/signups", response=responses(SignupOut, status=201, errors=(*OWN_WRITE, 409)))
def sign_up(request: HttpRequest, payload: ActivityRef) -> Status[SignupOut]:
    """Take a place at an activity, or a waitlist place when it is full (``status`` says which)."""
    user = current_user(request)
    with resident_scope(request) as community_ids:
        activity = _my_activity(request, payload.activity_id, community_ids)
        signup = services.sign_up(activity=activity, person=resident_person(user, activity.community_id), actor=user)
        return Status(201, SignupOut(activity_id=activity.pk, status=signup.status))


@router.post("/me/activities/cancellations", response=responses(SignupOut, errors=(*OWN_WRITE, 409)))
def cancel(request: HttpRequest, payload: ActivityRef) -> SignupOut:
    """Give up the caller's place (the first on the waitlist moves up)."""
    user = current_user(request)
    with resident_scope(request) as community_ids:
        activity = _my_activity(request, payload.activity_id, community_ids)
        person = resident_person(user, activity.community_id)
        signup = Signup.objects.active().filter(activity=activity, person=person).first()
        if signup is None:
            raise NotFound(field="activity_id")
        services.cancel_signup(signup, actor=user)
        return SignupOut(activity_id=activity.pk, status=Signup.Status.CANCELLED)


# --- Points ----------------------------------------------------------------------------------------


class EntryOut(Schema):
    id: int
    amount: int
    kind: str
    reason: str
    created_at: dt.datetime


class PointsOut(Schema):
    balance: int
    entries: list[EntryOut]


class RewardOut(Schema):
    id: int
    community_id: int
    name: str
    description: str
    cost: int
    stock: int


class RedeemIn(Input):
    reward_id: ObjectId
    key: Annotated[str, text(40)] = ""


class RedemptionOut(Schema):
    id: int
    reward_id: int
    points: int
    status: str
    balance: int


@router.get("/me/points", response=responses(PointsOut, errors=SIGNED_IN))
def my_points(request: HttpRequest) -> PointsOut:
    """The caller's balance (over their communities) and latest ledger entries."""
    user = current_user(request)
    with resident_scope(request) as community_ids:
        persons = [o.person_id for o in current_occupancies(user, community_ids)]
        balance = sum(PointsAccount.objects.filter(person_id__in=persons).values_list("balance", flat=True))
        entries = PointsEntry.objects.filter(person_id__in=persons).order_by("-created_at", "-pk")[:100]
        return PointsOut(
            balance=balance,
            entries=[
                EntryOut(id=e.pk, amount=e.amount, kind=e.kind, reason=e.reason, created_at=at(e.created_at))
                for e in entries
            ],
        )


@router.get("/me/rewards", response=responses(list[RewardOut], errors=SIGNED_IN))
def my_rewards(request: HttpRequest) -> list[RewardOut]:
    with resident_scope(request) as community_ids:
        rows = Reward.objects.filter(community_id__in=community_ids, active=True).order_by("cost", "name")
        return [
            RewardOut(
                id=r.pk, community_id=r.community_id, name=r.name, description=r.description, cost=r.cost, stock=r.stock
            )
            for r in rows
        ]


@router.post("/me/redemptions", response=responses(RedemptionOut, status=201, errors=(*OWN_WRITE, 409)))
def redeem(request: HttpRequest, payload: RedeemIn) -> Status[RedemptionOut]:
    """Spend points on a reward. Send the same ``key`` when retrying: it is spent once."""
    user = current_user(request)
    with resident_scope(request) as community_ids:
        reward = Reward.objects.filter(pk=payload.reward_id, community_id__in=community_ids).first()
        if reward is None:
            raise NotFound(field="reward_id")
        person = resident_person(user, reward.community_id)
        redemption = services.redeem_reward(person=person, reward=reward, request_key=payload.key, actor=user)
        balance = PointsAccount.objects.filter(person=person).values_list("balance", flat=True).first() or 0
        return Status(
            201,
            RedemptionOut(
                id=redemption.pk,
                reward_id=reward.pk,
                points=redemption.points,
                status=redemption.status,
                balance=balance,
            ),
        )


# --- Surveys ---------------------------------------------------------------------------------------


class QuestionOut(Schema):
    id: int
    text: str
    kind: str
    choices: list[str]
    required: bool


class SurveyOut(Schema):
    id: int
    community_id: int
    title: str
    description: str
    per: str
    anonymous: bool
    closes_at: dt.datetime
    questions: list[QuestionOut]


class ResponseIn(Input):
    survey_id: ObjectId
    home_id: ObjectId | None = None
    answers: dict[str, Annotated[str, text(1000)]] = Field(max_length=60)


class ResponseOut(Schema):
    survey_id: int
    submitted_at: dt.datetime


@router.get("/me/surveys", response=responses(list[SurveyOut], errors=SIGNED_IN))
def my_surveys(request: HttpRequest) -> list[SurveyOut]:
    """Open surveys of the caller's communities, with their questions."""
    now = dt.datetime.now(dt.UTC)
    with resident_scope(request) as community_ids:
        rows = Survey.objects.filter(community_id__in=community_ids, opens_at__lte=now, closes_at__gt=now)
        return [
            SurveyOut(
                id=s.pk,
                community_id=s.community_id,
                title=s.title,
                description=s.description,
                per=s.per,
                anonymous=s.anonymous,
                closes_at=at(s.closes_at),
                questions=[
                    QuestionOut(id=q.pk, text=q.text, kind=q.kind, choices=q.choices, required=q.required)
                    for q in s.questions.order_by("position")
                ],
            )
            for s in rows.order_by("closes_at")
        ]


@router.post("/me/survey-responses", response=responses(ResponseOut, status=201, errors=(*OWN_WRITE, 409)))
def respond(request: HttpRequest, payload: ResponseIn) -> Status[ResponseOut]:
    """Answer a survey: ``answers`` maps question ids to values (a rating "1"…"5", a choice, or text)."""
    user = current_user(request)
    with resident_scope(request) as community_ids:
        survey = Survey.objects.filter(pk=payload.survey_id, community_id__in=community_ids).first()
        if survey is None:
            raise NotFound(field="survey_id")
        if payload.home_id:
            home = Home.objects.filter(pk=payload.home_id).first()
        else:  # the caller's first home there, for a household survey
            mine = [o.home for o in current_occupancies(user, [survey.community_id])]
            home = mine[0] if mine else None
        answers: dict[int, str] = {}
        for key, value in payload.answers.items():
            if key.isdigit():
                answers[int(key)] = value
        response = services.submit_response(
            survey=survey, person=resident_person(user, survey.community_id), home=home, answers=answers, actor=user
        )
        return Status(201, ResponseOut(survey_id=survey.pk, submitted_at=at(response.submitted_at)))
