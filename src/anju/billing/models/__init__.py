"""Billing tables: the ledger, tariffs and settings, meters and readings, bill runs and bills."""

from anju.billing.models.bills import Bill, BillLine, BillRun
from anju.billing.models.ledger import Account, LedgerChainHead, LedgerEntry, LedgerEntryLine
from anju.billing.models.meters import Meter, Reading
from anju.billing.models.tariffs import (
    ArrearsReminder,
    BillingSettings,
    Credit,
    CreditAllocation,
    FeeItem,
    ParkingLease,
    Tariff,
)

__all__ = [
    "Account",
    "ArrearsReminder",
    "Bill",
    "BillLine",
    "BillRun",
    "BillingSettings",
    "Credit",
    "CreditAllocation",
    "FeeItem",
    "LedgerChainHead",
    "LedgerEntry",
    "LedgerEntryLine",
    "Meter",
    "ParkingLease",
    "Reading",
    "Tariff",
]
