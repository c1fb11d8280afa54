"""Receipts: frozen at issue, fingerprinted, and verifiable by anyone holding the paper.

The receipt's content (who paid how much for which bills, when, how) is written once into
``Receipt.content``; ``digest`` is SHA-256 over its canonical JSON. The PDF is rendered from that
content, and its QR code carries the verification URL with the receipt number and a random code,
so the public verification page can show the stored receipt and whether it still matches its digest.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from typing import Any

from django.utils import timezone

from anju.billing.payments import ledger_bridge
from anju.billing.payments.models import PaymentOrder, Receipt
from anju.core.tenancy import scopes_disabled


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def digest_of(content: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(content)).hexdigest()


def receipt_number(order: PaymentOrder) -> str:
    return "R" + order.trade_no[1:]


def issue_receipt(order: PaymentOrder, applied: Sequence[Any]) -> Receipt:
    """Called by ``settle_order`` inside its transaction."""
    from anju.billing.models import Bill

    bills = {b.pk: b for b in Bill.objects.filter(pk__in=[a.bill_id for a in applied])}
    home = order.home
    issued_at = timezone.now()
    content = {
        "number": receipt_number(order),
        "community": str(order.community_id),
        "community_name": ledger_bridge.community_name(order.community_id),
        "home": home.label,
        "payer": order.payer_name,
        "trade_no": order.trade_no,
        "method": order.method,
        "amount_fen": order.amount_fen,
        "prepaid_fen": order.prepaid_fen,
        "paid_at": timezone.localtime(order.paid_at or issued_at).isoformat(timespec="seconds"),
        "lines": [
            {
                "bill_id": a.bill_id,
                "period": ledger_bridge.bill_period_label(bills[a.bill_id]),
                "amount_fen": a.amount_fen,
            }
            for a in applied
        ],
    }
    return Receipt.objects.create(
        community_id=order.community_id,
        order=order,
        number=receipt_number(order),
        code=secrets.token_urlsafe(12),
        issued_at=issued_at,
        content=content,
        digest=digest_of(content),
    )


def find_receipt(number: str, code: str) -> Receipt | None:
    """The receipt with this number and code, from any community (the verification page is public
    and the pair is the proof of possession); None otherwise."""
    if not number or not code or len(number) > 40 or len(code) > 32:
        return None
    with scopes_disabled():
        receipt = Receipt.objects.filter(number=number).first()
    if receipt is None or not secrets.compare_digest(receipt.code, code):
        return None
    return receipt


def receipt_intact(receipt: Receipt) -> bool:
    return secrets.compare_digest(digest_of(receipt.content), receipt.digest)
