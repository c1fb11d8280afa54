"""Console pages: announcements with read receipts and print, the moderation queue, points and
rewards, surveys and their results. Activities are in :mod:`.console_activities`.

``@community_view`` has refused outsiders (404) and roles without the page's permission (403) and
opened the community scope. Writes go through :mod:`anju.community.services`; their refusals are
shown on the form that caused them.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _

from anju.community import services
from anju.community.charts import bar_chart
from anju.community.forms import (
    AnnouncementForm,
    AttachmentForm,
    AwardForm,
    BanForm,
    LifeSettingsForm,
    ReasonForm,
    RewardForm,
    RuleForm,
    SurveyForm,
)
from anju.community.models import (
    Announcement,
    AnnouncementAttachment,
    AnnouncementRead,
    Ban,
    HazardReport,
    PointsEntry,
    PointsRule,
    Post,
    Redemption,
    Reply,
    Reward,
    Survey,
)
from anju.community.printing import announcement_pdf
from anju.community.services.points import DEFAULT_POINTS, life_settings
from anju.community.services.surveys import QuestionSpec
from anju.community.views.common import actor, attachment_response, parse_questions
from anju.core.errors import DomainError
from anju.core.permissions import Perm
from anju.estates.models import Building, Unit
from anju.residents.models import Person
from anju.residents.services import find_person_by_phone
from anju.web.console import current_community, render_console
from anju.web.decorators import community_view
from anju.web.forms import add_domain_error

# --- Announcements --------------------------------------------------------------------------------


def _place_choices() -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    buildings = [(b.pk, str(b)) for b in Building.objects.order_by("sort_key", "number")]
    units = [
        (u.pk, f"{u.building} {u}")
        for u in Unit.objects.select_related("building").order_by("building__number", "number")
    ]
    return buildings, units


@community_view(Perm.PUBLISH_ANNOUNCEMENTS)
def announcements(request: HttpRequest, community_id: int) -> HttpResponse:
    buildings, units = _place_choices()
    form = AnnouncementForm(request.POST or None, buildings=buildings, units=units)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            announcement = services.publish_announcement(
                community=current_community(request),
                title=data["title"],
                body=data["body"],
                category=data["category"],
                building_ids=data["buildings"],
                unit_ids=data["units"],
                roles=data["roles"],
                urgent=data["urgent"],
                pinned=data["pinned"],
                publish_at=data["publish_at"],
                expires_at=data["expires_at"],
                actor=actor(request),
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, _("The announcement has been published."))
            return redirect(
                "console:community_announcement", community_id=community_id, announcement_id=announcement.pk
            )
    rows = list(Announcement.objects.annotate(read_count=Count("reads")).order_by("-publish_at", "-pk")[:100])
    return render_console(
        request, "community/console/announcements.html", community_id, form=form, rows=rows, now=timezone.now()
    )


@community_view(Perm.PUBLISH_ANNOUNCEMENTS)
def announcement_detail(request: HttpRequest, community_id: int, announcement_id: int) -> HttpResponse:
    """One announcement: its audience and read receipts (a steward sees their own homes; others all
    homes, or one steward's with ``?steward=``), withdraw, pin, attach."""
    announcement = get_object_or_404(Announcement, pk=announcement_id)
    attach_form = AttachmentForm()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "withdraw":
                services.withdraw(announcement, actor=actor(request))
                messages.success(request, _("The announcement has been withdrawn."))
            elif action in ("pin", "unpin"):
                services.set_pinned(announcement, pinned=action == "pin", actor=actor(request))
            elif action == "attach":
                attach_form = AttachmentForm(request.POST, request.FILES)
                if not attach_form.is_valid():
                    raise _Invalid
                services.attach_file(announcement, upload=attach_form.cleaned_data["file"], actor=actor(request))
                messages.success(request, _("The file has been attached."))
            else:
                messages.error(request, _("Unknown action."))
            return redirect(
                "console:community_announcement", community_id=community_id, announcement_id=announcement.pk
            )
        except DomainError as exc:
            add_domain_error(attach_form, exc)
        except _Invalid:
            pass
    access = request.access  # type: ignore[attr-defined]
    only_mine = access.has_role("steward", community_id) and not access.has(Perm.ASSIGN_STEWARDS, community_id)
    steward = request.user if only_mine or request.GET.get("mine") == "1" else None
    receipts = services.read_receipts(announcement, steward=steward)  # type: ignore[arg-type]
    show = request.GET.get("show", "unread" if announcement.urgent else "all")
    homes = receipts.homes_unread if show == "unread" else receipts.homes
    return render_console(
        request,
        "community/console/announcement.html",
        community_id,
        announcement=announcement,
        receipts=receipts,
        homes=homes[:500],
        show=show,
        only_mine=steward is not None,
        attach_form=attach_form,
        attachments=list(announcement.attachments.all()),
        targets=list(announcement.targets.select_related("building", "unit__building")),
        reads_total=AnnouncementRead.objects.filter(announcement=announcement).count(),
    )


class _Invalid(Exception):
    """A form did not validate; the page is shown again with its errors."""


@community_view(Perm.PUBLISH_ANNOUNCEMENTS)
def announcement_pdf_view(request: HttpRequest, community_id: int, announcement_id: int) -> HttpResponse:
    announcement = get_object_or_404(Announcement, pk=announcement_id)
    community = current_community(request)
    pdf = announcement_pdf(
        announcement, community, issuer=_("%(community)s property service centre") % {"community": community.name}
    )
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="announcement-{announcement.pk}.pdf"'
    return response


@community_view(Perm.PUBLISH_ANNOUNCEMENTS)
def attachment(request: HttpRequest, community_id: int, attachment_id: int) -> HttpResponse:
    return attachment_response(get_object_or_404(AnnouncementAttachment, pk=attachment_id))


# --- The neighbour board's moderation queue -------------------------------------------------------


def _board_item(request: HttpRequest) -> Post | Reply:
    kind = request.POST.get("kind")
    model: type[Post] | type[Reply] = Reply if kind == "reply" else Post
    try:
        pk = int(request.POST.get("item", ""))
    except ValueError:
        pk = 0
    return get_object_or_404(model, pk=pk)  # type: ignore[return-value]


@community_view(Perm.MODERATE_BOARD)
def board(request: HttpRequest, community_id: int) -> HttpResponse:
    settings_row = life_settings(community_id)
    settings_form = LifeSettingsForm(
        initial={
            "sensitive_words": settings_row.sensitive_words,
            "posts_per_hour": settings_row.posts_per_hour,
            "replies_per_hour": settings_row.replies_per_hour,
            "reports_to_hide": settings_row.reports_to_hide,
            "fen_per_point": settings_row.fen_per_point,
        }
    )
    ban_form = BanForm()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action in ("hide", "restore", "review"):
                item = _board_item(request)
                reason = ReasonForm(request.POST)
                text = reason.cleaned_data["reason"] if reason.is_valid() else ""
                if action == "hide":
                    services.hide_item(item, reason=text or _("Hidden by a moderator"), actor=actor(request))
                elif action == "restore":
                    services.restore_item(item, actor=actor(request))
                else:
                    services.mark_reviewed(item, actor=actor(request))
                return redirect("console:community_board", community_id=community_id)
            if action == "ban":
                ban_form = BanForm(request.POST)
                if ban_form.is_valid():
                    person = get_object_or_404(Person, pk=ban_form.cleaned_data["person"])
                    services.ban_person(
                        person=person,
                        days=ban_form.cleaned_data["days"],
                        reason=ban_form.cleaned_data["reason"],
                        actor=actor(request),
                    )
                    messages.success(
                        request,
                        _("%(name)s may not post for %(days)d days.")
                        % {"name": person.name, "days": ban_form.cleaned_data["days"]},
                    )
                    return redirect("console:community_board", community_id=community_id)
                messages.error(request, _("Give the number of days (1 to 365) and a reason."))
            elif action == "lift":
                try:
                    ban_pk = int(request.POST.get("ban", ""))
                except ValueError:
                    ban_pk = 0
                services.lift_ban(get_object_or_404(Ban, pk=ban_pk), actor=actor(request))
                return redirect("console:community_board", community_id=community_id)
            elif action == "settings":
                settings_form = LifeSettingsForm(request.POST)
                if settings_form.is_valid():
                    services.update_life_settings(
                        community=current_community(request), actor=actor(request), **settings_form.cleaned_data
                    )
                    messages.success(request, _("The settings have been saved."))
                    return redirect("console:community_board", community_id=community_id)
            else:
                messages.error(request, _("Unknown action."))
        except DomainError as exc:
            messages.error(request, str(exc.message))
    posts, replies = services.board.moderation_queue(community_id)
    hidden_posts = Post.objects.filter(status="hidden").select_related("author").order_by("-created_at")[:50]
    recent = Post.objects.select_related("author").annotate(replies_total=Count("replies")).order_by("-created_at")[:30]
    bans = Ban.objects.filter(lifted_at__isnull=True, until__gt=timezone.now()).select_related("person")
    return render_console(
        request,
        "community/console/board.html",
        community_id,
        posts=list(posts[:100]),
        replies=list(replies[:100]),
        hidden_posts=list(hidden_posts),
        recent=list(recent),
        bans=list(bans),
        settings_form=settings_form,
        ban_form=ban_form,
    )


@community_view(Perm.MODERATE_BOARD)
def post_image(request: HttpRequest, community_id: int, post_id: int) -> HttpResponse:
    from anju.community.views.common import image_response

    return image_response(get_object_or_404(Post, pk=post_id).image)


# --- Points and rewards --------------------------------------------------------------------------


@community_view(Perm.MANAGE_POINTS)
def points(request: HttpRequest, community_id: int) -> HttpResponse:
    rule_form, reward_form, award_form = RuleForm(prefix="rule"), RewardForm(), AwardForm()
    community = current_community(request)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "rule":
                rule_form = RuleForm(request.POST, prefix="rule")
                if rule_form.is_valid():
                    services.set_points_rule(
                        community=community,
                        action=rule_form.cleaned_data["action"],
                        points=rule_form.cleaned_data["points"],
                        effective_from=rule_form.cleaned_data["effective_from"],
                        actor=actor(request),
                    )
                    return redirect("console:community_points", community_id=community_id)
            elif action == "reward":
                reward_form = RewardForm(request.POST)
                if reward_form.is_valid():
                    services.create_reward(community=community, actor=actor(request), **reward_form.cleaned_data)
                    return redirect("console:community_points", community_id=community_id)
            elif action == "restock":
                reward = get_object_or_404(Reward, pk=_int(request.POST.get("reward")))
                services.restock_reward(reward, add=_int(request.POST.get("add")), actor=actor(request))
                return redirect("console:community_points", community_id=community_id)
            elif action in ("hand_over", "cancel_redemption"):
                redemption = get_object_or_404(Redemption, pk=_int(request.POST.get("redemption")))
                if action == "hand_over":
                    services.hand_over_redemption(redemption, actor=actor(request))
                else:
                    services.cancel_redemption(
                        redemption, reason=_("Cancelled at the service desk"), actor=actor(request)
                    )
                return redirect("console:community_points", community_id=community_id)
            elif action in ("verify", "dismiss"):
                report = get_object_or_404(HazardReport, pk=_int(request.POST.get("report")))
                services.decide_hazard_report(report, verified=action == "verify", actor=actor(request))
                return redirect("console:community_points", community_id=community_id)
            elif action == "award":
                award_form = AwardForm(request.POST)
                if award_form.is_valid():
                    person = find_person_by_phone(community_id, award_form.cleaned_data["phone"])
                    if person is None:
                        raise DomainError(
                            _("No one with this mobile number is recorded in this community."), field="phone"
                        )
                    services.award_points(
                        person=person,
                        amount=award_form.cleaned_data["amount"],
                        reason=award_form.cleaned_data["reason"],
                        source_ref="",
                        actor=actor(request),
                    )
                    messages.success(request, _("Points awarded to %(name)s.") % {"name": person.name})
                    return redirect("console:community_points", community_id=community_id)
            elif action == "reverse":
                entry = get_object_or_404(PointsEntry, pk=_int(request.POST.get("entry")))
                services.reverse_entry(
                    entry, reason=request.POST.get("reason", "")[:200] or _("Correction"), actor=actor(request)
                )
                return redirect("console:community_points", community_id=community_id)
            else:
                messages.error(request, _("Unknown action."))
        except DomainError as exc:
            target = {"rule": rule_form, "reward": reward_form, "award": award_form}.get(action or "")
            if target is not None:
                add_domain_error(target, exc)
            else:
                messages.error(request, str(exc.message))
    now = timezone.now()
    in_force = {action: services.points.rule_points(community_id, action, now) for action in PointsRule.Action.values}
    return render_console(
        request,
        "community/console/points.html",
        community_id,
        rule_form=rule_form,
        reward_form=reward_form,
        award_form=award_form,
        rules=list(PointsRule.objects.order_by("action", "-effective_from", "-pk")[:60]),
        in_force=[(PointsRule.Action(a).label, in_force[a]) for a in PointsRule.Action.values],
        defaults=DEFAULT_POINTS,
        rewards=list(Reward.objects.order_by("cost", "name")),
        redemptions=list(Redemption.objects.select_related("person", "reward", "home")[:100]),
        reports=list(HazardReport.objects.select_related("reporter").filter(status="open")[:100]),
        entries=list(
            PointsEntry.objects.select_related("person").filter(reversed_by__isnull=True).exclude(kind="reversal")[:50]
        ),
    )


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


# --- Surveys ---------------------------------------------------------------------------------------


@community_view(Perm.MANAGE_SURVEYS)
def surveys(request: HttpRequest, community_id: int) -> HttpResponse:
    form = SurveyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            questions: list[QuestionSpec] = parse_questions(data["questions"])
            survey = services.create_survey(
                community=current_community(request),
                title=data["title"],
                description=data["description"],
                kind=data["kind"],
                per=data["per"],
                anonymous=data["anonymous"],
                closes_at=data["closes_at"],
                questions=questions,
                actor=actor(request),
            )
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            return redirect("console:community_survey", community_id=community_id, survey_id=survey.pk)
    rows = list(Survey.objects.annotate(response_count=Count("responses")).order_by("-opens_at", "-pk")[:100])
    satisfaction = services.satisfaction(community_id)
    return render_console(
        request, "community/console/surveys.html", community_id, form=form, rows=rows, satisfaction=satisfaction
    )


@community_view(Perm.MANAGE_SURVEYS)
def survey_detail(request: HttpRequest, community_id: int, survey_id: int) -> HttpResponse:
    survey = get_object_or_404(Survey, pk=survey_id)
    results = services.survey_results(survey)
    charts = [
        (result, bar_chart(result.counts, title=result.question.text) if result.counts else "")
        for result in results.questions
    ]
    return render_console(
        request, "community/console/survey.html", community_id, survey=survey, results=results, charts=charts
    )
