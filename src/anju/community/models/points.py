"""Points (积分): rules, an append-only ledger, balances, rewards and redemptions, hazard reports."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.core.tenancy import scoped_manager


class PointsRule(models.Model):
    """How many points an action earns from ``effective_from`` on. A manager changes a rule by adding
    a newer row; old rows stay, so every past award can be explained."""

    class Action(models.TextChoices):
        CHECK_IN = "check_in", _("checking in at an activity")
        VOLUNTEER_HOUR = "volunteer_hour", _("each hour of volunteer work")
        HAZARD_REPORT = "hazard_report", _("a verified hazard report")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    points = models.PositiveIntegerField(_("points"))
    effective_from = models.DateTimeField(_("effective from"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager()

    class Meta:
        ordering = ["action", "-effective_from", "-pk"]

    def __str__(self) -> str:
        return f"{self.action}={self.points}"


class PointsAccount(models.Model):
    """A person's balance: a running total of their :class:`PointsEntry` rows, kept in the same
    transaction as each entry and never below zero (a database constraint, and a conditional UPDATE
    when spending). It is a cache of the ledger: :func:`ledger_balance` recomputes it."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    person = models.OneToOneField("residents.Person", on_delete=models.PROTECT, related_name="points_account")
    balance = models.IntegerField(default=0)
    earned_total = models.IntegerField(default=0)

    objects = scoped_manager()

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(balance__gte=0), name="points_balance_not_negative")]

    def __str__(self) -> str:
        return f"{self.person_id}: {self.balance}"


class PointsEntry(models.Model):
    """One movement of points. Never edited or deleted: a mistake is corrected by a reversal entry
    (``reverses``) of the opposite amount. ``source_ref`` makes awards and spends idempotent."""

    class Kind(models.TextChoices):
        EARN = "earn", _("earned")
        SPEND = "spend", _("spent")
        REVERSAL = "reversal", _("correction")
        ADJUSTMENT = "adjustment", _("adjustment")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey("residents.Person", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    amount = models.IntegerField(_("points"))
    balance_after = models.IntegerField()
    reason = models.CharField(_("reason"), max_length=200)
    source_ref = models.CharField(max_length=100, blank=True)
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["community", "source_ref"], condition=~models.Q(source_ref=""), name="points_entry_source_once"
            ),
            models.CheckConstraint(condition=~models.Q(amount=0), name="points_entry_not_zero"),
            models.CheckConstraint(condition=models.Q(balance_after__gte=0), name="points_entry_balance_not_negative"),
        ]
        indexes = [models.Index(fields=["person", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.person_id} {self.amount:+d}"


class Reward(models.Model):
    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=80)
    description = models.CharField(_("description"), max_length=300, blank=True)
    cost = models.PositiveIntegerField(_("points needed"))
    stock = models.PositiveIntegerField(_("in stock"), default=0)
    active = models.BooleanField(_("offered"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager()

    class Meta:
        ordering = ["cost", "name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(cost__gte=1), name="reward_cost_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class Redemption(models.Model):
    """Points exchanged for a reward (collected at the service desk) or for a fee discount."""

    class Status(models.TextChoices):
        PENDING = "pending", _("to collect")
        HANDED_OVER = "handed_over", _("handed over")
        CANCELLED = "cancelled", _("cancelled")
        CREDITED = "credited", _("credited to fees")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    person = models.ForeignKey("residents.Person", on_delete=models.PROTECT, related_name="+")
    reward = models.ForeignKey(Reward, null=True, blank=True, on_delete=models.PROTECT, related_name="redemptions")
    home = models.ForeignKey("estates.Home", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    points = models.PositiveIntegerField(_("points"))
    credit_fen = models.PositiveIntegerField(default=0)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    entry = models.OneToOneField(PointsEntry, on_delete=models.PROTECT, related_name="redemption")
    created_at = models.DateTimeField(default=timezone.now)
    handed_over_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = scoped_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.person_id}: {self.points}"


class HazardReport(models.Model):
    """A resident's report of a hazard (a loose cover, a blocked fire exit). Staff verify it (points
    are awarded) or dismiss it."""

    class Status(models.TextChoices):
        OPEN = "open", _("to check")
        VERIFIED = "verified", _("verified")
        DISMISSED = "dismissed", _("dismissed")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    reporter = models.ForeignKey("residents.Person", on_delete=models.PROTECT, related_name="+")
    place = models.CharField(_("where"), max_length=120)
    description = models.TextField(_("what"), max_length=1000)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = scoped_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.place
