"""Resident pages: notices, the neighbour board, activities, points and rewards, surveys.

Mobile-first and usable without JavaScript. ``@resident_view`` scopes every query to the
communities the user lives in now; an id from anywhere else is a 404 like one that does not exist.
Actions a resident takes as a member of one community (posting, signing up, redeeming) act as the
person they are there (:func:`anju.community.services.common.resident_person`).
"""

from __future__ import annotations

import uuid

import segno
from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from anju.community import services
from anju.community.calendar import activities_calendar
from anju.community.forms import HazardForm, PostForm, ReasonForm, ReplyForm
from anju.community.models import (
    Activity,
    ActivityPhoto,
    AnnouncementAttachment,
    AnnouncementRead,
    PointsAccount,
    PointsEntry,
    Post,
    Redemption,
    Reply,
    Reward,
    Signup,
    Survey,
    Visibility,
)
from anju.community.models.announcements import AnnouncementQuerySet
from anju.community.services.common import NotAResident, current_occupancies, is_building_leader, resident_person
from anju.community.views.common import actor, attachment_response, image_response
from anju.core.errors import DomainError
from anju.estates.models import Community, Home
from anju.residents.models import Person
from anju.web.decorators import resident_view
from anju.web.forms import add_domain_error


def _get_only(request: HttpRequest) -> HttpResponse | None:
    """For read-only pages with an object in the URL: checked after the object was found (so a
    foreign id is a 404 whatever the method), a POST is then refused with 405."""
    return None if request.method in ("GET", "HEAD") else HttpResponseNotAllowed(["GET"])


def _community_ids(request: HttpRequest) -> list[int]:
    return sorted(request.access.resident_community_ids)  # type: ignore[attr-defined]


def _person_in(request: HttpRequest, community_id: int) -> Person:
    try:
        return resident_person(actor(request), community_id)
    except NotAResident:
        raise DjangoPermissionDenied from None


def _persons(request: HttpRequest) -> dict[int, Person]:
    """The user's person in each community they live in now, by community id."""
    found: dict[int, Person] = {}
    for occupancy in current_occupancies(actor(request), _community_ids(request)):
        found.setdefault(occupancy.community_id, occupancy.person)
    return found


def _communities(ids: list[int]) -> dict[int, Community]:
    return {c.pk: c for c in Community.objects.filter(pk__in=ids)}


# --- Notices -------------------------------------------------------------------------------------


def _my_notices(request: HttpRequest) -> AnnouncementQuerySet:
    occupancies = current_occupancies(actor(request), _community_ids(request))
    return services.visible_to(occupancies)


@resident_view
@require_GET
def notices(request: HttpRequest) -> HttpResponse:
    rows = list(_my_notices(request).board_order()[:200])
    read = set(
        AnnouncementRead.objects.filter(user=actor(request), announcement__in=[a.pk for a in rows]).values_list(
            "announcement_id", flat=True
        )
    )
    communities = _communities(_community_ids(request))
    return render(
        request,
        "community/portal/notices.html",
        {
            "rows": [(a, a.pk not in read, communities.get(a.community_id)) for a in rows],
            "unread": sum(1 for a in rows if a.pk not in read),
            "many_communities": len(communities) > 1,
        },
    )


@resident_view
def notice_detail(request: HttpRequest, announcement_id: int) -> HttpResponse:
    announcement = _my_notices(request).filter(pk=announcement_id).first()
    if announcement is None:
        raise Http404
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET"])
    person = _persons(request).get(announcement.community_id)
    services.mark_read(announcement, user=actor(request), person=person)
    return render(
        request,
        "community/portal/notice.html",
        {
            "announcement": announcement,
            "attachments": list(announcement.attachments.all()),
        },
    )


@resident_view
def notice_attachment(request: HttpRequest, attachment_id: int) -> HttpResponse:
    attachment = get_object_or_404(AnnouncementAttachment, pk=attachment_id)
    if not _my_notices(request).filter(pk=attachment.announcement_id).exists():
        raise Http404
    return _get_only(request) or attachment_response(attachment)


# --- Neighbour board -----------------------------------------------------------------------------


def _leader_communities(persons: dict[int, Person]) -> set[int]:
    return {cid for cid, person in persons.items() if is_building_leader(person)}


@resident_view
def board(request: HttpRequest) -> HttpResponse:
    persons = _persons(request)
    form = PostForm()
    if request.method == "POST":
        form = PostForm(request.POST, request.FILES)
        community_id = _int(request.POST.get("community")) or (min(persons) if persons else 0)
        person = persons.get(community_id)
        if person is None:
            raise DjangoPermissionDenied
        if form.is_valid():
            try:
                post = services.create_post(person=person, actor=actor(request), **form.cleaned_data)
            except DomainError as exc:
                add_domain_error(form, exc)
            else:
                if post.filtered:
                    messages.info(request, _("Some words were masked by the community's filter."))
                return redirect("portal:community_post", post_id=post.pk)
    category = request.GET.get("category", "")
    leader_of = _leader_communities(persons)
    rows = Post.objects.filter(community_id__in=list(persons)).filter(
        Q(status=Visibility.VISIBLE) | Q(community_id__in=leader_of)
    )
    if category in Post.Category.values:
        rows = rows.filter(category=category)
    rows = (
        rows.select_related("author")
        .annotate(reply_total=Count("replies", filter=Q(replies__status=Visibility.VISIBLE)))
        .order_by("-created_at", "-pk")
    )
    communities = _communities(list(persons))
    return render(
        request,
        "community/portal/board.html",
        {
            "rows": list(rows[:100]),
            "form": form,
            "category": category,
            "categories": Post.Category.choices,
            "communities": list(communities.values()),
            "can_post": bool(persons),
        },
    )


def _int(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0


@resident_view
def post_detail(request: HttpRequest, post_id: int) -> HttpResponse:
    persons = _persons(request)
    post: Post = get_object_or_404(Post.objects.select_related("author"), pk=post_id, community_id__in=list(persons))
    me = persons[post.community_id]
    leader = is_building_leader(me)
    if post.status != Visibility.VISIBLE and not leader:
        raise Http404
    reply_form = ReplyForm()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "reply":
                reply_form = ReplyForm(request.POST)
                if reply_form.is_valid():
                    services.create_reply(
                        post=post, person=me, body=reply_form.cleaned_data["body"], actor=actor(request)
                    )
                    return redirect("portal:community_post", post_id=post.pk)
            elif action == "report":
                item = _item(post, request)
                reason = ReasonForm(request.POST)
                services.report_item(
                    item=item,
                    person=me,
                    actor=actor(request),
                    reason=reason.cleaned_data["reason"] if reason.is_valid() else "",
                )
                messages.success(request, _("Thank you. The report has been sent to the moderators."))
                if item == post:
                    return redirect("portal:community_board")
                return redirect("portal:community_post", post_id=post.pk)
            elif action in ("hide", "restore") and leader:
                item = _item(post, request)
                if action == "hide":
                    services.hide_item(item, reason=_("Hidden by the building leader"), actor=actor(request))
                else:
                    services.restore_item(item, actor=actor(request))
                return redirect("portal:community_post", post_id=post.pk)
            else:
                messages.error(request, _("Unknown action."))
        except DomainError as exc:
            if action == "reply":
                add_domain_error(reply_form, exc)
            else:
                messages.error(request, str(exc.message))
    replies = post.replies.select_related("author").order_by("created_at", "pk")
    if not leader:
        replies = replies.filter(status=Visibility.VISIBLE)
    return render(
        request,
        "community/portal/post.html",
        {
            "post": post,
            "replies": list(replies),
            "reply_form": reply_form,
            "leader": leader,
            "me": me,
        },
    )


def _item(post: Post, request: HttpRequest) -> Post | Reply:
    if request.POST.get("kind") == "reply":
        return get_object_or_404(Reply, pk=_int(request.POST.get("item")), post=post)
    return post


@resident_view
def post_image(request: HttpRequest, post_id: int) -> HttpResponse:
    post = get_object_or_404(Post, pk=post_id, status=Visibility.VISIBLE)
    return _get_only(request) or image_response(post.image)


# --- Activities ----------------------------------------------------------------------------------


@resident_view
@require_GET
def activities(request: HttpRequest) -> HttpResponse:
    persons = _persons(request)
    now = timezone.now()
    mine = {s.activity_id: s for s in Signup.objects.active().filter(person__in=list(persons.values()))}
    base = Activity.objects.filter(community_id__in=list(persons)).annotate(
        confirmed=Count("signups", filter=Q(signups__status=Signup.Status.CONFIRMED))
    )
    upcoming = list(base.filter(ends_at__gte=now, cancelled_at__isnull=True).order_by("starts_at")[:50])
    past = list(base.filter(ends_at__lt=now).order_by("-starts_at")[:10])
    return render(
        request,
        "community/portal/activities.html",
        {
            "upcoming": [(a, mine.get(a.pk)) for a in upcoming],
            "past": [(a, mine.get(a.pk)) for a in past],
            "is_leader": bool(_leader_communities(persons)),
        },
    )


@resident_view
def activity_detail(request: HttpRequest, activity_id: int) -> HttpResponse:
    persons = _persons(request)
    activity = get_object_or_404(Activity, pk=activity_id, community_id__in=list(persons))
    me = persons[activity.community_id]
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "sign_up":
                signup = services.sign_up(activity=activity, person=me, actor=actor(request))
                if signup.status == Signup.Status.CONFIRMED:
                    messages.success(request, _("You are signed up."))
                else:
                    messages.info(
                        request,
                        _("The activity is full: you are on the waitlist and will be told if a place frees up."),
                    )
            elif action == "cancel":
                signup = Signup.objects.active().filter(activity=activity, person=me).first()
                if signup is not None:
                    services.cancel_signup(signup, actor=actor(request))
                    messages.success(request, _("Your sign-up has been cancelled."))
            else:
                messages.error(request, _("Unknown action."))
        except DomainError as exc:
            messages.error(request, str(exc.message))
        return redirect("portal:community_activity", activity_id=activity.pk)
    signup = Signup.objects.active().filter(activity=activity, person=me).first()
    qr_svg = code = ""
    if signup is not None and signup.status == Signup.Status.CONFIRMED and signup.checked_in_at is None:
        code = services.signup_code(signup)
        qr_svg = mark_safe(segno.make(code, error="m").svg_inline(scale=6))
    waiting_ahead = 0
    if signup is not None and signup.status == Signup.Status.WAITLISTED:
        waiting_ahead = (
            Signup.objects.filter(activity=activity, status=Signup.Status.WAITLISTED)
            .filter(Q(queued_at__lt=signup.queued_at) | Q(queued_at=signup.queued_at, pk__lt=signup.pk))
            .count()
        )
    confirmed = Signup.objects.filter(activity=activity, status=Signup.Status.CONFIRMED).count()
    return render(
        request,
        "community/portal/activity.html",
        {
            "activity": activity,
            "signup": signup,
            "qr_svg": qr_svg,
            "code": code,
            "confirmed": confirmed,
            "waiting_ahead": waiting_ahead,
            "photos": list(activity.photos.all()),
            "now": timezone.now(),
        },
    )


def _ics(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@resident_view
def activity_ics(request: HttpRequest, activity_id: int) -> HttpResponse:
    activity = get_object_or_404(Activity, pk=activity_id, community_id__in=_community_ids(request))
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET"])
    url = request.build_absolute_uri(reverse("portal:community_activity", args=[activity.pk]))
    return _ics(
        activities_calendar([activity], name=activity.title, url_of={activity.pk: url}), f"activity-{activity.pk}.ics"
    )


@resident_view
@require_GET
def my_ics(request: HttpRequest) -> HttpResponse:
    """Every activity the user has a place (or a waitlist place) at, as one calendar."""
    persons = _persons(request)
    ids = Signup.objects.active().filter(person__in=list(persons.values())).values("activity_id")
    rows = list(Activity.objects.filter(pk__in=ids).order_by("starts_at"))
    urls = {a.pk: request.build_absolute_uri(reverse("portal:community_activity", args=[a.pk])) for a in rows}
    return _ics(activities_calendar(rows, name=_("My activities"), url_of=urls), "my-activities.ics")


@resident_view
def self_checkin(request: HttpRequest, activity_id: int) -> HttpResponse:
    """Where the door poster's QR code leads: a resident with a confirmed place checks in."""
    persons = _persons(request)
    activity = get_object_or_404(Activity, pk=activity_id, community_id__in=list(persons))
    token = request.POST.get("t") or request.GET.get("t") or ""
    valid = bool(token) and token == activity.checkin_token
    signup = Signup.objects.active().filter(activity=activity, person=persons[activity.community_id]).first()
    error = ""
    if request.method == "POST":
        if not valid:
            error = _("This check-in code is not valid; scan the code at the door again.")
        elif signup is None:
            error = _("You are not signed up for this activity.")
        else:
            try:
                services.check_in(signup, actor=actor(request))
            except DomainError as exc:
                error = str(exc.message)
            else:
                messages.success(request, _("You are checked in. Welcome!"))
                return redirect("portal:community_activity", activity_id=activity.pk)
    return render(
        request,
        "community/portal/checkin.html",
        {
            "activity": activity,
            "token": token,
            "valid": valid,
            "signup": signup,
            "error": error,
        },
        status=400 if error else 200,
    )


@resident_view
def new_activity(request: HttpRequest) -> HttpResponse:
    """Building leaders organise activities for their community."""
    from anju.community.forms import ActivityForm

    persons = _persons(request)
    leading = [p for cid, p in persons.items() if cid in _leader_communities(persons)]
    if not leading:
        raise DjangoPermissionDenied
    form = ActivityForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        me = leading[0]
        try:
            activity = services.create_activity(
                community=Community.objects.get(pk=me.community_id),
                organizer=me,
                actor=actor(request),
                **form.cleaned_data,
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            return redirect("portal:community_activity", activity_id=activity.pk)
    return render(request, "community/portal/new_activity.html", {"form": form})


@resident_view
def activity_photo(request: HttpRequest, activity_photo_id: int) -> HttpResponse:
    photo = get_object_or_404(ActivityPhoto, pk=activity_photo_id)
    return _get_only(request) or image_response(photo.image)


# --- Points --------------------------------------------------------------------------------------


@resident_view
def points(request: HttpRequest) -> HttpResponse:
    persons = _persons(request)
    hazard_form = HazardForm()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "redeem":
                reward = get_object_or_404(Reward, pk=_int(request.POST.get("reward")), community_id__in=list(persons))
                services.redeem_reward(
                    person=persons[reward.community_id],
                    reward=reward,
                    request_key=request.POST.get("key", "")[:40],
                    actor=actor(request),
                )
                messages.success(
                    request, _("Redeemed: %(name)s. Collect it at the service desk.") % {"name": reward.name}
                )
                return redirect("portal:community_points")
            if action == "fee":
                home_id, amount = _int(request.POST.get("home")), _int(request.POST.get("points"))
                occupancy = next(
                    (o for o in current_occupancies(actor(request), list(persons)) if o.home_id == home_id), None
                )
                if occupancy is None:
                    raise Http404
                redemption = services.redeem_for_fee_discount(
                    person=persons[occupancy.community_id],
                    home=occupancy.home,
                    points=amount,
                    request_key=request.POST.get("key", "")[:40],
                    actor=actor(request),
                )
                messages.success(
                    request,
                    _("%(points)d points credited to the fees of %(home)s (%(yuan)s yuan).")
                    % {
                        "points": redemption.points,
                        "home": occupancy.home.label,
                        "yuan": f"{redemption.credit_fen / 100:.2f}",
                    },
                )
                return redirect("portal:community_points")
            if action == "hazard":
                hazard_form = HazardForm(request.POST)
                community_id = _int(request.POST.get("community")) or (min(persons) if persons else 0)
                if community_id not in persons:
                    raise DjangoPermissionDenied
                if hazard_form.is_valid():
                    services.report_hazard(
                        person=persons[community_id], actor=actor(request), **hazard_form.cleaned_data
                    )
                    messages.success(
                        request, _("Thank you. Staff will check the hazard; verified reports earn points.")
                    )
                    return redirect("portal:community_points")
            else:
                messages.error(request, _("Unknown action."))
        except DomainError as exc:
            if action == "hazard":
                add_domain_error(hazard_form, exc)
            else:
                messages.error(request, str(exc.message))
    accounts = {a.person_id: a for a in PointsAccount.objects.filter(person__in=list(persons.values()))}
    balance = sum(a.balance for a in accounts.values())
    entries = list(PointsEntry.objects.filter(person__in=list(persons.values())).order_by("-created_at", "-pk")[:50])
    rewards = list(Reward.objects.filter(community_id__in=list(persons), active=True).order_by("cost", "name"))
    redemptions = list(Redemption.objects.filter(person__in=list(persons.values())).select_related("reward")[:20])
    return render(
        request,
        "community/portal/points.html",
        {
            "balance": balance,
            "entries": entries,
            "rewards": rewards,
            "redemptions": redemptions,
            "hazard_form": hazard_form,
            "key": uuid.uuid4().hex,
            "has_community": bool(persons),
            "fee_homes": [o.home for o in current_occupancies(actor(request), list(persons))]
            if services.points.fee_discount_available()
            else [],
        },
    )


# --- Surveys -------------------------------------------------------------------------------------


@resident_view
@require_GET
def surveys(request: HttpRequest) -> HttpResponse:
    persons = _persons(request)
    now = timezone.now()
    rows = list(Survey.objects.filter(community_id__in=list(persons), opens_at__lte=now).order_by("-opens_at")[:50])
    occupancies = current_occupancies(actor(request), list(persons))
    done = set()
    for survey in rows:
        homes: list[Home | None] = [o.home for o in occupancies if o.community_id == survey.community_id]
        person = persons[survey.community_id]
        if any(services.surveys.has_responded(survey, home=h, person=person) for h in homes or [None]):
            done.add(survey.pk)
    return render(request, "community/portal/surveys.html", {"rows": [(s, s.pk in done) for s in rows]})


@resident_view
def survey_detail(request: HttpRequest, survey_id: int) -> HttpResponse:
    persons = _persons(request)
    survey = get_object_or_404(Survey, pk=survey_id, community_id__in=list(persons), opens_at__lte=timezone.now())
    person = persons[survey.community_id]
    homes = [o.home for o in current_occupancies(actor(request), [survey.community_id])]
    questions = list(survey.questions.order_by("position"))
    error = ""
    if request.method == "POST":
        home_id = _int(request.POST.get("home")) or (homes[0].pk if homes else 0)
        home = next((h for h in homes if h.pk == home_id), None)
        answers = {q.pk: request.POST.get(f"q{q.pk}", "") for q in questions}
        try:
            services.submit_response(survey=survey, person=person, home=home, answers=answers, actor=actor(request))
        except DomainError as exc:
            error = str(exc.message)
        else:
            messages.success(request, _("Thank you for your answers."))
            return redirect("portal:community_surveys")
    answered = [h for h in homes if services.surveys.has_responded(survey, home=h, person=person)]
    if survey.per == Survey.Per.PERSON:
        answered = homes if services.surveys.has_responded(survey, home=None, person=person) else []
    open_homes = [h for h in homes if h not in answered]
    return render(
        request,
        "community/portal/survey.html",
        {
            "survey": survey,
            "questions": questions,
            "homes": open_homes,
            "error": error,
            "can_answer": survey.is_open and bool(open_homes),
            "posted": dict(request.POST.items()),
            "ratings": ["1", "2", "3", "4", "5"],
        },
        status=400 if error else 200,
    )
