"""The work order, its state machine, its timeline (events), photos and follow-up visits.

The state machine is declared here with django-fsm-2 and nothing else: each transition method only
names its source and target states (and the conditions under which it may run). What a transition
*does* — who may call it, the timestamps, the event row, the audit entry, the notifications — lives
in :mod:`anju.workorders.services`, which is the only caller of these methods.

::

    submitted ─accept→ accepted ─assign/grab/auto→ assigned ─start→ in_progress ─resolve→ resolved
        │                 ▲  ▲                        │  ▲ │           │ ▲                  │
        └─reject→ rejected│  └──────return (退单)── returned   transfer→ transferred  pause/resume
                          │                                                      confirm (or auto) ↓
    reopened ←─dispute (within N days)── resolved / confirmed            confirmed ─rate/close→ closed
    cancelled ← any state before work starts
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from anju.core.tenancy import scoped_manager
from anju.workorders.models.config import Category, Kind, Priority


class State(models.TextChoices):
    SUBMITTED = "submitted", _("submitted")
    ACCEPTED = "accepted", _("accepted")
    ASSIGNED = "assigned", _("assigned")
    TRANSFERRED = "transferred", _("transferred")
    IN_PROGRESS = "in_progress", _("in progress")
    PAUSED = "paused", _("paused")
    RESOLVED = "resolved", _("resolved")
    CONFIRMED = "confirmed", _("confirmed")
    CLOSED = "closed", _("closed")
    REJECTED = "rejected", _("rejected")
    CANCELLED = "cancelled", _("cancelled")
    RETURNED = "returned", _("returned")
    REOPENED = "reopened", _("reopened")


class Source(models.TextChoices):
    RESIDENT = "resident", _("resident")
    STAFF = "staff", _("staff")
    ALARM = "alarm", _("device alarm")
    PLAN = "plan", _("plan")


class QuoteState(models.TextChoices):
    NONE = "", _("no quote")
    PENDING = "pending", _("awaiting the resident")
    ACCEPTED = "accepted", _("accepted")
    DECLINED = "declined", _("declined")


#: Waiting for someone to take the job (a dispatcher, a grabbing technician, the automatic rule).
DISPATCHABLE_STATES = (State.ACCEPTED, State.RETURNED, State.REOPENED)
#: Held by a technician who has not started yet.
HELD_STATES = (State.ASSIGNED, State.TRANSFERRED)
#: The job is being worked on.
WORKING_STATES = (State.IN_PROGRESS, State.PAUSED)
#: Every state whose SLA clocks are running: the set the sweep and the board's "open" count use.
OPEN_STATES = (State.SUBMITTED, *DISPATCHABLE_STATES, *HELD_STATES, *WORKING_STATES)
#: Whose response clock runs (nobody on site yet), and whose resolution clock runs (paused orders
#: have theirs stopped: the deadline moves on when they resume).
RESPONSE_CLOCK_STATES = (State.SUBMITTED, *DISPATCHABLE_STATES, *HELD_STATES)
RESOLUTION_CLOCK_STATES = (*RESPONSE_CLOCK_STATES, State.IN_PROGRESS)
#: Before anyone began the work: the resident or staff may still cancel.
CANCELLABLE_STATES = (State.SUBMITTED, *DISPATCHABLE_STATES, *HELD_STATES)
FINAL_STATES = (State.CLOSED, State.REJECTED, State.CANCELLED)
#: The order of the staff board's columns.
BOARD_STATES = (
    State.SUBMITTED,
    State.ACCEPTED,
    State.RETURNED,
    State.REOPENED,
    State.ASSIGNED,
    State.TRANSFERRED,
    State.IN_PROGRESS,
    State.PAUSED,
    State.RESOLVED,
    State.CONFIRMED,
)


def _quote_settled(order: models.Model) -> bool:
    """Work may start unless a quote awaits the resident or was declined."""
    return getattr(order, "quote_state", "") not in (QuoteState.PENDING, QuoteState.DECLINED)


class WorkOrderQuerySet(models.QuerySet["WorkOrder"]):
    def open(self) -> WorkOrderQuerySet:
        return self.filter(state__in=OPEN_STATES)

    def for_board(self) -> WorkOrderQuerySet:
        """What a card or a list row shows. Two joins in the main query and the places fetched by id
        in three small queries: with seven joins PostgreSQL spent longer planning the query (tens of
        milliseconds) than running it."""
        from anju.estates.models import Home

        return self.select_related("category", "assignee").prefetch_related(
            models.Prefetch("home", queryset=Home.objects.select_related("building", "unit")),
            "building",
            "common_part",
        )

    def response_overdue(self, now: Any = None) -> WorkOrderQuerySet:
        """Nobody on site yet and past the response deadline, not yet escalated for it."""
        now = now or timezone.now()
        return self.filter(
            state__in=RESPONSE_CLOCK_STATES,
            response_due_at__lt=now,
            response_escalated_at__isnull=True,
        )

    def resolution_overdue(self, now: Any = None) -> WorkOrderQuerySet:
        """Still open past the resolution deadline, not yet escalated for it. A paused order's
        deadline is moved on when it resumes, so paused orders are left alone meanwhile."""
        now = now or timezone.now()
        return self.filter(
            state__in=RESOLUTION_CLOCK_STATES,
            resolution_due_at__lt=now,
            resolution_escalated_at__isnull=True,
        )


class WorkOrder(ConcurrentTransitionMixin, models.Model):
    """A repair, complaint, suggestion or enquiry (报修 / 投诉 / 建议 / 咨询) and its whole loop.

    ``ConcurrentTransitionMixin`` makes every save filter on the state it was read in, so two people
    acting on the same order at once cannot both win: the second gets ``ConcurrentTransition``
    (a :class:`~anju.core.errors.Conflict` to the caller)."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.REPAIR)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="orders")
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    state = FSMField(_("state"), max_length=20, choices=State.choices, default=State.SUBMITTED, protected=True)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.STAFF)
    source_ref = models.CharField(
        _("source reference"),
        max_length=100,
        blank=True,
        help_text=_("The alarm or plan occurrence that generated the order (``alarm:42``); unique in a community."),
    )
    description = models.TextField(_("description"), max_length=2000)
    home = models.ForeignKey("estates.Home", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    building = models.ForeignKey("estates.Building", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    common_part = models.ForeignKey(
        "estates.CommonPart", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    location_note = models.CharField(_("where exactly"), max_length=200, blank=True)
    preferred_time = models.CharField(_("preferred time"), max_length=100, blank=True)
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="reported_orders"
    )
    contact_name = models.CharField(_("contact"), max_length=100, blank=True)
    filed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="assigned_orders"
    )
    created_at = models.DateTimeField(_("reported at"), default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(_("work started"), null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    response_due_at = models.DateTimeField(_("response due"), null=True, blank=True)
    resolution_due_at = models.DateTimeField(_("resolution due"), null=True, blank=True)
    sla_policy = models.ForeignKey(
        "workorders.SlaPolicy", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    response_escalated_at = models.DateTimeField(null=True, blank=True)
    resolution_escalated_at = models.DateTimeField(null=True, blank=True)
    reopen_count = models.PositiveSmallIntegerField(default=0)
    resolution_note = models.TextField(_("what was done"), blank=True, max_length=2000)
    quote_fen = models.PositiveIntegerField(_("quote (fen)"), null=True, blank=True)
    quote_note = models.CharField(_("quote details"), max_length=200, blank=True)
    quote_state = models.CharField(_("quote"), max_length=10, choices=QuoteState.choices, default="", blank=True)
    charged_at = models.DateTimeField(_("handed to billing"), null=True, blank=True)
    auto_confirmed = models.BooleanField(default=False)
    rating = models.PositiveSmallIntegerField(
        _("rating"), null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    rating_comment = models.CharField(_("comment"), max_length=500, blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)

    objects = scoped_manager(WorkOrderQuerySet)

    class Meta:
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["community", "source_ref"], condition=~models.Q(source_ref=""), name="wo_source_ref_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5), name="wo_rating_range"
            ),
        ]
        indexes = [
            models.Index(fields=["community", "state", "created_at"], name="wo_board"),
            models.Index(fields=["community", "created_at"], name="wo_list"),
            models.Index(fields=["community", "assignee", "state"], name="wo_assignee"),
            models.Index(fields=["community", "reporter", "created_at"], name="wo_reporter"),
            # The SLA sweep's two reads: only open, not yet escalated orders are in these indexes
            # (a few thousand of a community's hundreds of thousands), ordered by deadline.
            models.Index(
                fields=["response_due_at"],
                condition=models.Q(response_escalated_at__isnull=True, state__in=RESPONSE_CLOCK_STATES),
                name="wo_response_clock",
            ),
            models.Index(
                fields=["resolution_due_at"],
                condition=models.Q(resolution_escalated_at__isnull=True, state__in=RESOLUTION_CLOCK_STATES),
                name="wo_resolution_clock",
            ),
            models.Index(fields=["state", "resolved_at"], name="wo_state_resolved"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.category.name if self.category_id else ''}"

    @property
    def number(self) -> str:
        """What residents and staff quote on the phone."""
        return f"{self.pk:06d}" if self.pk else ""

    @property
    def location_label(self) -> str:
        if self.home_id:
            return self.home.label  # type: ignore[union-attr]
        parts = []
        if self.common_part_id:
            parts.append(str(self.common_part))
        elif self.building_id:
            parts.append(str(self.building))
        if self.location_note:
            parts.append(self.location_note)
        return " · ".join(parts)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    # --- transitions: declaration only; services.transitions carries them out ---------------------

    @transition(field=state, source=State.SUBMITTED, target=State.ACCEPTED)
    def accept(self) -> None: ...

    @transition(field=state, source=[State.SUBMITTED, State.ACCEPTED], target=State.REJECTED)
    def reject(self) -> None: ...

    @transition(field=state, source=list(CANCELLABLE_STATES), target=State.CANCELLED)
    def cancel(self) -> None: ...

    @transition(field=state, source=list(DISPATCHABLE_STATES), target=State.ASSIGNED)
    def assign(self) -> None: ...

    @transition(field=state, source=[*HELD_STATES, *WORKING_STATES], target=State.TRANSFERRED)
    def transfer(self) -> None: ...

    @transition(field=state, source=list(HELD_STATES), target=State.RETURNED)
    def give_back(self) -> None: ...

    @transition(field=state, source=list(HELD_STATES), target=State.IN_PROGRESS, conditions=[_quote_settled])
    def start(self) -> None: ...

    @transition(field=state, source=State.IN_PROGRESS, target=State.PAUSED)
    def pause(self) -> None: ...

    @transition(field=state, source=State.PAUSED, target=State.IN_PROGRESS)
    def resume(self) -> None: ...

    @transition(field=state, source=State.IN_PROGRESS, target=State.RESOLVED)
    def resolve(self) -> None: ...

    @transition(field=state, source=State.RESOLVED, target=State.CONFIRMED)
    def confirm(self) -> None: ...

    @transition(field=state, source=[State.RESOLVED, State.CONFIRMED], target=State.REOPENED)
    def dispute(self) -> None: ...

    @transition(field=state, source=State.CONFIRMED, target=State.CLOSED)
    def close(self) -> None: ...


class WorkOrderEvent(models.Model):
    """One line of an order's timeline: every transition, quote, photo, escalation, rating and note.
    Appended, never edited."""

    class Kind(models.TextChoices):
        CREATED = "created", _("reported")
        ACCEPTED = "accepted", _("accepted")
        REJECTED = "rejected", _("rejected")
        CANCELLED = "cancelled", _("cancelled")
        ASSIGNED = "assigned", _("assigned")
        GRABBED = "grabbed", _("taken")
        TRANSFERRED = "transferred", _("transferred")
        RETURNED = "returned", _("handed back")
        STARTED = "started", _("work started")
        PAUSED = "paused", _("paused")
        RESUMED = "resumed", _("resumed")
        RESOLVED = "resolved", _("resolved")
        CONFIRMED = "confirmed", _("confirmed")
        AUTO_CONFIRMED = "auto_confirmed", _("confirmed automatically")
        DISPUTED = "disputed", _("disputed and reopened")
        CLOSED = "closed", _("closed")
        RATED = "rated", _("rated")
        QUOTED = "quoted", _("quoted")
        QUOTE_ACCEPTED = "quote_accepted", _("quote accepted")
        QUOTE_DECLINED = "quote_declined", _("quote declined")
        CHARGED = "charged", _("handed to billing")
        PHOTO = "photo", _("photo added")
        ESCALATED = "escalated", _("escalated")
        COMMENT = "comment", _("note")
        FOLLOW_UP = "follow_up", _("follow-up visit")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    from_state = models.CharField(max_length=20, blank=True)
    to_state = models.CharField(max_length=20, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    note = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("work order event")
        verbose_name_plural = _("work order events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["order", "at"])]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind}"


def photo_path(instance: WorkOrderPhoto, filename: str) -> str:
    """Random names under the community and month: nothing guessable, nothing from the upload."""
    import uuid

    now = timezone.now()
    ext = instance.extension or "bin"
    return f"workorders/{instance.community_id}/{now:%Y/%m}/{uuid.uuid4().hex}.{ext}"


class WorkOrderPhoto(models.Model):
    """A photo of the problem (reported) or of the result (after the work), checked by Pillow and
    stored through Django's storage API (disk now, object storage by configuration)."""

    class Stage(models.TextChoices):
        REPORT = "report", _("reported")
        RESULT = "result", _("result")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="photos")
    stage = models.CharField(max_length=10, choices=Stage.choices, default=Stage.REPORT)
    file = models.FileField(upload_to=photo_path, max_length=200)
    extension = models.CharField(max_length=5)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("work order photo")
        verbose_name_plural = _("work order photos")
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return str(self.file.name or "")


class FollowUp(models.Model):
    """A return visit or call (回访) by the steward after a low rating or for a sample of the rest."""

    class Reason(models.TextChoices):
        LOW_RATING = "low_rating", _("low rating")
        SAMPLE = "sample", _("random sample")

    class Status(models.TextChoices):
        OPEN = "open", _("to do")
        DONE = "done", _("done")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    order = models.OneToOneField(WorkOrder, on_delete=models.CASCADE, related_name="follow_up")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    due_on = models.DateField(_("due on"))
    outcome = models.TextField(_("outcome"), blank=True, max_length=2000)
    resident_satisfied = models.BooleanField(_("resident satisfied"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = scoped_manager()

    class Meta:
        verbose_name = _("follow-up visit")
        verbose_name_plural = _("follow-up visits")
        ordering = ["status", "due_on", "id"]
        indexes = [models.Index(fields=["community", "status", "assignee"])]

    def __str__(self) -> str:
        return f"{self.order_id} {self.reason}"
