"""Preventive work: inspection routes, points, plans and rounds; maintenance plans for equipment.

Inspection: a :class:`Route` is an ordered walk through :class:`Point` s, each placed at a building,
unit or common part and carrying an unguessable ``token`` printed as a QR code on a sticker there.
An :class:`InspectionPlan` says when the route is walked (its :class:`InspectionSchedule` versions:
daily, weekly or monthly, a local time window, the role or person assigned). The periodic job turns
each plan day into one :class:`Round`; a patroller checks in at each point by scanning its QR code
(:class:`CheckIn`, one per point and round, with a finding). A round whose window closes before every
point was checked is flagged missed, once.

Maintenance: a :class:`MaintenancePlan` keeps a piece of equipment (a common part such as a lift or
the fire system, or a registered device) serviced at an interval (:class:`MaintenanceSchedule`
versions). For each due date the periodic job opens a work order ahead of time and records a
:class:`MaintenanceVisit`; a visit whose order is not finished by its due date is flagged overdue,
once, and the manager is told.

Schedules are effective-dated: editing one adds a version from a day on; rounds and visits already
made keep the version that made them.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.core.models import Role
from anju.core.tenancy import scoped_manager
from anju.workorders.preventive import schedules

# --- Inspection ----------------------------------------------------------------------------------


class Route(models.Model):
    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("inspection route")
        verbose_name_plural = _("inspection routes")
        ordering = ["name", "pk"]
        constraints = [models.UniqueConstraint(fields=["community", "name"], name="preventive_route_name_unique")]

    def __str__(self) -> str:
        return self.name


class Point(models.Model):
    """A place on a route. Its ``token`` is what the QR sticker there encodes: 20 characters drawn
    by :func:`secrets.choice` from a 32-letter alphabet (100 bits), so it cannot be guessed, only
    read at the spot. Reissuing the sticker (a copied or damaged one) replaces the token."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    route = models.ForeignKey(Route, on_delete=models.PROTECT, related_name="points")
    position = models.PositiveSmallIntegerField(_("position"), default=1)
    name = models.CharField(_("name"), max_length=100)
    building = models.ForeignKey("estates.Building", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey("estates.Unit", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    common_part = models.ForeignKey(
        "estates.CommonPart", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    checklist = models.TextField(_("what to check"), blank=True)
    token = models.CharField(max_length=32, unique=True, editable=False)
    active = models.BooleanField(_("active"), default=True)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("inspection point")
        verbose_name_plural = _("inspection points")
        ordering = ["route", "position", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def place(self) -> str:
        """Where the point is, for lists and the printed sheet."""
        if self.common_part_id:
            return str(self.common_part)
        if self.unit_id:
            return f"{self.unit.building.number}栋{self.unit.number}单元"  # type: ignore[union-attr]
        if self.building_id:
            return f"{self.building.number}栋"  # type: ignore[union-attr]
        return ""

    @property
    def code_for_typing(self) -> str:
        """The token in groups of four, printed under the QR code for when the camera cannot read it."""
        return "-".join(self.token[i : i + 4] for i in range(0, len(self.token), 4))


class Frequency(models.TextChoices):
    DAILY = schedules.DAILY, _("daily")
    WEEKLY = schedules.WEEKLY, _("weekly")
    MONTHLY = schedules.MONTHLY, _("monthly")


WEEKDAY_NAMES = [
    (1, _("Monday")),
    (2, _("Tuesday")),
    (3, _("Wednesday")),
    (4, _("Thursday")),
    (5, _("Friday")),
    (6, _("Saturday")),
    (7, _("Sunday")),
]


class InspectionPlan(models.Model):
    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    route = models.ForeignKey(Route, on_delete=models.PROTECT, related_name="plans")
    name = models.CharField(_("name"), max_length=100)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("inspection plan")
        verbose_name_plural = _("inspection plans")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name


class InspectionSchedule(models.Model):
    """One version of a plan's schedule, in force from ``effective_from`` until the next version."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(InspectionPlan, on_delete=models.PROTECT, related_name="schedules")
    effective_from = models.DateField(_("effective from"))
    frequency = models.CharField(_("frequency"), max_length=10, choices=Frequency.choices)
    weekdays = models.JSONField(_("weekdays"), default=list, blank=True)
    month_days = models.JSONField(_("days of the month"), default=list, blank=True)
    window_start = models.TimeField(_("window opens"))
    window_end = models.TimeField(_("window closes"))
    assignee_role = models.CharField(_("assigned role"), max_length=20, choices=Role.choices, default=Role.GUARD)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = scoped_manager()

    class Meta:
        verbose_name = _("inspection schedule")
        verbose_name_plural = _("inspection schedules")
        ordering = ["plan", "effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "effective_from"], name="preventive_schedule_once_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.plan} · {self.effective_from.isoformat()}"

    def rule(self) -> schedules.RoundRule:
        return schedules.RoundRule(
            frequency=self.frequency,
            weekdays=frozenset(int(d) for d in self.weekdays or ()),
            month_days=frozenset(int(d) for d in self.month_days or ()),
            window_start=self.window_start,
            window_end=self.window_end,
        )

    def version(self) -> schedules.Version[schedules.RoundRule]:
        return schedules.Version(self.effective_from, self.rule(), self.pk)

    @property
    def weekday_labels(self) -> list[str]:
        names = dict(WEEKDAY_NAMES)
        return [str(names[int(day)]) for day in self.weekdays or () if int(day) in names]


class RoundQuerySet(models.QuerySet["Round"]):
    def open(self) -> RoundQuerySet:
        return self.filter(state__in=(Round.State.SCHEDULED, Round.State.IN_PROGRESS))

    def of_day(self, day: dt.date, now: dt.datetime) -> RoundQuerySet:
        """The rounds of local ``day``, cancelled ones left out. On today's list, a night round that
        began yesterday and is still open (22:00-02:00 seen at 00:10) is listed too: it is what
        the guard is walking now."""
        rounds = Q(day=day)
        if day == timezone.localdate(now):
            rounds |= Q(day__lt=day, window_starts_at__lte=now, window_ends_at__gt=now)
        return self.filter(rounds).exclude(state=Round.State.CANCELLED)


class Round(models.Model):
    """One walk of a route on one local day, as its schedule version planned it."""

    class State(models.TextChoices):
        SCHEDULED = "scheduled", _("scheduled")
        IN_PROGRESS = "in_progress", _("in progress")
        COMPLETED = "completed", _("completed")
        MISSED = "missed", _("missed")
        CANCELLED = "cancelled", _("cancelled")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(InspectionPlan, on_delete=models.PROTECT, related_name="rounds")
    schedule = models.ForeignKey(InspectionSchedule, on_delete=models.PROTECT, related_name="rounds")
    route = models.ForeignKey(Route, on_delete=models.PROTECT, related_name="rounds")
    day = models.DateField(_("day"))
    window_starts_at = models.DateTimeField(_("window opens"))
    window_ends_at = models.DateTimeField(_("window closes"))
    assignee_role = models.CharField(_("assigned role"), max_length=20, choices=Role.choices)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    points_expected = models.PositiveSmallIntegerField(_("points to check"))
    points_checked = models.PositiveSmallIntegerField(_("points checked"), default=0)
    problems_found = models.PositiveSmallIntegerField(_("problems found"), default=0)
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.SCHEDULED)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    missed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager(RoundQuerySet)

    class Meta:
        verbose_name = _("inspection round")
        verbose_name_plural = _("inspection rounds")
        ordering = ["-day", "window_starts_at", "pk"]
        constraints = [
            # One live round per plan and day: the generator may run twice at once and retry.
            models.UniqueConstraint(
                fields=["plan", "day"], condition=~Q(state="cancelled"), name="preventive_round_once_per_day"
            ),
            models.CheckConstraint(
                condition=Q(window_ends_at__gt=models.F("window_starts_at")), name="preventive_round_window_ordered"
            ),
        ]
        indexes = [
            models.Index(fields=["community", "day"]),
            models.Index(fields=["state", "window_ends_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.plan} · {self.day.isoformat()}"

    def is_open_at(self, moment: dt.datetime) -> bool:
        return self.window_starts_at <= moment < self.window_ends_at


class CheckIn(models.Model):
    """A patroller at a point during a round, proved by the point's token, with what they found."""

    class Result(models.TextChoices):
        OK = "ok", _("all in order")
        PROBLEM = "problem", _("problem found")

    class Method(models.TextChoices):
        SCAN = "scan", _("scanned the QR code")
        TYPED = "typed", _("typed the code")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="checkins")
    point = models.ForeignKey(Point, on_delete=models.PROTECT, related_name="checkins")
    checked_at = models.DateTimeField(default=timezone.now)
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    method = models.CharField(max_length=10, choices=Method.choices, default=Method.SCAN)
    result = models.CharField(_("finding"), max_length=10, choices=Result.choices)
    note = models.TextField(_("note"), blank=True)
    photo = models.ImageField(_("photo"), upload_to="preventive/%Y/%m/", blank=True)
    work_order_ref = models.CharField(max_length=80, blank=True, help_text="source_ref of the work order opened")

    objects = scoped_manager()

    class Meta:
        verbose_name = _("check-in")
        verbose_name_plural = _("check-ins")
        ordering = ["checked_at", "pk"]
        constraints = [models.UniqueConstraint(fields=["round", "point"], name="preventive_checkin_once")]

    def __str__(self) -> str:
        return f"{self.round} · {self.point}"


# --- Maintenance ---------------------------------------------------------------------------------


class MaintenanceKind(models.TextChoices):
    LIFT_MAINTENANCE = "lift_maintenance", _("lift maintenance (every 15 days)")
    LIFT_INSPECTION = "lift_inspection", _("lift periodic inspection (yearly)")
    FIRE_CHECK = "fire_check", _("fire system check (monthly)")
    FIRE_TEST = "fire_test", _("fire system test (yearly)")
    PUMP_SERVICE = "pump_service", _("water pump service")
    OTHER = "other", _("other maintenance")


class IntervalUnit(models.TextChoices):
    DAYS = schedules.DAYS, _("days")
    MONTHS = schedules.MONTHS, _("months")
    YEARS = schedules.YEARS, _("years")


class MaintenancePlanQuerySet(models.QuerySet["MaintenancePlan"]):
    def active(self) -> MaintenancePlanQuerySet:
        return self.filter(active=True)


class MaintenancePlan(models.Model):
    """Keeping one piece of equipment serviced. ``statutory`` marks work the law requires (lift
    maintenance and inspection under TSG T5002 / TSG T7001, fire-system checks under GB 25201):
    such a plan may be re-timed but never switched off while the equipment is in use."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=30, choices=MaintenanceKind.choices)
    statutory = models.BooleanField(_("required by law"), default=False)
    common_part = models.ForeignKey(
        "estates.CommonPart", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    device = models.ForeignKey(
        "devices.Device", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("device")
    )
    category_code = models.CharField(_("work-order category"), max_length=40)
    lead_days = models.PositiveSmallIntegerField(
        _("open the work order this many days ahead"), default=3, validators=[MaxValueValidator(90)]
    )
    instructions = models.TextField(_("instructions"), blank=True)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager(MaintenancePlanQuerySet)

    class Meta:
        verbose_name = _("maintenance plan")
        verbose_name_plural = _("maintenance plans")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def equipment(self) -> str:
        """The registered device when there is one, else the common part."""
        if self.device_id:
            return str(self.device)
        return str(self.common_part) if self.common_part_id else ""


class MaintenanceSchedule(models.Model):
    """One version of a maintenance interval. ``effective_from`` is the version's first due date:
    its due dates are ``effective_from + k × interval`` until the next version's first due date."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(MaintenancePlan, on_delete=models.PROTECT, related_name="schedules")
    effective_from = models.DateField(_("first due date"))
    every = models.PositiveSmallIntegerField(_("every"), validators=[MinValueValidator(1), MaxValueValidator(3650)])
    unit = models.CharField(_("unit"), max_length=10, choices=IntervalUnit.choices)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = scoped_manager()

    class Meta:
        verbose_name = _("maintenance schedule")
        verbose_name_plural = _("maintenance schedules")
        ordering = ["plan", "effective_from"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "effective_from"], name="preventive_mschedule_once_per_day"),
            models.CheckConstraint(condition=Q(every__gte=1), name="preventive_mschedule_every_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.plan} · {self.effective_from.isoformat()}"

    def interval(self) -> schedules.Interval:
        return schedules.Interval(self.every, self.unit)

    def version(self) -> schedules.Version[schedules.Interval]:
        return schedules.Version(self.effective_from, self.interval(), self.pk)


class VisitQuerySet(models.QuerySet["MaintenanceVisit"]):
    def pending(self) -> VisitQuerySet:
        return self.filter(state__in=(MaintenanceVisit.State.SCHEDULED, MaintenanceVisit.State.OVERDUE))


class MaintenanceVisit(models.Model):
    """One due date of a maintenance plan and the work order opened for it."""

    class State(models.TextChoices):
        SCHEDULED = "scheduled", _("scheduled")
        OVERDUE = "overdue", _("overdue")
        DONE = "done", _("done")
        CANCELLED = "cancelled", _("cancelled")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    plan = models.ForeignKey(MaintenancePlan, on_delete=models.PROTECT, related_name="visits")
    schedule = models.ForeignKey(MaintenanceSchedule, on_delete=models.PROTECT, related_name="visits")
    due_on = models.DateField(_("due on"))
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.SCHEDULED)
    work_order_ref = models.CharField(max_length=80, blank=True)
    work_order_id = models.BigIntegerField(null=True, blank=True)
    overdue_flagged_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager(VisitQuerySet)

    class Meta:
        verbose_name = _("maintenance visit")
        verbose_name_plural = _("maintenance visits")
        ordering = ["-due_on", "pk"]
        constraints = [models.UniqueConstraint(fields=["plan", "due_on"], name="preventive_visit_once_per_due_date")]
        indexes = [models.Index(fields=["state", "due_on"])]

    def __str__(self) -> str:
        return f"{self.plan} · {self.due_on.isoformat()}"
