"""Bill runs, bills and their lines.

A bill run issues one bill per home for a community and period (a calendar month, stored as its first
day). A home has at most one periodic bill per period (a database constraint), which is what makes
re-running a period create nothing new. One-off charges (a paid repair, a late fee) are bills of kind
``one_off`` carrying a ``source_ref`` unique per community. Amounts are integer fen; ``paid_fen`` is
kept between 0 and ``total_fen`` by a database check and advanced by the payments app with
conditional updates.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.core.tenancy import scoped_manager


class BillRun(models.Model):
    """One community's billing of one period: previewed, then issued (in chunks, showing progress)."""

    class Status(models.TextChoices):
        PREVIEW = "preview", _("previewed")
        ISSUING = "issuing", _("issuing")
        ISSUED = "issued", _("issued")
        FAILED = "failed", _("failed")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    period = models.DateField(_("period"), help_text=_("The first day of the month billed."))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PREVIEW)
    fee_model = models.CharField(_("fee model"), max_length=20, blank=True)
    due_on = models.DateField(_("due on"))
    home_count = models.PositiveIntegerField(_("homes"), default=0)
    homes_done = models.PositiveIntegerField(_("homes billed"), default=0)
    bill_count = models.PositiveIntegerField(_("bills"), default=0)
    total_fen = models.BigIntegerField(_("total (fen)"), default=0)
    preview = models.JSONField(_("preview"), default=dict, blank=True)
    error = models.CharField(_("error"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("bill run")
        verbose_name_plural = _("bill runs")
        ordering = ["-period", "-id"]
        constraints = [models.UniqueConstraint(fields=["community", "period"], name="bill_run_one_per_period")]

    def __str__(self) -> str:
        return f"{self.period:%Y-%m}"

    @property
    def progress_percent(self) -> int:
        if not self.home_count:
            return 100 if self.status == self.Status.ISSUED else 0
        return min(100, self.homes_done * 100 // self.home_count)


class Bill(models.Model):
    # A bill run writes 100,000 bills at a time and pays for every index and foreign-key check on
    # each row. So foreign keys whose look-ups an index below already covers carry no index of their
    # own, and references written only by the bill run in the same transaction as their target (the
    # community, the run, the ledger entry) are not re-checked by the database; verify_ledger checks
    # that every bill's ledger entry exists and matches it.
    class Kind(models.TextChoices):
        PERIODIC = "periodic", _("monthly bill")
        ONE_OFF = "one_off", _("one-off charge")

    class Status(models.TextChoices):
        UNPAID = "unpaid", _("unpaid")
        PARTIAL = "partial", _("partly paid")
        PAID = "paid", _("paid")

    community = models.ForeignKey(
        "estates.Community", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    home = models.ForeignKey("estates.Home", on_delete=models.PROTECT, related_name="bills", db_index=False)
    period = models.DateField(_("period"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.PERIODIC)
    run = models.ForeignKey(
        BillRun, null=True, blank=True, on_delete=models.PROTECT, related_name="bills", db_constraint=False
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.UNPAID)
    total_fen = models.BigIntegerField(_("total (fen)"))
    paid_fen = models.BigIntegerField(_("paid (fen)"), default=0)
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    due_on = models.DateField(_("due on"))
    source_ref = models.CharField(_("source"), max_length=80, blank=True)
    ledger_entry = models.ForeignKey(
        "billing.LedgerEntry",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )

    objects = scoped_manager()

    class Meta:
        verbose_name = _("bill")
        verbose_name_plural = _("bills")
        ordering = ["period", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(paid_fen__gte=0) & models.Q(paid_fen__lte=models.F("total_fen")),
                name="bill_paid_within_total",
            ),
            models.CheckConstraint(condition=models.Q(total_fen__gte=0), name="bill_total_not_negative"),
            models.UniqueConstraint(
                fields=["community", "home", "period"],
                condition=models.Q(kind="periodic"),
                name="bill_one_periodic_per_home_period",
            ),
            models.UniqueConstraint(
                fields=["community", "source_ref"], condition=~models.Q(source_ref=""), name="bill_source_ref_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["community", "status", "due_on"]),
            models.Index(fields=["home", "period"]),
        ]

    def __str__(self) -> str:
        return f"{self.period:%Y-%m} #{self.pk}"

    @property
    def outstanding_fen(self) -> int:
        return self.total_fen - self.paid_fen

    @staticmethod
    def status_for(total_fen: int, paid_fen: int) -> str:
        """The status a bill with these amounts has: set it in the same UPDATE as ``paid_fen``."""
        if paid_fen >= total_fen:
            return Bill.Status.PAID
        return Bill.Status.PARTIAL if paid_fen > 0 else Bill.Status.UNPAID


class BillLine(models.Model):
    """One charge on a bill. ``quantity`` and ``unit_price`` explain the amount; ``amount_fen`` is it."""

    # Written only with its bill, in the same transaction and statement batch: the community and the
    # bill are not re-checked by the database (see Bill).
    community = models.ForeignKey(
        "estates.Community", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    bill = models.ForeignKey(Bill, on_delete=models.PROTECT, related_name="lines", db_constraint=False)
    item = models.CharField(_("fee item"), max_length=40)
    account = models.CharField(_("income account"), max_length=40)
    description = models.CharField(_("description"), max_length=200)
    quantity = models.CharField(_("quantity"), max_length=40, blank=True)
    unit_price = models.CharField(_("unit price"), max_length=40, blank=True)
    amount_fen = models.BigIntegerField(_("amount (fen)"))

    objects = scoped_manager()

    class Meta:
        verbose_name = _("bill line")
        verbose_name_plural = _("bill lines")
        ordering = ["bill", "id"]

    def __str__(self) -> str:
        return f"{self.description} {self.amount_fen}"
