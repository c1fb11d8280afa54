"""Announcements (通知公告): who they reach, when, and who has read them."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.core.tenancy import scoped_manager


class AnnouncementQuerySet(models.QuerySet["Announcement"]):
    def live(self, at: dt.datetime | None = None) -> AnnouncementQuerySet:
        """Published by ``at`` (now by default), not withdrawn and not yet expired."""
        moment = at or timezone.now()
        return self.filter(publish_at__lte=moment, withdrawn_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=moment)
        )

    def board_order(self) -> AnnouncementQuerySet:
        """Pinned first, then urgent, then newest: the order of a physical notice board."""
        return self.order_by("-pinned", "-urgent", "-publish_at", "-pk")


class Announcement(models.Model):
    """A notice to a community, or to some of its buildings, units or groups of people.

    Audience: with no building or unit targets, the whole community; otherwise the union of the
    targeted buildings and units. Within that, the groups flagged ``to_*`` (owners and co-owners,
    tenants, family members, the community's staff). History is kept: withdrawing sets
    ``withdrawn_at``, nothing is deleted.
    """

    class Category(models.TextChoices):
        NOTICE = "notice", _("notice")
        OUTAGE = "outage", _("outage")
        SAFETY = "safety", _("safety")
        FEES = "fees", _("fees")
        ELECTIONS = "elections", _("elections")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("text"))
    category = models.CharField(_("category"), max_length=20, choices=Category.choices, default=Category.NOTICE)
    urgent = models.BooleanField(_("urgent"), default=False)
    pinned = models.BooleanField(_("pinned"), default=False)
    to_owners = models.BooleanField(_("owners"), default=True)
    to_tenants = models.BooleanField(_("tenants"), default=True)
    to_family = models.BooleanField(_("family members"), default=True)
    to_staff = models.BooleanField(_("staff"), default=False)
    # True when building/unit targets exist: lets the audience query skip a join for community-wide notices.
    targeted = models.BooleanField(default=False, editable=False)
    publish_at = models.DateTimeField(_("publish at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    # Set when the audience has been notified (at publication, or by the sweep for scheduled ones).
    notified_at = models.DateTimeField(null=True, blank=True, editable=False)
    source_ref = models.CharField(_("source reference"), max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager(AnnouncementQuerySet)

    class Meta:
        verbose_name = _("announcement")
        verbose_name_plural = _("announcements")
        ordering = ["-pinned", "-publish_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["community", "source_ref"],
                condition=~models.Q(source_ref=""),
                name="announcement_source_ref_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=models.F("publish_at")),
                name="announcement_expires_after_publish",
            ),
        ]
        indexes = [models.Index(fields=["community", "publish_at"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_live(self) -> bool:
        now = timezone.now()
        return (
            self.publish_at <= now and self.withdrawn_at is None and (self.expires_at is None or self.expires_at > now)
        )

    @property
    def is_scheduled(self) -> bool:
        return self.withdrawn_at is None and self.publish_at > timezone.now()


class AnnouncementTarget(models.Model):
    """One building or one unit an announcement is addressed to (exactly one of the two)."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    announcement = models.ForeignKey(Announcement, on_delete=models.CASCADE, related_name="targets")
    building = models.ForeignKey("estates.Building", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey("estates.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    objects = scoped_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(building__isnull=False) & models.Q(unit__isnull=True))
                | (models.Q(building__isnull=True) & models.Q(unit__isnull=False)),
                name="announcement_target_building_xor_unit",
            )
        ]

    def __str__(self) -> str:
        return str(self.building or self.unit)


class AnnouncementAttachment(models.Model):
    """A file attached to an announcement (a PDF, a picture, a spreadsheet), kept in Django storage
    under a random name and served only through a view that checks who is asking."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    announcement = models.ForeignKey(Announcement, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="community/attachments/%Y/%m/")
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class AnnouncementRead(models.Model):
    """A read receipt: ``person`` (a resident of the announcement's community, through ``user``'s
    account) opened it at ``read_at``. One per person and announcement; the first read counts."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    announcement = models.ForeignKey(Announcement, on_delete=models.CASCADE, related_name="reads")
    person = models.ForeignKey("residents.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["announcement", "user"], name="announcement_read_once")]

    def __str__(self) -> str:
        return f"{self.announcement_id}:{self.user_id}"
