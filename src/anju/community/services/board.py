"""The neighbour board: posting, replying, reporting, moderating, banning, settings.

Text goes through the community's sensitive-word filter before it is stored: each listed word is
masked with asterisks and the item is flagged for a moderator's look (it stays visible; masking is
the filter's whole effect). Posting is rate-limited per person and hour (counted from the stored
rows, so the limit holds across processes). When enough different residents report an item
(``reports_to_hide``) it is hidden until staff review it. Hidden items disappear for residents
and stay, marked, for moderators.
"""

from __future__ import annotations

import datetime as dt
import re

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.community.models import Ban, LifeSettings, Post, Reply, Report, Visibility
from anju.community.services.activities import clean_image
from anju.community.services.common import is_building_leader, require_text, snapshot
from anju.community.services.points import life_settings
from anju.core import audit
from anju.core.errors import Conflict, DomainError, PermissionDenied
from anju.core.models import User
from anju.core.tenancy import community_scope
from anju.estates.models import Community
from anju.residents.models import Person

MAX_BAN_DAYS = 365


class Banned(PermissionDenied):
    code = "banned"
    default_message = _("You may not post on the board at the moment.")


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"
    default_message = _("You are posting too often; please wait a while.")


def mask_sensitive(text: str, words: list[str]) -> tuple[str, bool]:
    """``text`` with every listed word (case-insensitive) replaced by as many ``*``; and whether any was."""
    words = sorted({w for w in words if w}, key=len, reverse=True)
    if not words:
        return text, False
    pattern = re.compile("|".join(re.escape(word) for word in words), re.IGNORECASE)
    masked, count = pattern.subn(lambda match: "*" * len(match.group(0)), text)
    return masked, count > 0


def active_ban(person: Person, at: dt.datetime | None = None) -> Ban | None:
    moment = at or timezone.now()
    with community_scope(person.community_id):
        return Ban.objects.filter(person=person, until__gt=moment, lifted_at__isnull=True).order_by("-until").first()


def _guard(person: Person, model: type[Post] | type[Reply], limit: int) -> None:
    ban = active_ban(person)
    if ban is not None:
        raise Banned(
            _("You may not post on the board until %(until)s.")
            % {"until": timezone.localtime(ban.until).strftime("%Y-%m-%d %H:%M")}
        )
    since = timezone.now() - dt.timedelta(hours=1)
    if model.objects.filter(author=person, created_at__gte=since).count() >= limit:
        raise RateLimited()


@transaction.atomic
def create_post(
    *, person: Person, category: str, title: str, body: str, image: UploadedFile | None = None, actor: User | None
) -> Post:
    if category not in Post.Category.values:
        raise DomainError(_("Choose a category."), code="unknown_category", field="category")
    title = require_text(title, "title", max_length=80, message=_("A title is required."))
    body = require_text(body, "body", max_length=2000, message=_("Write something."))
    picture = clean_image(image) if image is not None else None
    settings = life_settings(person.community_id)
    with community_scope(person.community_id):
        _guard(person, Post, settings.posts_per_hour)
        words = settings.word_list()
        title, title_hit = mask_sensitive(title, words)
        body, body_hit = mask_sensitive(body, words)
        post = Post(
            community_id=person.community_id,
            author=person,
            category=category,
            title=title,
            body=body,
            filtered=title_hit or body_hit,
        )
        if picture is not None:
            post.image.save(picture.name or "image.jpg", picture, save=False)
        post.save(force_insert=True)
        audit.record(actor=actor, action="board.post", obj=post, after=snapshot(post))
    return post


@transaction.atomic
def create_reply(*, post: Post, person: Person, body: str, actor: User | None) -> Reply:
    if person.community_id != post.community_id:
        raise DomainError(_("This post is not on your community's board."), code="foreign_post")
    body = require_text(body, "body", max_length=1000, message=_("Write something."))
    settings = life_settings(person.community_id)
    with community_scope(person.community_id):
        if not Post.objects.filter(pk=post.pk, status=Visibility.VISIBLE).exists():
            raise Conflict(_("This post is hidden; replies are closed."), code="post_hidden")
        _guard(person, Reply, settings.replies_per_hour)
        body, hit = mask_sensitive(body, settings.word_list())
        reply = Reply.objects.create(
            community_id=person.community_id, post=post, author=person, body=body, filtered=hit
        )
        audit.record(actor=actor, action="board.reply", obj=reply, after=audit.snapshot(reply))
    return reply


@transaction.atomic
def report_item(*, item: Post | Reply, person: Person, reason: str = "", actor: User | None) -> bool:
    """A resident reports a post or reply (once each). Returns True if this report hid the item."""
    if person.community_id != item.community_id:
        raise DomainError(_("This post is not on your community's board."), code="foreign_post")
    if item.author_id == person.pk:
        raise DomainError(_("You cannot report your own post."), code="own_post")
    model = type(item)
    settings = life_settings(person.community_id)
    with community_scope(person.community_id):
        try:
            with transaction.atomic():
                report = Report.objects.create(
                    community_id=person.community_id,
                    reporter=person,
                    reason=(reason or "").strip()[:200],
                    **({"post": item} if isinstance(item, Post) else {"reply": item}),
                )
        except IntegrityError:
            raise Conflict(_("You have already reported this."), code="already_reported") from None
        model.objects.filter(pk=item.pk).update(report_count=F("report_count") + 1, reviewed_at=None)
        audit.record(actor=actor, action="board.report", obj=report, after={"item": f"{model.__name__}:{item.pk}"})
        hidden = (
            model.objects.filter(
                pk=item.pk, status=Visibility.VISIBLE, report_count__gte=settings.reports_to_hide
            ).update(status=Visibility.HIDDEN, hidden_reason=str(_("Hidden after reports, awaiting review")))
            == 1
        )
        item.refresh_from_db()
    return hidden


def can_moderate(access_has_perm: bool, person: Person | None) -> bool:
    """Staff holding MODERATE_BOARD, and the community's current building leaders, moderate."""
    return access_has_perm or (person is not None and is_building_leader(person))


@transaction.atomic
def hide_item(item: Post | Reply, *, reason: str, actor: User | None) -> Post | Reply:
    reason = require_text(reason, "reason", max_length=200, message=_("Say why it is hidden."))
    with community_scope(item.community_id):
        before = item.status
        type(item).objects.filter(pk=item.pk).update(
            status=Visibility.HIDDEN, hidden_reason=reason, moderated_by=actor, reviewed_at=timezone.now()
        )
        item.refresh_from_db()
        audit.record(
            actor=actor,
            action="board.hide",
            obj=item,
            before={"status": before},
            after={"status": item.status, "reason": reason},
        )
    return item


@transaction.atomic
def restore_item(item: Post | Reply, *, actor: User | None) -> Post | Reply:
    with community_scope(item.community_id):
        before = item.status
        type(item).objects.filter(pk=item.pk).update(
            status=Visibility.VISIBLE, hidden_reason="", moderated_by=actor, reviewed_at=timezone.now()
        )
        item.refresh_from_db()
        audit.record(
            actor=actor, action="board.restore", obj=item, before={"status": before}, after={"status": item.status}
        )
    return item


@transaction.atomic
def mark_reviewed(item: Post | Reply, *, actor: User | None) -> Post | Reply:
    """A moderator looked at a flagged or reported item and leaves it as it is."""
    with community_scope(item.community_id):
        type(item).objects.filter(pk=item.pk).update(reviewed_at=timezone.now(), moderated_by=actor)
        item.refresh_from_db()
        audit.record(actor=actor, action="board.review", obj=item, after={"status": item.status})
    return item


@transaction.atomic
def ban_person(*, person: Person, days: int, reason: str, actor: User | None) -> Ban:
    if not isinstance(days, int) or not 1 <= days <= MAX_BAN_DAYS:
        raise DomainError(_("A ban lasts from 1 to 365 days."), field="days")
    reason = require_text(reason, "reason", max_length=200, message=_("Say why."))
    with community_scope(person.community_id):
        ban = Ban.objects.create(
            community_id=person.community_id,
            person=person,
            until=timezone.now() + dt.timedelta(days=days),
            reason=reason,
            banned_by=actor,
        )
        audit.record(actor=actor, action="board.ban", obj=ban, after=audit.snapshot(ban))
    return ban


@transaction.atomic
def lift_ban(ban: Ban, *, actor: User | None) -> Ban:
    with community_scope(ban.community_id):
        Ban.objects.filter(pk=ban.pk, lifted_at__isnull=True).update(lifted_at=timezone.now())
        ban.refresh_from_db()
        audit.record(
            actor=actor,
            action="board.lift_ban",
            obj=ban,
            after={"lifted_at": ban.lifted_at.isoformat() if ban.lifted_at else None},
        )
    return ban


@transaction.atomic
def update_life_settings(*, community: Community, actor: User | None, **changes: object) -> LifeSettings:
    """Change the community's board and points settings (sensitive words, limits, fee value of a point)."""
    allowed = {"sensitive_words", "posts_per_hour", "replies_per_hour", "reports_to_hide", "fen_per_point"}
    unknown = set(changes) - allowed
    if unknown:
        raise DomainError(_("These settings cannot be changed here."), code="unknown_setting")
    with community_scope(community.pk):
        row, _created = LifeSettings.objects.get_or_create(community=community)
        before = audit.snapshot(row)
        for name, value in changes.items():
            if name == "sensitive_words":
                value = "\n".join(w.strip() for w in str(value).splitlines() if w.strip())[:20000]
            elif not isinstance(value, int) or not 1 <= value <= 10000:
                raise DomainError(_("Give a whole number from 1 to 10000."), field=name)
            setattr(row, name, value)
        row.updated_at = timezone.now()
        row.save()
        old, new = audit.changed(before, audit.snapshot(row))
        audit.record(actor=actor, action="community.settings", obj=row, before=old, after=new)
    return row


def visible_posts(community_ids: list[int] | set[int]) -> QuerySet[Post]:
    """What residents see: visible posts of their communities (call inside their scope)."""
    return Post.objects.filter(community_id__in=community_ids, status=Visibility.VISIBLE)


def moderation_queue(community_id: int) -> tuple[QuerySet[Post], QuerySet[Reply]]:
    """Items a moderator should look at: hidden, reported or filtered and not reviewed since."""
    attention = Q(reviewed_at__isnull=True) & (Q(status=Visibility.HIDDEN) | Q(report_count__gt=0) | Q(filtered=True))
    with community_scope(community_id):
        posts = Post.objects.filter(attention).select_related("author").order_by("-created_at")
        replies = Reply.objects.filter(attention).select_related("author", "post").order_by("-created_at")
    return posts, replies
