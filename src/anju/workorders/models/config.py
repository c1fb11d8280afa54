"""How a community runs its work orders: categories, SLA policies, working calendars, technicians'
skills and the per-community settings (auto-confirm and dispute windows, follow-up sampling)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.core.tenancy import scoped_manager


class Kind(models.TextChoices):
    REPAIR = "repair", _("repair")
    COMPLAINT = "complaint", _("complaint")
    SUGGESTION = "suggestion", _("suggestion")
    ENQUIRY = "enquiry", _("enquiry")


class Priority(models.TextChoices):
    URGENT = "urgent", _("urgent")
    HIGH = "high", _("high")
    NORMAL = "normal", _("normal")
    LOW = "low", _("low")


class DispatchMode(models.TextChoices):
    ASSIGN = "assign", _("assigned by a dispatcher")
    GRAB = "grab", _("grabbed by a technician")
    ROUND_ROBIN = "round_robin", _("round-robin")
    AUTO = "auto", _("automatic by skill, load and building")


class WorkingCalendar(models.Model):
    """Working hours for categories whose deadlines only run while staff are on duty (e.g. greenery:
    Monday to Friday 08:30-17:30). Times are local (Asia/Shanghai); ``holidays`` lists ISO dates
    that are days off, ``extra_workdays`` weekend days worked instead (调休)."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=60)
    weekdays = models.JSONField(_("working weekdays"), default=list, help_text=_("0 = Monday … 6 = Sunday."))
    starts_at = models.TimeField(_("day starts"), default=dt.time(8, 30))
    ends_at = models.TimeField(_("day ends"), default=dt.time(17, 30))
    holidays = models.JSONField(_("holidays"), default=list, blank=True)
    extra_workdays = models.JSONField(_("extra working days"), default=list, blank=True)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("working calendar")
        verbose_name_plural = _("working calendars")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["community", "name"], name="wo_calendar_name_unique"),
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="wo_calendar_day_ordered"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    """What an order is about (水电, 门锁, 电梯 …) and how it is dispatched. Per community, created
    with the defaults on first use; ``code`` is stable and used by other apps (alarms, plans)."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=60)
    dispatch_mode = models.CharField(
        _("dispatch"), max_length=20, choices=DispatchMode.choices, default=DispatchMode.ASSIGN
    )
    skill = models.SlugField(
        _("skill"), max_length=40, blank=True, help_text=_("Technicians with this skill are preferred; empty: anyone.")
    )
    default_priority = models.CharField(
        _("default priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL
    )
    calendar = models.ForeignKey(
        WorkingCalendar,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="categories",
        help_text=_("Deadlines count only working hours of this calendar; empty: around the clock."),
    )
    paid_by_default = models.BooleanField(
        _("paid repair"), default=False, help_text=_("Work inside a home, charged after a quote the resident accepts.")
    )
    active = models.BooleanField(_("active"), default=True)
    sort_order = models.PositiveSmallIntegerField(default=100)
    # Round-robin position: the user id of the last technician given an order of this category.
    last_assignee_id = models.BigIntegerField(null=True, blank=True, editable=False)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("work order category")
        verbose_name_plural = _("work order categories")
        ordering = ["sort_order", "code"]
        constraints = [models.UniqueConstraint(fields=["community", "code"], name="wo_category_code_unique")]

    def __str__(self) -> str:
        return self.name


class SlaPolicy(models.Model):
    """Response and resolution deadlines for a category (or every category, when empty) and a
    priority, effective from a moment on. A change adds a row: an order keeps the deadlines of the
    policy in force when it was reported, and history stays explainable."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    category = models.ForeignKey(Category, null=True, blank=True, on_delete=models.PROTECT, related_name="sla_policies")
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices)
    response_minutes = models.PositiveIntegerField(_("on site within (minutes)"), validators=[MinValueValidator(1)])
    resolution_minutes = models.PositiveIntegerField(_("resolved within (minutes)"), validators=[MinValueValidator(1)])
    effective_from = models.DateTimeField(_("effective from"), default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = scoped_manager()

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["category", "priority", "-effective_from"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(resolution_minutes__gte=models.F("response_minutes")),
                name="wo_sla_resolution_after_response",
            ),
            models.CheckConstraint(condition=models.Q(response_minutes__gt=0), name="wo_sla_response_positive"),
        ]
        indexes = [models.Index(fields=["community", "category", "priority", "effective_from"])]

    def __str__(self) -> str:
        return f"{self.category or '*'} · {self.priority} · {self.response_minutes}/{self.resolution_minutes}"


class TechnicianProfile(models.Model):
    """What a technician can do and where they usually work, for automatic dispatch. Without a
    profile a technician counts as able to take any category anywhere."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="technician_profiles")
    skills = models.JSONField(_("skills"), default=list, blank=True)
    building_ids = models.JSONField(_("buildings"), default=list, blank=True)
    on_duty = models.BooleanField(_("on duty"), default=True)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("technician profile")
        verbose_name_plural = _("technician profiles")
        constraints = [models.UniqueConstraint(fields=["community", "user"], name="wo_technician_unique")]

    def __str__(self) -> str:
        return str(self.user)


class WorkOrderSettings(models.Model):
    """Per-community rules of the loop; the defaults are common practice, not law."""

    community = models.OneToOneField("estates.Community", on_delete=models.PROTECT, related_name="+")
    auto_confirm_days = models.PositiveSmallIntegerField(
        _("auto-confirm after (days)"),
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(60)],
        help_text=_("A resolved order the resident neither confirms nor disputes is confirmed automatically."),
    )
    dispute_days = models.PositiveSmallIntegerField(
        _("disputes accepted for (days)"),
        default=7,
        validators=[MinValueValidator(1), MaxValueValidator(90)],
        help_text=_("How long after resolution the resident may reopen the order."),
    )
    low_rating_max = models.PositiveSmallIntegerField(
        _("follow up ratings up to"), default=3, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    follow_up_sample_percent = models.PositiveSmallIntegerField(
        _("also follow up a sample of (%)"), default=10, validators=[MaxValueValidator(100)]
    )

    objects = scoped_manager()

    class Meta:
        verbose_name = _("work order settings")
        verbose_name_plural = _("work order settings")

    def __str__(self) -> str:
        return str(self.community_id)
