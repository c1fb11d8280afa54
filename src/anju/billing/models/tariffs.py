"""What is charged and at what price: fee items, effective-dated tariffs, parking leases, credits,
and each community's billing settings.

A price change is a new :class:`Tariff` row with a later ``valid_from``; the row it supersedes is
never edited, so any past bill can be re-explained from the prices in force on its days.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.core.tenancy import scoped_manager


class FeeItem(models.Model):
    """A kind of charge in one community (物业费, 停车费, 水费…) and how its amount is computed."""

    class Basis(models.TextChoices):
        PER_AREA = "per_area", _("per m² of floor area per month")
        PER_HOME = "per_home", _("fixed per home per month")
        PER_SPACE = "per_space", _("per leased parking space per month")
        METERED = "metered", _("per unit used, tiered (home meter)")
        SHARED = "shared", _("shared meter, apportioned by floor area (公摊)")

    class Kind(models.TextChoices):
        PROPERTY_FEE = "property_fee", _("property fee")
        FIXED = "fixed", _("fixed fee")
        PARKING = "parking", _("parking fee")
        WATER = "water", _("water")
        ELECTRICITY = "electricity", _("electricity")
        GAS = "gas", _("gas")
        SHARED = "shared", _("shared meter (公摊)")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=60)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    basis = models.CharField(_("basis"), max_length=20, choices=Basis.choices)
    meter_kind = models.CharField(
        _("meter kind"), max_length=20, blank=True, help_text=_("For metered and shared items: which meters.")
    )
    home_uses = models.CharField(
        _("home uses"),
        max_length=80,
        default="residential,commercial",
        help_text=_("Comma-separated uses of homes charged (residential, commercial, parking, storage)."),
    )
    while_occupied = models.BooleanField(
        _("only while occupied"),
        default=False,
        help_text=_("Charge only for the days someone lives in the home (prorated at move-in and move-out)."),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("fee item")
        verbose_name_plural = _("fee items")
        ordering = ["community", "kind", "code"]
        constraints = [models.UniqueConstraint(fields=["community", "code"], name="fee_item_code_unique")]

    def __str__(self) -> str:
        return self.name

    @property
    def uses(self) -> set[str]:
        return {use.strip() for use in self.home_uses.split(",") if use.strip()}


class Tariff(models.Model):
    """A price for a fee item from ``valid_from`` until the next tariff of the same item (and
    building, when set) takes over. Rows are never edited: a new price is a new row.

    ``price`` is in yuan with four decimals (¥2.3500/m²/month; ¥3.45/m³). ``tiers`` refines metered
    items: ``[{"up_to": "20", "price": "3.45"}, {"up_to": null, "price": "4.83"}]`` — monthly
    quantities per meter, the last tier open-ended.
    """

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    fee_item = models.ForeignKey(FeeItem, on_delete=models.PROTECT, related_name="tariffs")
    building = models.ForeignKey(
        "estates.Building",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Empty for the whole community; a building's own tariff takes precedence."),
    )
    valid_from = models.DateField(_("valid from"))
    price = models.DecimalField(
        _("price (yuan)"), max_digits=12, decimal_places=4, validators=[MinValueValidator(Decimal("0"))]
    )
    tiers = models.JSONField(_("tiers"), default=list, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("tariff")
        verbose_name_plural = _("tariffs")
        ordering = ["fee_item", "building", "valid_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["fee_item", "building", "valid_from"], name="tariff_one_per_item_building_day"
            ),
            models.UniqueConstraint(
                fields=["fee_item", "valid_from"],
                condition=models.Q(building__isnull=True),
                name="tariff_one_per_item_day",
            ),
            models.CheckConstraint(condition=models.Q(price__gte=0), name="tariff_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.fee_item} {self.price} ({self.valid_from})"


class ParkingLease(models.Model):
    """A parking space rented or managed for a home, which pays the parking fee while it runs."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    space = models.ForeignKey("estates.ParkingSpace", on_delete=models.PROTECT, related_name="leases")
    home = models.ForeignKey("estates.Home", on_delete=models.PROTECT, related_name="parking_leases")
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("until"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("parking lease")
        verbose_name_plural = _("parking leases")
        ordering = ["space", "-starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__isnull=True) | models.Q(ends_on__gte=models.F("starts_on")),
                name="parking_lease_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.space} → {self.home}"


class Credit(models.Model):
    """A discount or waiver credited to a home. Staff requests wait for an approver other than the
    requester; system credits (points redeemed) are applied at once. Applied credits settle the
    home's oldest open bills; what is left becomes a prepaid balance."""

    class Status(models.TextChoices):
        REQUESTED = "requested", _("awaiting approval")
        APPLIED = "applied", _("applied")
        REJECTED = "rejected", _("rejected")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    home = models.ForeignKey("estates.Home", on_delete=models.PROTECT, related_name="+")
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    reason = models.CharField(_("reason"), max_length=200)
    source_ref = models.CharField(_("source"), max_length=80, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.REQUESTED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    ledger_entry = models.ForeignKey(
        "billing.LedgerEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = scoped_manager()

    class Meta:
        verbose_name = _("credit")
        verbose_name_plural = _("credits")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_fen__gt=0), name="credit_amount_positive"),
            models.UniqueConstraint(
                fields=["community", "source_ref"], condition=~models.Q(source_ref=""), name="credit_source_ref_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.home} −{self.amount_fen}"


class CreditAllocation(models.Model):
    """How much of a credit settled which bill."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    credit = models.ForeignKey(Credit, on_delete=models.PROTECT, related_name="allocations")
    bill = models.ForeignKey("billing.Bill", on_delete=models.PROTECT, related_name="credit_allocations")
    amount_fen = models.BigIntegerField()

    objects = scoped_manager()

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(amount_fen__gt=0), name="credit_alloc_positive")]

    def __str__(self) -> str:
        return f"{self.credit_id}→{self.bill_id}: {self.amount_fen}"


class BillingSettings(models.Model):
    """Per-community billing rules. Late fees are off by default and always capped: Civil Code
    Art. 944 forbids cutting utilities to collect, and courts treat penalties more than 30% above the
    actual loss as excessive, so the cap defaults to a modest share of the overdue amount."""

    community = models.OneToOneField("estates.Community", primary_key=True, on_delete=models.PROTECT, related_name="+")
    due_days = models.PositiveSmallIntegerField(
        _("days to pay"), default=30, validators=[MaxValueValidator(365)], help_text=_("From the bill's issue.")
    )
    late_fee_per_day_permyriad = models.PositiveSmallIntegerField(
        _("late fee per day (‱ of the overdue amount)"),
        default=0,
        validators=[MaxValueValidator(10)],
        help_text=_("0 turns late fees off. 5 means 0.05% a day."),
    )
    late_fee_cap_percent = models.PositiveSmallIntegerField(
        _("late fee cap (percent of the overdue amount)"),
        default=10,
        validators=[MaxValueValidator(30)],
        help_text=_("No late fee on one bill ever exceeds this share of it (at most 30%)."),
    )
    reminder_after_days = models.PositiveSmallIntegerField(
        _("first reminder, days overdue"), default=7, validators=[MinValueValidator(1)]
    )
    reminder_every_days = models.PositiveSmallIntegerField(
        _("repeat reminders every (days)"), default=30, validators=[MinValueValidator(7)]
    )
    reading_jump_factor = models.PositiveSmallIntegerField(
        _("implausible jump: times the usual monthly use"),
        default=5,
        validators=[MinValueValidator(2)],
        help_text=_("A reading using more than this many times the meter's recent monthly average is held."),
    )

    objects = scoped_manager()

    class Meta:
        verbose_name = _("billing settings")
        verbose_name_plural = _("billing settings")
        constraints = [
            models.CheckConstraint(condition=models.Q(late_fee_cap_percent__lte=30), name="late_fee_cap_at_most_30"),
        ]

    def __str__(self) -> str:
        return str(self.community_id)


class ArrearsReminder(models.Model):
    """A reminder sent to a home about overdue fees (in-app and SMS, and a printable letter)."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    home = models.ForeignKey("estates.Home", on_delete=models.PROTECT, related_name="+")
    sent_on = models.DateField(_("sent on"))
    outstanding_fen = models.BigIntegerField(_("outstanding (fen)"))
    oldest_due_on = models.DateField(_("oldest due date"))
    pay_by = models.DateField(_("pay by"))
    recipients = models.PositiveSmallIntegerField(default=0)
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = scoped_manager()

    class Meta:
        verbose_name = _("arrears reminder")
        verbose_name_plural = _("arrears reminders")
        ordering = ["-sent_on", "-id"]
        constraints = [models.UniqueConstraint(fields=["home", "sent_on"], name="reminder_one_per_home_day")]

    def __str__(self) -> str:
        return f"{self.home} {self.sent_on}"
