"""The double-entry ledger: entries, their lines, and each community's chain head.

Written only by :mod:`anju.billing.ledger`. Entries and lines are immutable (database triggers refuse
UPDATE, and DELETE on PostgreSQL, as for the audit log); a mistake is corrected by a reversing entry.
Each community's entries form a SHA-256 hash chain: ``LedgerEntry.hash`` covers the entry, its lines
and the previous entry's hash, and :class:`LedgerChainHead` holds the newest one, locked by writers
so that two concurrent posts cannot both extend the same hash (fork the chain).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from anju.core.tenancy import scoped_manager


class Account(models.TextChoices):
    """The chart of accounts, the same in every community (amounts are kept per community).

    Assets carry debit balances, liabilities and income credit balances. ``receivable`` and
    ``prepaid`` lines name the home they belong to, so a home's balance is a sum over its lines.
    Expenses use ``expense:<category>`` codes (see :func:`anju.billing.ledger.is_account`).
    """

    RECEIVABLE = "receivable", _("fees receivable (per home)")
    CASH = "cash", _("cash on hand")
    BANK = "bank", _("bank")
    PROVIDER_CLEARING = "provider_clearing", _("payment provider clearing")
    PREPAID = "prepaid", _("prepaid balances (per home)")
    REFUNDS_PAYABLE = "refunds_payable", _("refunds payable")
    INCOME_PROPERTY_FEE = "income:property_fee", _("property fee income")
    INCOME_FIXED = "income:fixed", _("fixed fee income")
    INCOME_PARKING = "income:parking", _("parking fee income")
    INCOME_WATER = "income:water", _("water charges")
    INCOME_ELECTRICITY = "income:electricity", _("electricity charges")
    INCOME_GAS = "income:gas", _("gas charges")
    INCOME_SHARED = "income:shared", _("shared meter charges (公摊)")
    INCOME_ONE_OFF = "income:one_off", _("one-off charges")
    INCOME_LATE_FEE = "income:late_fee", _("late fees")
    DISCOUNTS = "discounts", _("discounts and waivers")
    OWNERS_COMMON_INCOME = "owners:common_income", _("common-area income belonging to owners")
    MAINTENANCE_FUND = "owners:maintenance_fund", _("maintenance fund")
    REMUNERATION = "expense:remuneration", _("company remuneration (酬金制)")
    EXPENSE_OTHER = "expense:other", _("other expenses")


class LedgerEntry(models.Model):
    """One balanced posting. ``key`` makes it idempotent; ``seq`` orders the community's chain."""

    community = models.ForeignKey("estates.Community", on_delete=models.PROTECT, related_name="+")
    seq = models.PositiveBigIntegerField(_("sequence"))
    key = models.CharField(_("idempotency key"), max_length=120)
    memo = models.CharField(_("memo"), max_length=200, blank=True)
    source_type = models.CharField(_("source type"), max_length=40, blank=True)
    source_id = models.CharField(_("source id"), max_length=60, blank=True)
    posted_at = models.DateTimeField(_("posted at"), default=timezone.now)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by", verbose_name=_("reverses")
    )
    total_fen = models.BigIntegerField(_("amount (fen)"))
    line_count = models.PositiveIntegerField(default=0)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["community", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["community", "key"], name="ledger_entry_key_unique"),
            models.UniqueConstraint(fields=["community", "seq"], name="ledger_entry_seq_unique"),
            models.CheckConstraint(condition=models.Q(total_fen__gt=0), name="ledger_entry_total_positive"),
        ]
        indexes = [models.Index(fields=["community", "source_type", "source_id"])]

    def __str__(self) -> str:
        return f"#{self.seq} {self.memo or self.key}"


class LedgerEntryLine(models.Model):
    """One side of an entry: exactly one of ``debit_fen`` and ``credit_fen`` is positive."""

    # (community, account, home) below serves the community and home look-ups. Lines are written
    # only with their entry, by the writer, from ids it read in the same scope; the database checks
    # the entry reference, and the hash covers the rest (the bill run writes 100,000 lines at once).
    community = models.ForeignKey(
        "estates.Community", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, related_name="lines")
    account = models.CharField(_("account"), max_length=40)
    home = models.ForeignKey(
        "estates.Home",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    debit_fen = models.BigIntegerField(_("debit (fen)"), default=0)
    credit_fen = models.BigIntegerField(_("credit (fen)"), default=0)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("ledger line")
        verbose_name_plural = _("ledger lines")
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(debit_fen__gt=0) & models.Q(credit_fen=0))
                | (models.Q(debit_fen=0) & models.Q(credit_fen__gt=0)),
                name="ledger_line_one_side",
            )
        ]
        indexes = [models.Index(fields=["community", "account", "home"])]

    def __str__(self) -> str:
        return f"{self.account} {self.debit_fen}/{self.credit_fen}"


class LedgerChainHead(models.Model):
    """The newest entry of a community's chain. Writers lock this row (and advance it with a
    conditional UPDATE on the old ``seq``) so the chain stays a line, never a tree."""

    community = models.OneToOneField("estates.Community", primary_key=True, on_delete=models.PROTECT, related_name="+")
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    objects = scoped_manager()

    class Meta:
        verbose_name = _("ledger chain head")
        verbose_name_plural = _("ledger chain heads")

    def __str__(self) -> str:
        return f"{self.community_id}#{self.seq}"
