"""Activities (社区活动) and volunteering: sign-ups with a waitlist, QR check-in, photos, hours."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.core.tenancy import scoped_manager


def _checkin_token() -> str:
    return secrets.token_urlsafe(16)


class Activity(models.Model):
    class Kind(models.TextChoices):
        EVENT = "event", _("event")
        VOLUNTEER = "volunteer", _("volunteer work")

    class VolunteerWork(models.TextChoices):
        NONE = "", _("not volunteer work")
        PATROL = "patrol", _("safety patrol")
        CLEAN_UP = "clean_up", _("clean-up")
        GARBAGE_SORTING = "garbage_sorting", _("garbage-sorting promotion")
        ELDERLY_VISIT = "elderly_visit", _("visiting elderly neighbours")
        OTHER = "other", _("other volunteer work")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("title"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.EVENT)
    volunteer_work = models.CharField(
        _("volunteer work"), max_length=20, choices=VolunteerWork.choices, blank=True, default=""
    )
    place = models.CharField(_("place"), max_length=120)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    capacity = models.PositiveIntegerField(_("places"))
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # The secret in the QR code posted at the door; rotating it invalidates printed posters.
    checkin_token = models.CharField(max_length=40, default=_checkin_token, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    organizer = models.ForeignKey(
        "residents.Person",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("The building leader who organises it, when not the property company."),
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["starts_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="activity_ends_after_start"
            ),
            models.CheckConstraint(condition=models.Q(capacity__gte=1), name="activity_capacity_positive"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_volunteer(self) -> bool:
        return self.kind == self.Kind.VOLUNTEER

    @property
    def planned_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


class SignupQuerySet(models.QuerySet["Signup"]):
    def active(self) -> SignupQuerySet:
        return self.exclude(status=Signup.Status.CANCELLED)


class Signup(models.Model):
    """A person's place at an activity: confirmed, on the waitlist (in ``queued_at`` order), or
    cancelled. Promotion from the waitlist happens inside the cancellation's transaction, under the
    activity's row lock (see :mod:`anju.community.services.activities`)."""

    class Status(models.TextChoices):
        CONFIRMED = "confirmed", _("confirmed")
        WAITLISTED = "waitlisted", _("on the waitlist")
        CANCELLED = "cancelled", _("cancelled")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    activity = models.ForeignKey(Activity, on_delete=models.PROTECT, related_name="signups")
    person = models.ForeignKey("residents.Person", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    queued_at = models.DateTimeField(default=timezone.now)
    promoted_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    volunteer_minutes = models.PositiveIntegerField(_("volunteer minutes"), default=0)

    objects = scoped_manager(SignupQuerySet)

    class Meta:
        ordering = ["queued_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["activity", "person"],
                condition=~models.Q(status="cancelled"),
                name="signup_one_active_per_person",
            )
        ]
        indexes = [models.Index(fields=["activity", "status", "queued_at"])]

    def __str__(self) -> str:
        return f"{self.person_id}@{self.activity_id}:{self.status}"


class ActivityPhoto(models.Model):
    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    activity = models.ForeignKey(Activity, on_delete=models.PROTECT, related_name="photos")
    image = models.ImageField(upload_to="community/activities/%Y/%m/")
    caption = models.CharField(_("caption"), max_length=120, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager()

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.caption or str(self.pk)
