"""Amounts and codes as people read them: ``12345`` fen → ``123.45``; category codes → names.

Receipts and statements are Chinese documents whatever language the viewer's interface uses, so the
PDF labels are resolved under ``zh-hans``.
"""

from __future__ import annotations

from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy

from anju.billing.payments.models import CommonIncomeKind, ExpenseCategory, Method, Refund


def yuan(fen: int) -> str:
    """Integer fen as yuan with two decimals and thousands separators; exact (no floats)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(int(fen)), 100)
    return f"{sign}{whole:,}.{cents:02d}"


def _label(choices: type, code: str) -> str:
    with translation.override("zh-hans"):
        try:
            return str(choices(code).label)
        except ValueError:
            return code


def method_label(code: str) -> str:
    return _label(Method, code)


def category_label(code: str) -> str:
    return _label(ExpenseCategory, code)


def income_kind_label(code: str) -> str:
    return _label(CommonIncomeKind, code)


def fee_item_label(code: str) -> str:
    from anju.billing.payments import ledger_bridge

    with translation.override("zh-hans"):
        return ledger_bridge.fee_item_label(code)


def parse_yuan(value: str) -> int | None:
    """``"1,234.5"`` → 123450 fen exactly; None for anything that is not a plain non-negative amount
    with at most two decimals."""
    from decimal import Decimal, InvalidOperation

    text = str(value).strip().replace(",", "").replace("，", "").lstrip("¥￥").strip()
    if not text or len(text) > 20:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        return None
    return int(amount * 100)


#: How a refund's state reads to the payer: the office's internal steps (sent, refused by the
#: provider, to be paid at the counter) are all "being refunded" to them.
RESIDENT_REFUND_STATUS: dict[str, Any] = {
    Refund.Status.REQUESTED: gettext_lazy("requested, awaiting approval"),
    Refund.Status.APPROVED: gettext_lazy("approved, being refunded"),
    Refund.Status.SUBMITTED: gettext_lazy("approved, being refunded"),
    Refund.Status.FAILED: gettext_lazy("approved, being refunded"),
    Refund.Status.SUCCEEDED: gettext_lazy("refunded"),
    Refund.Status.REJECTED: gettext_lazy("not refunded"),
}


def resident_refund_status(status: str) -> str:
    return str(RESIDENT_REFUND_STATUS.get(status, status))
