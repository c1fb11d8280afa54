"""Rules (versioned templates and per-device overrides), per-device rule state, alarms and their
timelines.

Invariants the database holds:

* at most one *open* alarm (active, acknowledged, in progress) per (device, alarm type): a partial
  unique constraint, whatever the number of ingest workers;
* at most one *current* rule version per (community, device kind, key) for templates and per
  (device, key) for overrides: partial unique constraints on ``effective_to IS NULL``. A rule row is
  never edited: a change closes the current version (``effective_to``) and inserts the next one.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.core.tenancy import scoped_manager
from anju.devices.alarms.catalogue import SEVERITY_LABELS, alarm_type


class Severity(models.TextChoices):
    CRITICAL = "critical", SEVERITY_LABELS["critical"]
    MAJOR = "major", SEVERITY_LABELS["major"]
    MINOR = "minor", SEVERITY_LABELS["minor"]
    WARNING = "warning", SEVERITY_LABELS["warning"]


class RuleKind(models.TextChoices):
    THRESHOLD = "threshold", _("threshold")
    DURATION = "duration", _("duration")
    REPEAT = "repeat", _("repeat count")
    RATE = "rate", _("rate of change")
    NO_DATA = "no_data", _("no data")
    EVENT_CODE = "event_code", _("event codes")
    ANOMALY = "anomaly", _("statistical anomaly")


class Rule(models.Model):
    """One version of a community's rule template for a device kind (``device`` empty) or of one
    device's override (``device`` set). The built-in templates in :mod:`.catalogue` are version 0."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    device_kind = models.CharField(_("device kind"), max_length=40)
    device = models.ForeignKey(
        "devices.Device", null=True, blank=True, on_delete=models.PROTECT, related_name="alarm_rules"
    )
    key = models.CharField(_("rule"), max_length=40)
    version = models.PositiveIntegerField(_("version"))
    kind = models.CharField(_("kind"), max_length=20, choices=RuleKind.choices)
    alarm_type = models.CharField(_("alarm type"), max_length=60, blank=True)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    params = models.JSONField(_("parameters"), default=dict)
    enabled = models.BooleanField(_("enabled"), default=True)
    suppressible = models.BooleanField(_("suppressed in maintenance mode"), default=True)
    effective_from = models.DateTimeField(_("effective from"), default=timezone.now)
    effective_to = models.DateTimeField(_("effective until"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(_("reason for the change"), max_length=200, blank=True)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("alarm rule")
        verbose_name_plural = _("alarm rules")
        ordering = ["device_kind", "key", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["community", "device_kind", "key"],
                condition=Q(device__isnull=True, effective_to__isnull=True),
                name="alarm_rule_one_current_template",
            ),
            models.UniqueConstraint(
                fields=["device", "key"],
                condition=Q(device__isnull=False, effective_to__isnull=True),
                name="alarm_rule_one_current_override",
            ),
            models.UniqueConstraint(
                fields=["community", "device_kind", "key", "version"],
                condition=Q(device__isnull=True),
                name="alarm_rule_template_version_unique",
            ),
            models.UniqueConstraint(
                fields=["device", "key", "version"],
                condition=Q(device__isnull=False),
                name="alarm_rule_override_version_unique",
            ),
        ]
        indexes = [models.Index(fields=["community", "effective_to"])]

    def __str__(self) -> str:
        return f"{self.device_kind}/{self.key} v{self.version}"


class DeviceRuleState(models.Model):
    """The memory of one device's rules (``{rule key: state}``), and the lock that serialises every
    alarm write for the device across ingest workers (see :mod:`.pipeline`)."""

    device = models.OneToOneField("devices.Device", primary_key=True, on_delete=models.CASCADE, related_name="+")
    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    state = models.JSONField(default=dict)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("device rule state")
        verbose_name_plural = _("device rule states")

    def __str__(self) -> str:
        return str(self.device_id)


class AlarmState(models.TextChoices):
    ACTIVE = "active", _("active")
    ACKNOWLEDGED = "acknowledged", _("acknowledged")
    IN_PROGRESS = "in_progress", _("in progress")
    CLEARED = "cleared", _("cleared")
    RESOLVED = "resolved", _("resolved")


OPEN_STATES = (AlarmState.ACTIVE, AlarmState.ACKNOWLEDGED, AlarmState.IN_PROGRESS)


class Outcome(models.TextChoices):
    NONE = "", _("—")
    FIXED = "fixed", _("fixed")
    FALSE_ALARM = "false_alarm", _("false alarm")
    NO_ACTION = "no_action", _("no action needed")


class Review(models.TextChoices):
    NONE = "", _("not needed")
    PENDING = "pending", _("awaiting a decision")
    CONFIRMED = "confirmed", _("confirmed")
    FALSE = "false", _("false alarm")


class AlarmQuerySet(models.QuerySet["Alarm"]):
    def open(self) -> AlarmQuerySet:
        return self.filter(state__in=OPEN_STATES)


class Alarm(models.Model):
    """One problem on one device, from its first occurrence until it clears or someone resolves it.

    ``repeat_count`` counts the occurrences folded into it (a camera re-posting "active", a fault
    code re-sent, a condition that cleared and came back within the rule's flap window)."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    device = models.ForeignKey("devices.Device", on_delete=models.PROTECT, related_name="alarms")
    alarm_type = models.CharField(_("alarm type"), max_length=60)
    severity = models.CharField(_("severity"), max_length=10, choices=Severity.choices)
    state = models.CharField(_("state"), max_length=20, choices=AlarmState.choices, default=AlarmState.ACTIVE)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True, default="")
    message = models.CharField(_("details"), max_length=300, blank=True)
    attrs = models.JSONField(default=dict, blank=True)
    rule_key = models.CharField(_("rule"), max_length=40, blank=True)
    rule_version = models.PositiveIntegerField(null=True, blank=True)
    dedupe_key = models.CharField(max_length=100, blank=True)
    repeat_count = models.PositiveIntegerField(_("occurrences"), default=1)
    first_occurred_at = models.DateTimeField(_("first occurred"))
    last_occurred_at = models.DateTimeField(_("last occurred"))
    raised_at = models.DateTimeField(_("raised"), default=timezone.now)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_alarms"
    )
    cleared_at = models.DateTimeField(_("cleared"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Cameras: no "inactive" may ever come; the sweep clears after this much silence.
    silence_seconds = models.PositiveIntegerField(null=True, blank=True)
    snapshot = models.CharField(_("snapshot"), max_length=300, blank=True)
    review = models.CharField(_("review"), max_length=10, choices=Review.choices, blank=True, default="")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(_("escalation level"), default=0)
    escalated_at = models.DateTimeField(null=True, blank=True)
    # When the after-commit dispatch (work order, duty staff, outage notice) claimed this alarm.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # The work order a critical alarm opened (the order refers back with source_ref "alarm:<id>").
    work_order = models.ForeignKey(
        "workorders.WorkOrder", null=True, blank=True, on_delete=models.SET_NULL, related_name="alarms"
    )
    notice_ref = models.CharField(max_length=60, blank=True)

    objects = scoped_manager(AlarmQuerySet)

    class Meta:
        verbose_name = _("alarm")
        verbose_name_plural = _("alarms")
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["device", "alarm_type"],
                condition=Q(state__in=OPEN_STATES),
                name="alarm_one_open_per_device_type",
            ),
        ]
        indexes = [
            models.Index(fields=["community", "state", "-raised_at"]),
            models.Index(fields=["device", "cleared_at"], condition=Q(state="cleared"), name="alarm_recently_cleared"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {alarm_type(self.alarm_type).label}"

    @property
    def type_label(self) -> str:
        return str(alarm_type(self.alarm_type).label)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class AlarmEvent(models.Model):
    """The alarm's timeline: what happened to it, when, by whom."""

    class Kind(models.TextChoices):
        RAISED = "raised", _("raised")
        REOPENED = "reopened", _("came back")
        ACKNOWLEDGED = "acknowledged", _("acknowledged")
        ASSIGNED = "assigned", _("assigned")
        STARTED = "started", _("work started")
        CLEARED = "cleared", _("cleared")
        RESOLVED = "resolved", _("resolved")
        ESCALATED = "escalated", _("escalated")
        WORK_ORDER = "work_order", _("work order opened")
        NOTIFIED = "notified", _("duty staff notified")
        REVIEWED = "reviewed", _("reviewed")
        NOTICE = "notice", _("residents told")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("alarm event")
        verbose_name_plural = _("alarm events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.alarm_id} {self.kind} {self.at.isoformat()}"
