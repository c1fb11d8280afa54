"""The neighbour board (邻里互动): posts, replies, reports, bans, and the community's own settings."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.core.tenancy import scoped_manager

#: The starting list of words the board masks; each community edits its own copy. Kept short and
#: uncontroversial (abuse, scams, gambling, drugs); operators add local terms.
DEFAULT_SENSITIVE_WORDS = "\n".join(
    [
        "傻逼",
        "操你",
        "他妈的",
        "去死",
        "赌博",
        "博彩",
        "六合彩",
        "代开发票",
        "办证",
        "贷款秒批",
        "刷单",
        "兼职日结",
        "毒品",
        "冰毒",
        "枪支",
    ]
)


class LifeSettings(models.Model):
    """Per-community settings of this app. A community without a row uses the field defaults."""

    community = models.OneToOneField("estates.Community", on_delete=models.PROTECT, related_name="+")
    sensitive_words = models.TextField(
        _("sensitive words"),
        blank=True,
        default=DEFAULT_SENSITIVE_WORDS,
        help_text=_("One word or phrase per line. They are masked with asterisks in posts and replies."),
    )
    posts_per_hour = models.PositiveSmallIntegerField(_("posts per person per hour"), default=5)
    replies_per_hour = models.PositiveSmallIntegerField(_("replies per person per hour"), default=30)
    reports_to_hide = models.PositiveSmallIntegerField(
        _("reports that hide a post until reviewed"),
        default=3,
        help_text=_("When this many different residents report a post or reply, it is hidden until staff review it."),
    )
    fen_per_point = models.PositiveIntegerField(
        _("fee discount per point (fen)"),
        default=1,
        help_text=_("How many fen of property fees one point is worth when a resident uses points as a discount."),
    )
    updated_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("community life settings")
        verbose_name_plural = _("community life settings")

    def __str__(self) -> str:
        return str(self.community_id)

    def word_list(self) -> list[str]:
        return [word.strip() for word in self.sensitive_words.splitlines() if word.strip()]


class Visibility(models.TextChoices):
    VISIBLE = "visible", _("visible")
    HIDDEN = "hidden", _("hidden")


class Post(models.Model):
    class Category(models.TextChoices):
        MUTUAL_HELP = "mutual_help", _("mutual help")
        LOST_FOUND = "lost_found", _("lost and found")
        SECOND_HAND = "second_hand", _("second-hand")
        SUGGESTION = "suggestion", _("suggestions")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    author = models.ForeignKey("residents.Person", on_delete=models.PROTECT, related_name="+")
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    title = models.CharField(_("title"), max_length=80)
    body = models.TextField(_("text"), max_length=2000)
    image = models.ImageField(upload_to="community/board/%Y/%m/", blank=True)
    status = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.VISIBLE)
    # Set when the sensitive-word filter masked something: the post is listed for a moderator's look.
    filtered = models.BooleanField(default=False)
    report_count = models.PositiveIntegerField(default=0)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    hidden_reason = models.CharField(_("reason"), max_length=200, blank=True)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["community", "status", "-created_at"])]

    def __str__(self) -> str:
        return self.title


class Reply(models.Model):
    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    post = models.ForeignKey(Post, on_delete=models.PROTECT, related_name="replies")
    author = models.ForeignKey("residents.Person", on_delete=models.PROTECT, related_name="+")
    body = models.TextField(_("text"), max_length=1000)
    status = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.VISIBLE)
    filtered = models.BooleanField(default=False)
    report_count = models.PositiveIntegerField(default=0)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    hidden_reason = models.CharField(_("reason"), max_length=200, blank=True)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.body[:40]


class Report(models.Model):
    """A resident's report of a post or a reply. One per reporter and item."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    post = models.ForeignKey(Post, null=True, blank=True, on_delete=models.PROTECT, related_name="reports")
    reply = models.ForeignKey(Reply, null=True, blank=True, on_delete=models.PROTECT, related_name="reports")
    reporter = models.ForeignKey("residents.Person", on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(post__isnull=False) & models.Q(reply__isnull=True))
                | (models.Q(post__isnull=True) & models.Q(reply__isnull=False)),
                name="board_report_post_xor_reply",
            ),
            models.UniqueConstraint(
                fields=["post", "reporter"], condition=models.Q(post__isnull=False), name="board_report_post_once"
            ),
            models.UniqueConstraint(
                fields=["reply", "reporter"], condition=models.Q(reply__isnull=False), name="board_report_reply_once"
            ),
        ]

    def __str__(self) -> str:
        return self.reason


class Ban(models.Model):
    """A person may not post or reply on the board until ``until``. Lifting one sets ``lifted_at``."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey("residents.Person", on_delete=models.PROTECT, related_name="+")
    until = models.DateTimeField(_("until"))
    reason = models.CharField(_("reason"), max_length=200)
    banned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    lifted_at = models.DateTimeField(null=True, blank=True)

    objects = scoped_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.person_id} → {self.until:%Y-%m-%d}"
