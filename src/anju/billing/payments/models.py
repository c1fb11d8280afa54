"""Payments, refunds, receipts, expenses and the published accounts (账目公示).

Money is integer fen throughout. Every movement of money is also a ledger entry written through
:func:`anju.billing.ledger.post_entry`; the rows here say *what* happened (who paid which bills, who
approved which refund), the ledger says what it did to the accounts, and the statements are
computed from the ledger alone.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.core.tenancy import scoped_manager


class Method(models.TextChoices):
    WECHAT = "wechat", _("WeChat Pay")
    ALIPAY = "alipay", _("Alipay")
    SANDBOX = "sandbox", _("sandbox (demo)")
    CASH = "cash", _("cash")
    TRANSFER = "transfer", _("bank transfer")
    POS = "pos", _("card terminal (POS)")
    PREPAID = "prepaid", _("prepaid balance")


ONLINE_METHODS = (Method.WECHAT, Method.ALIPAY, Method.SANDBOX)
COUNTER_METHODS = (Method.CASH, Method.TRANSFER, Method.POS)


class PaymentOrder(models.Model):
    """One payment for one home: a resident's online checkout or a clerk's counter payment.

    ``trade_no`` is the merchant trade number the provider echoes back (``out_trade_no``); it is
    unique across the installation, and an order turns ``paid`` through one conditional UPDATE
    (``pending`` → ``paid``), which is what makes a callback apply exactly once.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("awaiting payment")
        PAID = "paid", _("paid")
        CLOSED = "closed", _("closed")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    home = models.ForeignKey("estates.Home", on_delete=models.PROTECT, related_name="payment_orders")
    trade_no = models.CharField(_("trade number"), max_length=32, unique=True)
    method = models.CharField(_("method"), max_length=20, choices=Method.choices)
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    bill_ids = models.JSONField(_("bills chosen"), default=list, blank=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.PENDING)
    payer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    payer_name = models.CharField(_("payer"), max_length=100, blank=True)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reference = models.CharField(_("reference"), max_length=100, blank=True)
    provider_txn_id = models.CharField(_("provider transaction"), max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)
    allocated_fen = models.BigIntegerField(default=0)
    prepaid_fen = models.BigIntegerField(default=0)
    refunded_fen = models.BigIntegerField(default=0)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(refunded_fen__gte=0) & Q(refunded_fen__lte=F("amount_fen")),
                name="payment_refund_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(allocated_fen__gte=0) & Q(prepaid_fen__gte=0), name="payment_split_non_negative"
            ),
        ]
        indexes = [models.Index(fields=["community", "status", "created_at"])]

    def __str__(self) -> str:
        return self.trade_no

    @property
    def is_online(self) -> bool:
        return self.method in ONLINE_METHODS

    @property
    def refundable_fen(self) -> int:
        return self.amount_fen - self.refunded_fen


class Allocation(models.Model):
    """The part of a payment applied to one bill. Refunds reverse it partly or wholly
    (``reversed_fen``); the row itself never changes amount."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey(PaymentOrder, on_delete=models.PROTECT, related_name="allocations")
    bill = models.ForeignKey("billing.Bill", on_delete=models.PROTECT, related_name="allocations")
    amount_fen = models.BigIntegerField()
    reversed_fen = models.BigIntegerField(default=0)
    from_prepaid = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="allocation_positive"),
            models.CheckConstraint(
                condition=Q(reversed_fen__gte=0) & Q(reversed_fen__lte=F("amount_fen")),
                name="allocation_reversal_within_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}→{self.bill_id}: {self.amount_fen}"


class RawCallback(models.Model):
    """Every notification a provider sent, exactly as received, stored before anything is believed.

    Not a tenant row when it arrives (who it belongs to is only known once it verifies), so it has a
    plain manager; ``community`` is filled in once the trade number resolves to an order, and console
    pages filter on it explicitly. Held callbacks are reviewed by a person; they never post.
    """

    class Outcome(models.TextChoices):
        RECEIVED = "received", _("received")
        APPLIED = "applied", _("applied")
        DUPLICATE = "duplicate", _("duplicate (already applied)")
        IGNORED = "ignored", _("not a payment (ignored)")
        HELD = "held", _("held for review")
        REFUSED = "refused", _("refused (signature)")
        RESOLVED = "resolved", _("reviewed")

    class Kind(models.TextChoices):
        PAYMENT = "payment", _("payment")
        REFUND = "refund", _("refund")

    provider = models.CharField(_("provider"), max_length=20)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PAYMENT)
    received_at = models.DateTimeField(default=timezone.now)
    remote_addr = models.CharField(max_length=64, blank=True)
    headers = models.JSONField(default=dict)
    body = models.BinaryField()
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, default=Outcome.RECEIVED)
    reason = models.CharField(_("reason"), max_length=60, blank=True)
    trade_no = models.CharField(max_length=64, blank=True, db_index=True)
    amount_fen = models.BigIntegerField(null=True, blank=True)
    community = models.ForeignKey(
        "estates.Community", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    order = models.ForeignKey(PaymentOrder, null=True, blank=True, on_delete=models.PROTECT, related_name="callbacks")
    refund = models.ForeignKey(
        "payments.Refund", null=True, blank=True, on_delete=models.PROTECT, related_name="callbacks"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    review_note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["community", "outcome"])]

    def __str__(self) -> str:
        return f"{self.provider} {self.trade_no or self.pk} ({self.outcome})"


class Refund(models.Model):
    """Money going back to a payer. Requested by one person, approved by another, then paid out.

    Approval posts the refund (``lines`` records which allocations and prepaid credit it reverses)
    and owes the money (refunds payable). Paying it out is a second step: an online payment's refund
    is sent to its provider under ``out_refund_no`` (stable, so asking again never refunds twice) and
    is ``succeeded`` when the provider confirms, ``failed`` with the provider's reason otherwise
    (retryable); a counter payment's refund is paid out by a clerk, who records how.
    """

    class Status(models.TextChoices):
        REQUESTED = "requested", _("awaiting approval")
        APPROVED = "approved", _("approved, awaiting pay-out")
        SUBMITTED = "submitted", _("sent to the payment provider")
        SUCCEEDED = "succeeded", _("refunded")
        FAILED = "failed", _("pay-out failed")
        REJECTED = "rejected", _("rejected")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey(PaymentOrder, on_delete=models.PROTECT, related_name="refunds")
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    reason = models.CharField(_("reason"), max_length=200)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.REQUESTED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    lines = models.JSONField(default=list, blank=True)
    out_refund_no = models.CharField(_("refund number"), max_length=64, null=True, blank=True, unique=True)
    payout_method = models.CharField(_("paid out by"), max_length=20, choices=Method.choices, blank=True)
    payout_reference = models.CharField(_("pay-out reference"), max_length=100, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    submitted_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.CharField(_("provider's reason"), max_length=200, blank=True)
    paid_out_at = models.DateTimeField(null=True, blank=True)
    paid_out_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = scoped_manager()

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("requested_by")),
                name="refund_four_eyes",
            ),
        ]

    def __str__(self) -> str:
        return f"refund {self.pk} of {self.order_id}"


#: Refunds whose approval is posted (they reverse their ``lines``).
POSTED_REFUND_STATUSES = (
    Refund.Status.APPROVED,
    Refund.Status.SUBMITTED,
    Refund.Status.SUCCEEDED,
    Refund.Status.FAILED,
)
#: Approved refunds not yet paid out: what refunds payable holds.
OUTSTANDING_REFUND_STATUSES = (Refund.Status.APPROVED, Refund.Status.SUBMITTED, Refund.Status.FAILED)


class Receipt(models.Model):
    """A receipt for one payment. Its content is frozen at issue (``content``) and fingerprinted
    (``digest``); the QR code on the PDF opens the public verification page with ``code``."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    order = models.OneToOneField(PaymentOrder, on_delete=models.PROTECT, related_name="receipt")
    number = models.CharField(_("receipt number"), max_length=40, unique=True)
    code = models.CharField(_("verification code"), max_length=32, unique=True)
    issued_at = models.DateTimeField(default=timezone.now)
    content = models.JSONField(default=dict)
    digest = models.CharField(max_length=64)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("receipt")
        verbose_name_plural = _("receipts")
        ordering = ["-issued_at", "-id"]

    def __str__(self) -> str:
        return self.number


class ExpenseCategory(models.TextChoices):
    STAFF = "staff", _("staff")
    CLEANING = "cleaning", _("cleaning")
    SECURITY = "security", _("security")
    GREENERY = "greenery", _("greenery")
    REPAIRS = "repairs", _("repairs and maintenance")
    UTILITIES = "utilities", _("common-area utilities")
    ADMINISTRATION = "administration", _("administration")
    INSURANCE = "insurance", _("insurance")
    REMUNERATION = "remuneration", _("company remuneration (酬金制)")
    OTHER = "other", _("other")


class Expense(models.Model):
    """Money the community's service spent, by category, for the published accounts."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    category = models.CharField(_("category"), max_length=20, choices=ExpenseCategory.choices)
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    spent_on = models.DateField(_("date"))
    description = models.CharField(_("description"), max_length=200)
    vendor = models.CharField(_("paid to"), max_length=100, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("expense")
        verbose_name_plural = _("expenses")
        ordering = ["-spent_on", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount_fen__gt=0), name="expense_positive")]

    def __str__(self) -> str:
        return self.description


class CommonIncomeKind(models.TextChoices):
    ADVERTISING = "advertising", _("advertising")
    PARKING_RENT = "parking_rent", _("parking rent")
    VENUE_RENT = "venue_rent", _("venue rent")
    OTHER = "other", _("other")


class CommonIncome(models.Model):
    """Income from common parts (Civil Code Art. 282): it belongs to the owners after the reasonable
    cost the company kept for running it (``cost_fen``); the rest is the owners' share."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("kind"), max_length=20, choices=CommonIncomeKind.choices)
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    cost_fen = models.BigIntegerField(_("reasonable cost kept (fen)"), default=0)
    received_on = models.DateField(_("date"))
    description = models.CharField(_("description"), max_length=200)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    objects = scoped_manager()

    class Meta:
        ordering = ["-received_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_fen__gt=0) & Q(cost_fen__gte=0) & Q(cost_fen__lte=F("amount_fen")),
                name="common_income_amounts",
            )
        ]

    def __str__(self) -> str:
        return self.description


class Statement(models.Model):
    """A published statement of accounts for one period, computed from the ledger.

    ``figures`` is the computed content; ``ledger_seq``/``ledger_hash`` name the last ledger entry
    of the community's hash chain the computation read; ``digest`` is SHA-256 over the canonical JSON
    of all three. Verification recomputes the figures from the ledger and checks the chain."""

    class Period(models.TextChoices):
        MONTH = "month", _("month")
        QUARTER = "quarter", _("quarter")

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    period = models.CharField(_("period"), max_length=10, choices=Period.choices)
    starts_on = models.DateField(_("from"))
    ends_on = models.DateField(_("to"))
    figures = models.JSONField(default=dict)
    ledger_seq = models.BigIntegerField(default=0)
    ledger_hash = models.CharField(max_length=64, blank=True)
    digest = models.CharField(max_length=64)
    published_at = models.DateTimeField(default=timezone.now)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    objects = scoped_manager()

    class Meta:
        verbose_name = _("published statement")
        verbose_name_plural = _("published statements")
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["community", "period", "starts_on"], name="statement_period_unique")
        ]

    def __str__(self) -> str:
        return f"{self.starts_on:%Y-%m} – {self.ends_on:%Y-%m}"
